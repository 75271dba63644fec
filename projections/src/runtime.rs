//! The projection runtime: the read models in their own sled database, fed
//! in log order, with the checkpoint in the same batch as the changes.
//!
//! # Exactly once
//! A commit of the served copy is one `apply_batch` on the generation's
//! tree holding every changed record and the checkpoint (the last applied
//! position); sled batches are atomic, also across a crash. (A copy being
//! built writes its commits one insert at a time instead, see below: it is
//! thrown away whole if the process dies before it is served.) After a
//! crash the runner reopens the tree, reads the checkpoint and asks the
//! feed for the next position: nothing is applied twice or skipped. Events
//! at or below the checkpoint are ignored (a redelivering feed), a jump
//! ahead is an error (a broken feed). An event that does not decode is
//! skipped and counted, never a panic.
//!
//! # Pipeline
//! A reader task pulls batches from the feed and has them decoded on the
//! blocking pool while it reads the next; a forwarder hands them over in
//! order, and the applier folds them into the cached records. The live
//! copy commits what the feed had queued (at most `commit_events_max`
//! events): tiny commits at the head (low latency for `X-Min-Position`).
//! A copy catching up (rebuilds, tools) folds on across the feed's
//! batches and commits at a bound (`commit_events_max` events for the
//! served copy, [`RunConfig::build_commit`] for a copy being built) and at
//! its target: the reader is ahead of the applier there, so the feed hands
//! over a few thousand events at a time, and committing each would write a
//! ticket's record once per batch instead of once per commit. Decoding
//! runs on one core while applying runs on the other; a copy being built
//! hands each commit over in chunks to a writer thread as it prepares it.
//!
//! # Generations and rebuilds
//! The read models live in a tree `views@<generation>`; the `catalog` tree
//! names the served generation. A rebuild fills `views@<n+1>` from position
//! 1 while `views@<n>` is served and kept current; the new copy's commits
//! go to a background thread that inserts them while the applier folds
//! the next events. Once the new copy has reached the served one, the live
//! runner catches it up to the exact same position, records it in the
//! catalog (flushed), serves it, and drops the old tree after a grace
//! period for in-flight reads. A crash mid-rebuild leaves the catalog on
//! the old generation; the leftover tree is dropped at the next open.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use docket_domain::codec;
use docket_eventstore::StoredEvent;

use crate::error::ProjectionError;
use crate::feed::{EventFeed, FeedSource};
use crate::keys::CHECKPOINT_KEY;
use crate::model::{ticket_of_stream, Incoming, ReadModels};
use crate::store::{self, Writes};

/// The name of the one projection (metrics label, `rebuild --projection`).
pub const PROJECTION_NAME: &str = "views";

/// Bumped whenever the stored shape of the read models changes: a
/// generation of another format is not read but rebuilt. 2: KPI samples
/// moved out of the day's value into per-commit values (`kpi.rs`).
pub const READ_MODEL_FORMAT: u32 = 2;

/// Events asked of the feed per read.
pub const READ_BATCH_MAX: usize = 4_096;

/// Feed batches decoded ahead of the applier.
const READ_AHEAD_BATCHES: usize = 4;

/// Feed batches being decoded while the reader reads the next.
const DECODES_IN_FLIGHT: usize = 2;

/// sled's page cache for the read models (sled's default is 1 GiB).
const VIEWS_CACHE_BYTES: u64 = 128 << 20;

/// How long a replaced generation stays readable for in-flight queries.
const OLD_GENERATION_GRACE: Duration = Duration::from_secs(30);

const CATALOG_SERVED: &[u8] = b"served";
const TREE_PREFIX: &str = "views@";

/// How big commits get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunConfig {
    /// A commit of the served copy holds at most about this many events
    /// (one feed batch more at most). sled's `apply_batch` holds a
    /// process-wide write lock, so a server keeps commits modest; offline
    /// tools make them big.
    pub commit_events_max: usize,
    /// At the head of the log, how long the live projection waits for more
    /// events before committing what it has: under load a commit then
    /// covers several of the log's group commits (each projection commit
    /// costs a sled batch), at the price of this much read-your-writes lag.
    pub live_linger: Duration,
    /// When a copy being built (a rebuild) commits. Its commits take no
    /// lock readers wait on (nothing reads the copy yet), so they are as
    /// big as memory allows: a ticket's record is written once per commit
    /// its events fall into.
    pub build_commit: CommitBound,
}

/// A commit is due once `events_max` events were folded or `tickets_max`
/// ticket records changed since the last one, whichever comes first. The
/// records bound is what bounds a rebuild's memory: a log of short-lived
/// tickets changes ~37k records per 100k events, one of long-lived
/// tickets ~28k (the benchmark's two logs).
///
/// A copy being built hands each commit to its writer in chunks of
/// `chunk_tickets` ticket records while it prepares the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitBound {
    pub events_max: usize,
    pub tickets_max: usize,
    pub chunk_tickets: usize,
}

impl RunConfig {
    /// For a serving process: catch-up commits of ≤ 2 000 events; at the
    /// head, commits at most every 2 ms. A rebuild beside the served copy
    /// commits every 16k changed records.
    pub const SERVING: RunConfig = RunConfig {
        commit_events_max: 2_000,
        live_linger: Duration::from_millis(2),
        build_commit: CommitBound {
            events_max: 500_000,
            tickets_max: 16_384,
            chunk_tickets: 4_096,
        },
    };
    /// For tools with the data folder to themselves (rebuild, benchmarks):
    /// a ticket's events mostly fall into one commit, so its record and
    /// index entries are written once or twice, not once per event.
    pub const OFFLINE: RunConfig = RunConfig {
        commit_events_max: 100_000,
        live_linger: Duration::ZERO,
        build_commit: CommitBound {
            events_max: 500_000,
            tickets_max: 49_152,
            chunk_tickets: 4_096,
        },
    };
}

/// Where the read models stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectionStatus {
    pub name: &'static str,
    /// The last log position applied to the served copy.
    pub applied_position: u64,
    pub events_applied: u64,
    /// Events skipped: unknown type, undecodable, or of a ticket never opened.
    pub events_skipped: u64,
    pub generation: u64,
    /// While a rebuild runs: the position the new copy has reached.
    pub rebuild_position: Option<u64>,
    /// The last error of the runner (it retries with backoff).
    pub last_error: Option<String>,
}

/// The last applied position and what the commits counted, stored under
/// `Mcheckpoint` in the same batch as the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub format: u32,
    pub position: u64,
    pub events_applied: u64,
    pub events_skipped: u64,
    /// Inbox cursors with an older snapshot are refused (see `inbox`).
    pub cursor_floor: u64,
}

impl Default for Checkpoint {
    fn default() -> Self {
        Checkpoint {
            format: READ_MODEL_FORMAT,
            position: 0,
            events_applied: 0,
            events_skipped: 0,
            cursor_floor: 0,
        }
    }
}

impl Checkpoint {
    pub(crate) fn read(tree: &sled::Tree) -> Result<Checkpoint, ProjectionError> {
        match tree.get(CHECKPOINT_KEY)? {
            Some(bytes) => store::decode("checkpoint", &bytes),
            None => Ok(Checkpoint::default()),
        }
    }
}

/// The read models: open once per process; cheap to clone.
#[derive(Clone)]
pub struct Views {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    catalog: sled::Tree,
    notified: sled::Tree,
    served: RwLock<Served>,
    applied: watch::Sender<u64>,
    events_applied: AtomicU64,
    events_skipped: AtomicU64,
    rebuild_position: AtomicU64,
    rebuilding: AtomicBool,
    running: AtomicBool,
    last_error: Mutex<Option<String>>,
    breaches: Mutex<()>,
    /// Replaced generations and since when, dropped after a grace period.
    retired: Mutex<Vec<(u64, Instant)>>,
}

#[derive(Clone)]
struct Served {
    generation: u64,
    tree: sled::Tree,
}

impl Views {
    /// Opens (or creates) the read models in `dir` (the api uses
    /// `<data-dir>/views`). sled locks the folder: a second process fails.
    pub fn open(dir: &Path) -> Result<Views, ProjectionError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(VIEWS_CACHE_BYTES)
            .open()?;
        let catalog = db.open_tree("catalog")?;
        let notified = db.open_tree("sla-notified")?;
        let mut generation = match catalog.get(CATALOG_SERVED)? {
            Some(bytes) => u64::from_be_bytes(
                bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| ProjectionError::corrupt("catalog", "not a generation"))?,
            ),
            None => 0,
        };
        let readable = generation > 0
            && match Checkpoint::read(&db.open_tree(tree_name(generation))?) {
                Ok(checkpoint) => checkpoint.format == READ_MODEL_FORMAT,
                Err(ProjectionError::Corrupt { .. }) => false,
                Err(error) => return Err(error),
            };
        if !readable {
            // New, or written by another format: start an empty generation.
            generation = next_generation(&db, generation);
            catalog.insert(CATALOG_SERVED, &generation.to_be_bytes())?;
            db.flush()?;
        }
        for name in db.tree_names() {
            let stale = std::str::from_utf8(&name)
                .ok()
                .and_then(|name| name.strip_prefix(TREE_PREFIX))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n != generation);
            if stale {
                db.drop_tree(&name)?;
            }
        }
        let tree = db.open_tree(tree_name(generation))?;
        let checkpoint = Checkpoint::read(&tree)?;
        let (applied, _) = watch::channel(checkpoint.position);
        Ok(Views {
            inner: Arc::new(Inner {
                db,
                catalog,
                notified,
                served: RwLock::new(Served { generation, tree }),
                applied,
                events_applied: AtomicU64::new(checkpoint.events_applied),
                events_skipped: AtomicU64::new(checkpoint.events_skipped),
                rebuild_position: AtomicU64::new(0),
                rebuilding: AtomicBool::new(false),
                running: AtomicBool::new(false),
                last_error: Mutex::new(None),
                breaches: Mutex::new(()),
                retired: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The last log position applied to the served read models.
    pub fn applied_position(&self) -> u64 {
        *self.inner.applied.borrow()
    }

    /// Waits until the read models have applied `position` (read your
    /// writes: the api's `X-Min-Position`), at most `timeout`.
    pub async fn wait_for_position(
        &self,
        position: u64,
        timeout: Duration,
    ) -> Result<(), ProjectionError> {
        let mut applied = self.inner.applied.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            applied.wait_for(|&at| at >= position).await.is_ok()
        })
        .await;
        match waited {
            Ok(true) => Ok(()),
            Ok(false) => Err(ProjectionError::Stopped),
            Err(_) => Err(ProjectionError::Lagging {
                position,
                applied: *applied.borrow(),
                timeout,
            }),
        }
    }

    /// A receiver of the applied position, for metrics or waiting.
    pub fn watch_applied(&self) -> watch::Receiver<u64> {
        self.inner.applied.subscribe()
    }

    pub fn status(&self) -> ProjectionStatus {
        let rebuild_position = self
            .inner
            .rebuilding
            .load(Ordering::Acquire)
            .then(|| self.inner.rebuild_position.load(Ordering::Acquire));
        ProjectionStatus {
            name: PROJECTION_NAME,
            applied_position: self.applied_position(),
            events_applied: self.inner.events_applied.load(Ordering::Acquire),
            events_skipped: self.inner.events_skipped.load(Ordering::Acquire),
            generation: self.served().generation,
            rebuild_position,
            last_error: lock(&self.inner.last_error).clone(),
        }
    }

    /// Bytes the read models take on disk.
    pub fn size_on_disk(&self) -> Result<u64, ProjectionError> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// Flushes sled's buffers (commits are flushed by sled every 500 ms;
    /// a lost tail is re-applied from the log after a crash).
    pub fn flush(&self) -> Result<(), ProjectionError> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// Starts the live projection on the current tokio runtime: it follows
    /// `source` from the checkpoint on, forever, retrying after errors.
    pub fn start<S: FeedSource>(
        &self,
        source: S,
        config: RunConfig,
    ) -> Result<Runner<S>, ProjectionError> {
        if self.inner.running.swap(true, Ordering::AcqRel) {
            return Err(ProjectionError::RunnerActive);
        }
        let source = Arc::new(source);
        let (control, control_rx) = mpsc::channel(1);
        let task = tokio::spawn(run_live(
            self.inner.clone(),
            source.clone(),
            control_rx,
            config,
        ));
        Ok(Runner {
            views: self.clone(),
            source,
            config,
            control,
            task,
        })
    }

    /// Applies `source` until the read models reach `target` (e.g. the
    /// store's head), without a live runner: for tools and tests. Calls
    /// `progress(position)` after each commit.
    pub async fn catch_up<S: FeedSource>(
        &self,
        source: &S,
        target: u64,
        config: RunConfig,
        mut progress: impl FnMut(u64) + Send,
    ) -> Result<u64, ProjectionError> {
        let _running = self.exclusive()?;
        let served = self.served();
        let mut instance = Instance::open(served.generation, served.tree)?;
        if instance.position() >= target {
            return Ok(instance.position());
        }
        let mut pipeline = Pipeline::start(source.open(instance.position() + 1).await?, config);
        let bound = CommitBound {
            events_max: config.commit_events_max,
            tickets_max: usize::MAX,
            chunk_tickets: usize::MAX,
        };
        while instance.position() < target {
            let (events, at_head) = pipeline
                .next(config.commit_events_max, Duration::ZERO)
                .await?;
            if at_head {
                instance = apply_blocking(instance, events, true).await?;
            } else {
                instance = fold_blocking(instance, events, bound, target, Commits::Atomic).await?;
            }
            if instance.uncommitted() == 0 {
                self.inner.publish(&instance);
                progress(instance.position());
            }
        }
        Ok(instance.position())
    }

    /// Rebuilds the read models from position 1 into a fresh generation up
    /// to the source's head, then serves it; without a live runner (the
    /// replay tool's `rebuild`). Calls `progress(position, target)`.
    pub async fn rebuild_offline<S: FeedSource>(
        &self,
        source: &S,
        config: RunConfig,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<u64, ProjectionError> {
        let _running = self.exclusive()?;
        let target = source.head().await?;
        let (instance, _pipeline) = self
            .build_copy(source, config, |position| {
                progress(position, target);
                position >= target
            })
            .await?;
        self.inner.swap(&instance)?;
        Ok(instance.position())
    }

    /// Fills a fresh generation from position 1 until `done(position)`.
    async fn build_copy<S: FeedSource>(
        &self,
        source: &S,
        config: RunConfig,
        mut done: impl FnMut(u64) -> bool + Send,
    ) -> Result<(Instance, Pipeline), ProjectionError> {
        if self.inner.rebuilding.swap(true, Ordering::AcqRel) {
            return Err(ProjectionError::RebuildRunning);
        }
        let _rebuilding = ClearOnDrop(&self.inner.rebuilding);
        let generation = next_generation(&self.inner.db, self.served().generation);
        let name = tree_name(generation);
        let built = async {
            let tree = self.inner.db.open_tree(&name)?;
            tree.clear()?;
            let mut instance = Instance::open(generation, tree)?;
            let mut pipeline = Pipeline::start(source.open(1).await?, config);
            self.inner.rebuild_position.store(0, Ordering::Release);
            let bound = config.build_commit;
            while !done(instance.position()) {
                let (events, _) = pipeline.next(bound.events_max, Duration::ZERO).await?;
                instance =
                    fold_blocking(instance, events, bound, u64::MAX, Commits::Background).await?;
                self.inner
                    .rebuild_position
                    .store(instance.position(), Ordering::Release);
            }
            // Commits what is folded and waits until it is written: plain
            // inserts like the commits before, not one sled batch
            // (sled holds every node a batch replaces until the batch ends:
            // +150-170 MiB in the last second of a 1M-ticket rebuild).
            // Nothing reads the copy before `swap` flushes it.
            let instance = on_blocking_pool(instance, move |instance| {
                instance.commit_last(bound.chunk_tickets)
            })
            .await?;
            Ok((instance, pipeline))
        }
        .await;
        if built.is_err() {
            // Not served, never will be: give the space back now.
            let _ = self.inner.db.drop_tree(name.as_bytes());
        }
        built
    }

    fn served(&self) -> Served {
        self.inner.served()
    }

    pub(crate) fn tree(&self) -> sled::Tree {
        self.served().tree
    }

    pub(crate) fn notified_tree(&self) -> &sled::Tree {
        &self.inner.notified
    }

    pub(crate) fn breach_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        lock(&self.inner.breaches)
    }

    fn exclusive(&self) -> Result<ClearOnDrop<'_>, ProjectionError> {
        if self.inner.running.swap(true, Ordering::AcqRel) {
            return Err(ProjectionError::RunnerActive);
        }
        Ok(ClearOnDrop(&self.inner.running))
    }
}

/// The live projection, started by [`Views::start`].
pub struct Runner<S: FeedSource> {
    views: Views,
    source: Arc<S>,
    config: RunConfig,
    control: mpsc::Sender<Control>,
    task: JoinHandle<()>,
}

impl<S: FeedSource> Runner<S> {
    /// Rebuilds the read models from position 1 into a fresh copy while the
    /// current one is served and kept current, then serves the new one.
    /// Resolves with the position at which it took over.
    pub async fn rebuild(&self) -> Result<u64, ProjectionError> {
        let applied = self.views.inner.applied.subscribe();
        let (instance, pipeline) = self
            .views
            .build_copy(&*self.source, self.config, |position| {
                position >= *applied.borrow()
            })
            .await?;
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Adopt(
                Box::new(Candidate { instance, pipeline }),
                reply,
            ))
            .await
            .map_err(|_| ProjectionError::Stopped)?;
        answer.await.map_err(|_| ProjectionError::Stopped)?
    }

    /// Stops after the commit in progress; everything applied is committed.
    pub async fn stop(self) -> Result<(), ProjectionError> {
        let (done, stopped) = oneshot::channel();
        if self.control.send(Control::Stop(done)).await.is_ok() {
            let _ = stopped.await;
        }
        let _ = self.task.await;
        self.views.inner.running.store(false, Ordering::Release);
        self.views.inner.drop_retired(true);
        self.views.flush()
    }
}

enum Control {
    Stop(oneshot::Sender<()>),
    Adopt(
        Box<Candidate>,
        oneshot::Sender<Result<u64, ProjectionError>>,
    ),
}

/// A rebuilt copy and its feed, handed to the live runner to take over.
struct Candidate {
    instance: Instance,
    pipeline: Pipeline,
}

/// A live run that lasted this long (or applied anything) counts as the
/// projection working again: its failure is a new one.
const RAN_AGAIN_AFTER: Duration = Duration::from_secs(30);

async fn run_live<S: FeedSource>(
    inner: Arc<Inner>,
    source: Arc<S>,
    mut control: mpsc::Receiver<Control>,
    config: RunConfig,
) {
    const FIRST_BACKOFF: Duration = Duration::from_millis(50);
    let mut backoff = FIRST_BACKOFF;
    // A failure that repeats (the replica's stream unreachable while NATS is
    // down, every few seconds) is logged once, then at debug until the
    // projection has run again: a later outage is logged anew.
    let mut last_logged: Option<String> = None;
    loop {
        let started = Instant::now();
        let applied_before = *inner.applied.borrow();
        let result = async {
            let served = inner.served();
            let instance = Instance::open(served.generation, served.tree)?;
            let pipeline = Pipeline::start(source.open(instance.position() + 1).await?, config);
            drive(&inner, instance, pipeline, &mut control, config).await
        }
        .await;
        match result {
            Ok(()) => return,
            Err(error) => {
                let message = error.to_string();
                if started.elapsed() >= RAN_AGAIN_AFTER || *inner.applied.borrow() > applied_before
                {
                    last_logged = None;
                    backoff = FIRST_BACKOFF;
                }
                if last_logged.as_deref() == Some(message.as_str()) {
                    tracing::debug!(%error, "projection failed again; restarting from its checkpoint");
                } else {
                    tracing::error!(%error, "projection failed; restarting from its checkpoint (a repeat of this error is logged at debug)");
                    last_logged = Some(message.clone());
                }
                *lock(&inner.last_error) = Some(message);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Applies the feed to the served copy until stopped; adopts rebuilt copies.
async fn drive(
    inner: &Inner,
    mut instance: Instance,
    mut pipeline: Pipeline,
    control: &mut mpsc::Receiver<Control>,
    config: RunConfig,
) -> Result<(), ProjectionError> {
    loop {
        tokio::select! {
            biased;
            message = control.recv() => match message {
                None => return Ok(()),
                Some(Control::Stop(done)) => {
                    let _ = done.send(());
                    return Ok(());
                }
                Some(Control::Adopt(candidate, reply)) => {
                    match adopt(inner, *candidate, instance.position(), config).await {
                        Ok((new_instance, new_pipeline)) => {
                            instance = new_instance;
                            pipeline = new_pipeline;
                            let _ = reply.send(Ok(instance.position()));
                        }
                        Err(error) => {
                            let _ = reply.send(Err(error));
                        }
                    }
                }
            },
            next = pipeline.next(config.commit_events_max, config.live_linger) => {
                let (events, at_head) = next?;
                instance = apply_blocking(instance, events, at_head).await?;
                inner.publish(&instance);
            }
        }
    }
}

/// Brings the rebuilt copy to exactly `position` (the served copy's, which
/// does not move meanwhile: this runs in its runner) and serves it.
async fn adopt(
    inner: &Inner,
    candidate: Candidate,
    position: u64,
    config: RunConfig,
) -> Result<(Instance, Pipeline), ProjectionError> {
    let Candidate {
        mut instance,
        mut pipeline,
    } = candidate;
    while instance.position() < position {
        let wanted = usize::try_from(position - instance.position()).unwrap_or(usize::MAX);
        let (events, _) = pipeline
            .next(wanted.min(config.commit_events_max), Duration::ZERO)
            .await?;
        instance = apply_blocking(instance, events, false).await?;
    }
    inner.swap(&instance)?;
    Ok((instance, pipeline))
}

impl Inner {
    fn served(&self) -> Served {
        self.served
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn publish(&self, instance: &Instance) {
        self.drop_retired(false);
        let checkpoint = instance.checkpoint;
        self.events_applied
            .store(checkpoint.events_applied, Ordering::Release);
        self.events_skipped
            .store(checkpoint.events_skipped, Ordering::Release);
        self.applied.send_if_modified(|applied| {
            let moved = checkpoint.position > *applied;
            *applied = (*applied).max(checkpoint.position);
            moved
        });
    }

    /// Serves `instance`'s generation from now on.
    fn swap(&self, instance: &Instance) -> Result<(), ProjectionError> {
        self.catalog
            .insert(CATALOG_SERVED, &instance.generation.to_be_bytes())?;
        self.db.flush()?;
        let old = {
            let mut served = self
                .served
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::replace(
                &mut *served,
                Served {
                    generation: instance.generation,
                    tree: instance.tree.clone(),
                },
            )
        };
        self.publish(instance);
        if old.generation != instance.generation {
            lock(&self.retired).push((old.generation, Instant::now()));
        }
        Ok(())
    }

    /// Drops replaced generations once no in-flight read can use them
    /// (`all`: now, when nothing reads any more). A crash before leaves
    /// them to the next open.
    fn drop_retired(&self, all: bool) {
        let mut retired = lock(&self.retired);
        retired.retain(|(generation, since)| {
            if !all && since.elapsed() < OLD_GENERATION_GRACE {
                return true;
            }
            if let Err(error) = self.db.drop_tree(tree_name(*generation).as_bytes()) {
                tracing::warn!(%error, "could not drop a replaced read-model generation");
            }
            false
        });
    }
}

/// One generation's tree, its projection state and its checkpoint.
struct Instance {
    generation: u64,
    tree: sled::Tree,
    model: ReadModels,
    /// What has been folded: ahead of the stored checkpoint between a
    /// [`Instance::fold`] and the next [`Instance::commit`].
    checkpoint: Checkpoint,
    /// The position of the stored checkpoint (or, while `writing`, of the
    /// checkpoint being written).
    committed_position: u64,
    /// The writes of the last background commit, in flight.
    writing: Option<std::thread::JoinHandle<Result<(), ProjectionError>>>,
}

impl Instance {
    fn open(generation: u64, tree: sled::Tree) -> Result<Instance, ProjectionError> {
        let checkpoint = Checkpoint::read(&tree)?;
        Ok(Instance {
            generation,
            tree,
            model: ReadModels::new(),
            committed_position: checkpoint.position,
            checkpoint,
            writing: None,
        })
    }

    fn position(&self) -> u64 {
        self.checkpoint.position
    }

    /// Applies the events after the checkpoint and commits them with it.
    /// On error the instance must be dropped: its cache is ahead of sled.
    fn apply(&mut self, events: &[Vec<Incoming>], retain: bool) -> Result<(), ProjectionError> {
        self.fold(events)?;
        self.commit(retain)
    }

    /// Applies the events after the checkpoint to the cached records
    /// without writing them: `position()` moves, the stored checkpoint does
    /// not until [`Instance::commit`]. On error the instance must be
    /// dropped: its cache is ahead of sled.
    fn fold(&mut self, events: &[Vec<Incoming>]) -> Result<(), ProjectionError> {
        for incoming in events.iter().flatten() {
            if incoming.position <= self.checkpoint.position {
                continue;
            }
            if incoming.position != self.checkpoint.position + 1 {
                return Err(ProjectionError::Gap {
                    expected: self.checkpoint.position + 1,
                    got: incoming.position,
                });
            }
            let applied = match &incoming.event {
                Some(event) => self.model.apply(&self.tree, incoming, event)?,
                None => false,
            };
            if applied {
                self.checkpoint.events_applied += 1;
            } else {
                self.checkpoint.events_skipped += 1;
            }
            self.checkpoint.position = incoming.position;
        }
        Ok(())
    }

    /// Events folded since the last commit.
    fn uncommitted(&self) -> u64 {
        self.checkpoint.position - self.committed_position
    }

    /// Writes everything folded since the last commit, and the checkpoint,
    /// as one atomic batch.
    fn commit(&mut self, retain: bool) -> Result<(), ProjectionError> {
        self.finish_writing()?;
        let Some((writes, folded)) = self.writes(retain)? else {
            return Ok(());
        };
        writes.apply_atomically(&self.tree)?;
        self.committed(folded);
        Ok(())
    }

    /// For a copy being built (not served, dropped if the process dies
    /// before it is): hands everything folded since the last commit, and
    /// the checkpoint, to a thread that writes them one by one while the
    /// next events are folded. The cached records keep what the writes
    /// hold until the next commit, which waits for them first.
    ///
    /// The writer starts on the first chunk of ticket records while the
    /// rest of the commit is prepared: preparing a commit is work for one
    /// core (the reader soon has its read-ahead full), so the other one
    /// writes meanwhile.
    fn commit_in_background(&mut self, chunk_tickets: usize) -> Result<(), ProjectionError> {
        self.finish_writing()?;
        let folded = self.uncommitted();
        if folded == 0 {
            return Ok(());
        }
        let (chunks, received) = std::sync::mpsc::sync_channel::<Writes>(WRITE_CHUNKS_AHEAD);
        let tree = self.tree.clone();
        self.writing = Some(std::thread::spawn(move || {
            for writes in received {
                writes.apply_one_by_one(&tree)?;
            }
            Ok(())
        }));
        let mut hand_over = |writes: Writes| {
            chunks
                .send(writes)
                .map_err(|_| ProjectionError::Feed("the read-model writer stopped".to_owned()))
        };
        let prepared = self
            .model
            .commit(
                &self.tree,
                &mut self.checkpoint,
                false,
                Some((chunk_tickets, &mut hand_over)),
            )
            .and_then(|mut writes| {
                writes.insert(
                    CHECKPOINT_KEY,
                    store::encode("checkpoint", &self.checkpoint)?,
                );
                hand_over(writes)
            });
        drop(chunks);
        if let Err(error) = prepared {
            // The writer's own error, if it stopped on one, says more.
            self.finish_writing()?;
            return Err(error);
        }
        self.committed(folded);
        Ok(())
    }

    /// The last commit of a copy being built: a background commit, waited for.
    fn commit_last(&mut self, chunk_tickets: usize) -> Result<(), ProjectionError> {
        self.commit_in_background(chunk_tickets)?;
        self.finish_writing()
    }

    /// Waits for the writes of the last background commit.
    fn finish_writing(&mut self) -> Result<(), ProjectionError> {
        match self.writing.take() {
            None => Ok(()),
            Some(writing) => writing
                .join()
                .map_err(|_| ProjectionError::Feed("the read-model writer panicked".to_owned()))?,
        }
    }

    /// The writes of everything folded since the last commit, with the
    /// checkpoint, and how many events they cover; `None` if none.
    fn writes(&mut self, retain: bool) -> Result<Option<(Writes, u64)>, ProjectionError> {
        let folded = self.uncommitted();
        if folded == 0 {
            return Ok(None);
        }
        let mut writes = self
            .model
            .commit(&self.tree, &mut self.checkpoint, retain, None)?;
        writes.insert(
            CHECKPOINT_KEY,
            store::encode("checkpoint", &self.checkpoint)?,
        );
        Ok(Some((writes, folded)))
    }

    fn committed(&mut self, folded: u64) {
        self.model.committed();
        self.committed_position = self.checkpoint.position;
        if folded >= RELEASE_MEMORY_AFTER_EVENTS {
            release_freed_memory();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // A dropped copy's writer must not outlive it (its tree may be
        // dropped next); its result no longer matters.
        let _ = self.finish_writing();
    }
}

/// Runs `work` on `instance` on the blocking pool (folding and committing
/// are CPU and sled work, not for a runtime worker).
async fn on_blocking_pool(
    mut instance: Instance,
    work: impl FnOnce(&mut Instance) -> Result<(), ProjectionError> + Send + 'static,
) -> Result<Instance, ProjectionError> {
    tokio::task::spawn_blocking(move || {
        work(&mut instance)?;
        Ok(instance)
    })
    .await
    .map_err(|error| ProjectionError::Feed(format!("the applier task failed: {error}")))?
}

async fn apply_blocking(
    instance: Instance,
    events: Batches,
    retain: bool,
) -> Result<Instance, ProjectionError> {
    on_blocking_pool(instance, move |instance| instance.apply(&events, retain)).await
}

/// How a copy commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Commits {
    /// One atomic batch each: the copy is served.
    Atomic,
    /// Written in the background while folding on: the copy is being built.
    Background,
}

/// Folds `events` and commits once `bound` is reached since the last
/// commit, or the copy has reached `commit_at` (or beyond): a ticket's
/// events then share one write of its record even when the feed hands
/// them over in small batches (which it does whenever the reader is ahead
/// of the applier). Without retention: for copies that are not served
/// yet, or tools.
async fn fold_blocking(
    instance: Instance,
    events: Batches,
    bound: CommitBound,
    commit_at: u64,
    commits: Commits,
) -> Result<Instance, ProjectionError> {
    on_blocking_pool(instance, move |instance| {
        instance.fold(&events)?;
        let due = instance.uncommitted() >= bound.events_max as u64
            || instance.model.changed_tickets() >= bound.tickets_max
            || instance.position() >= commit_at;
        if !due {
            return Ok(());
        }
        match commits {
            Commits::Atomic => instance.commit(false),
            Commits::Background => instance.commit_in_background(bound.chunk_tickets),
        }
    })
    .await
}

/// Decoded events in log order, as the feed's reads returned them: kept
/// apart, not concatenated, because a commit's worth of events copied into
/// one growing vector was ~3% of a rebuild (mostly faulting in fresh pages).
type Batches = Vec<Vec<Incoming>>;

/// The feed, read and decoded ahead of the applier.
struct Pipeline {
    rx: mpsc::Receiver<Result<Vec<Incoming>, ProjectionError>>,
    reader: JoinHandle<()>,
    /// Hands the decoded batches on in the order they were read.
    forwarder: JoinHandle<()>,
    /// Events asked of the feed per read: a shorter read means the feed
    /// had nothing more (the copy is at the head).
    read_max: usize,
    /// Events taken from the channel and not yet handed out: kept here so
    /// that a `next` dropped mid-way (it runs inside `select!`) loses none.
    pending: Batches,
    /// Events in `pending`.
    pending_events: usize,
    at_head: bool,
}

impl Pipeline {
    fn start<F: EventFeed>(mut feed: F, config: RunConfig) -> Pipeline {
        let read_max = config.commit_events_max.clamp(1, READ_BATCH_MAX);
        let (tx, rx) = mpsc::channel(READ_AHEAD_BATCHES);
        // The reader goes on reading while the batches it read are being
        // decoded: reading and decoding in turn, it left the applier at
        // 0.6-0.8 of a core while folding, waiting for events.
        let (decoding_tx, mut decoding) = mpsc::channel(DECODES_IN_FLIGHT);
        let reader = tokio::spawn(async move {
            loop {
                let read = feed
                    .next_batch(read_max)
                    .await
                    .map(|events| tokio::task::spawn_blocking(move || decode_all(events)));
                let failed = read.is_err();
                if decoding_tx.send(read).await.is_err() || failed {
                    return;
                }
            }
        });
        let forwarder = tokio::spawn(async move {
            while let Some(read) = decoding.recv().await {
                let decoded = match read {
                    Ok(decoder) => decoder.await.unwrap_or_else(|error| {
                        Err(ProjectionError::Feed(format!("decoder failed: {error}")))
                    }),
                    Err(error) => Err(error),
                };
                let failed = decoded.is_err();
                if tx.send(decoded).await.is_err() || failed {
                    return;
                }
            }
        });
        Pipeline {
            rx,
            reader,
            forwarder,
            read_max,
            pending: Vec::new(),
            pending_events: 0,
            at_head: false,
        }
    }

    /// Waits for events, then also takes what is already decoded, up to
    /// about `max` events, and at the head what arrives within `linger`.
    /// `true` with them when the feed had nothing more at its last read
    /// (the copy is at the head). Cancel-safe.
    async fn next(
        &mut self,
        max: usize,
        linger: Duration,
    ) -> Result<(Batches, bool), ProjectionError> {
        if self.pending_events == 0 {
            let first = self.rx.recv().await.ok_or(ProjectionError::Stopped)??;
            self.take(first);
        }
        while self.pending_events < max {
            match self.rx.try_recv() {
                Ok(more) => self.take(more?),
                Err(_) => break,
            }
        }
        if self.at_head && !linger.is_zero() {
            let deadline = tokio::time::Instant::now() + linger;
            while self.pending_events < max {
                match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                    Ok(Some(more)) => self.take(more?),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        self.pending_events = 0;
        Ok((std::mem::take(&mut self.pending), self.at_head))
    }

    fn take(&mut self, events: Vec<Incoming>) {
        self.at_head = events.len() < self.read_max;
        if !events.is_empty() {
            self.pending_events += events.len();
            self.pending.push(events);
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.reader.abort();
        self.forwarder.abort();
    }
}

/// Decodes a read's envelopes and events. An event that does not decode
/// is passed on as `None` (skipped and counted); an envelope that does
/// not is a corrupt log, an error.
fn decode_all(events: Vec<StoredEvent>) -> Result<Vec<Incoming>, ProjectionError> {
    events
        .iter()
        .map(|stored| {
            let entry = stored.read()?;
            Ok(Incoming {
                event: codec::decode(entry.event_type, entry.schema_version, entry.payload).ok(),
                position: entry.position,
                version: entry.version,
                ticket: ticket_of_stream(entry.stream),
                recorded_at: entry.recorded_at_unix_nanos,
            })
        })
        .collect()
}

/// Chunks of a background commit prepared ahead of its writer.
const WRITE_CHUNKS_AHEAD: usize = 4;

/// A commit of at least this many events returns freed heap to the OS.
const RELEASE_MEMORY_AFTER_EVENTS: u64 = 10_000;

/// Gives the heap memory freed by a big commit back to the OS.
///
/// sled frees the pages it evicts through epoch-based reclamation, and
/// glibc's malloc keeps freed memory in its arenas: measured on a rebuild,
/// RSS grew with the bytes written (1.2 GiB over the log's own for 1M
/// events) although sled's cache and ours are bounded. `malloc_trim` after
/// each big commit keeps the resident set near what is live. Other
/// allocators need nothing.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it
    // takes the allocator's own locks and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn tree_name(generation: u64) -> String {
    format!("{TREE_PREFIX}{generation}")
}

/// One more than any generation in the catalog or on disk.
fn next_generation(db: &sled::Db, served: u64) -> u64 {
    db.tree_names()
        .iter()
        .filter_map(|name| {
            std::str::from_utf8(name)
                .ok()?
                .strip_prefix(TREE_PREFIX)?
                .parse::<u64>()
                .ok()
        })
        .fold(served, u64::max)
        + 1
}

struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
