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
//!
//! # Where each part lives
//! This file holds the [`Views`] handle (opening, status, waiting for a
//! position, catching up without a runner). `config`: how big commits get.
//! `checkpoint`: the stored position and format. `generations`: the
//! catalog, building a new copy and swapping it in. `live`: the live loop
//! and its [`Runner`]. `commit`: one copy's folding and commits, atomic or
//! in the background. `pipeline`: the feed read and decoded ahead.

mod checkpoint;
mod commit;
mod config;
mod generations;
mod live;
mod pipeline;

pub(crate) use checkpoint::Checkpoint;
pub use checkpoint::READ_MODEL_FORMAT;
pub use config::{CommitBound, RunConfig};
pub use live::Runner;
pub use pipeline::READ_BATCH_MAX;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use crate::error::ProjectionError;
use crate::feed::FeedSource;
use commit::{apply_blocking, fold_blocking, Commits, InboxHistory, Instance};
use generations::{open_served, tree_name};
use pipeline::Pipeline;

/// The name of the one projection (metrics label, `rebuild --projection`).
pub const PROJECTION_NAME: &str = "views";

/// Where the read models stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectionStatus {
    /// [`PROJECTION_NAME`].
    pub name: &'static str,
    /// The last log position applied to the served copy.
    pub applied_position: u64,
    /// Events folded into the served copy's read models.
    pub events_applied: u64,
    /// Events skipped: unknown type, undecodable, or of a ticket never opened.
    pub events_skipped: u64,
    /// The served copy's generation (it moves on with each rebuild).
    pub generation: u64,
    /// While a rebuild runs: the position the new copy has reached.
    pub rebuild_position: Option<u64>,
    /// The last error of the runner (it retries with backoff).
    pub last_error: Option<String>,
}

/// The read models: open once per process; cheap to clone.
#[derive(Clone)]
pub struct Views {
    inner: Arc<Inner>,
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
        let generation = open_served(&db, &catalog)?;
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

    /// Where the read models stand (metrics, the replay tool's report).
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

    /// Flushes sled's buffers (sled also flushes commits on its own timer;
    /// a lost tail is re-applied from the log after a crash).
    pub fn flush(&self) -> Result<(), ProjectionError> {
        self.inner.db.flush()?;
        Ok(())
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
                instance = apply_blocking(instance, events, InboxHistory::Retain).await?;
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

/// sled's page cache for the read models: bounded, because the process
/// holds the event store's own cache too and sled's default is sized for a
/// machine of its own.
const VIEWS_CACHE_BYTES: u64 = 128 << 20;

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

/// The served generation and its tree.
#[derive(Clone)]
struct Served {
    generation: u64,
    tree: sled::Tree,
}

impl Inner {
    fn served(&self) -> Served {
        self.served
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Makes what `instance` has committed visible: counters and the
    /// applied position that `wait_for_position` waits on.
    fn publish(&self, instance: &Instance) {
        self.drop_retired_past_grace();
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
}

/// Clears a flag when dropped: whoever set it gives it back on every path.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Locks `mutex`, also after a panic elsewhere: what it guards stays usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
