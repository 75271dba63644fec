//! The writer thread: the only code that appends to the log.
//!
//! Group commit: block for one request, drain whatever else waits (up to
//! `APPEND_BATCH_MAX` requests or `BATCH_BYTES_MAX` bytes), check each request
//! in arrival order against the store plus the group's own pending appends,
//! assign positions and chain hashes, write the group's keys in order with
//! the head record LAST, `flush()`, `fdatasync`, publish the new head, and
//! only then answer.
//!
//! Why not one `sled::Batch`: sled 0.34's `apply_batch` seals and writes the
//! current I/O buffer twice before it starts (`PageCache::pin_log`), so a
//! batch costs extra buffer writes that the flush then waits for, and it
//! takes sled's process-wide concurrency lock exclusively, stalling every
//! read of every tree in the process (the read models' included). Plain
//! inserts from this one thread are recovered by sled as a prefix of the
//! order they were made in (recovery stops at the first torn message), so a
//! crash mid-group leaves the durable head record plus, after it, a torn
//! tail of the group: entries past the head, and the index and idempotency
//! keys written for them. Opening removes that tail (`open::remove_torn_tail`)
//! before anything reads the store; nothing in it was acknowledged.
//!
//! A request that fails its checks gets its error and takes no position; the
//! others of the group are not affected. If the write or the sync fails,
//! every accepted request of the group gets `CommitFailed` and the store is
//! poisoned: sled's in-memory tree may hold the group while the disk may
//! not, and re-reading the head from sled would read that memory. Reopening
//! the folder recovers what the disk holds (up to its last head record),
//! which is the only state that can be trusted.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::error::StoreError;
use crate::keys;
use crate::record::{self, ActorV1, EnvelopeV1};
use crate::store::{add_nanos, is_expired, lock, read_idempotency_raw, CommitReport, Shared};
use crate::types::{AppendOutcome, AppendRequest, Head, IdempotencyRecord};
use crate::watermark::Watermark;
use crate::{
    APPEND_BATCH_MAX, BATCH_BYTES_MAX, IDEMPOTENCY_PRUNE_PER_COMMIT, IDEMPOTENCY_TTL,
    STREAM_VERSION_CACHE_MAX,
};

pub(crate) type Reply = oneshot::Sender<Result<AppendOutcome, StoreError>>;

pub(crate) enum Request {
    Append {
        request: AppendRequest,
        reply: Reply,
    },
    /// Commit what was queued before, answer `Closed` to what comes after,
    /// and stop.
    Close { reply: oneshot::Sender<()> },
}

pub(crate) fn spawn(
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    head_tx: watch::Sender<u64>,
    head: Head,
    watermark: Watermark,
) -> Result<JoinHandle<()>, StoreError> {
    let writer = Writer {
        shared,
        rx,
        head_tx,
        head,
        watermark,
        clock_unix_nanos: i64::MIN,
        versions: HashMap::new(),
    };
    let handle = std::thread::Builder::new()
        .name("docket-writer".into())
        .spawn(move || writer.run())?;
    Ok(handle)
}

struct Writer {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    /// Dropped when the writer stops, which ends every subscription.
    head_tx: watch::Sender<u64>,
    /// The durable head; equal to `shared.head` between commits.
    head: Head,
    /// Rewritten at most once per `WATERMARK_INTERVAL`, after answering.
    watermark: Watermark,
    /// The newest caller time seen (idempotency and event times): what
    /// "now" means for idempotency expiry and pruning, so that a test clock
    /// drives both.
    clock_unix_nanos: i64,
    /// Durable stream versions (a cache of the index; the writer is the only
    /// writer, so it cannot go stale).
    versions: HashMap<String, u64>,
}

/// One group commit being built.
struct Group {
    /// The group's writes, in the order sled must make them.
    writes: Vec<Write>,
    /// Head after the staged appends.
    head: Head,
    /// Stream versions after the staged appends.
    versions: HashMap<String, u64>,
    /// Idempotency records staged in this group, to catch a key twice.
    idempotency: HashMap<Vec<u8>, IdempotencyRecord>,
    appends: u64,
    events: u64,
}

/// One key written or removed by a group commit.
enum Write {
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
}

/// Sets `poisoned` if the writer thread unwinds (a failed assertion), so
/// that callers get `Poisoned` instead of a store that silently stopped.
struct PoisonOnPanic(Arc<Shared>);

impl Drop for PoisonOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::Release);
        }
    }
}

impl Writer {
    fn run(mut self) {
        let _poison = PoisonOnPanic(self.shared.clone());
        let mut closed = None;
        while let Some(first) = self.rx.blocking_recv() {
            let (appends, close) = self.drain(first);
            if !appends.is_empty() {
                self.commit_group(appends);
                self.raise_watermark_if_due();
            }
            if let Some(reply) = close {
                self.refuse_the_rest();
                closed = Some(reply);
                break;
            }
        }
        self.raise_watermark();
        if let Some(reply) = closed {
            let _ = reply.send(());
        }
    }

    /// Records the durable head in the watermark file if it is due. A
    /// failure only leaves the watermark older: it is logged, not fatal.
    fn raise_watermark_if_due(&mut self) {
        if !self.shared.poisoned.load(Ordering::Acquire) {
            let written = self.watermark.write_if_due(self.head);
            log_watermark_failure(written);
        }
    }

    /// Records the durable head in the watermark file now (when stopping).
    fn raise_watermark(&mut self) {
        if !self.shared.poisoned.load(Ordering::Acquire) {
            let written = self.watermark.write(self.head);
            log_watermark_failure(written);
        }
    }

    /// The group: `first` and whatever waits, up to the bounds or a close.
    fn drain(
        &mut self,
        first: Request,
    ) -> (Vec<(AppendRequest, Reply)>, Option<oneshot::Sender<()>>) {
        let mut appends = Vec::new();
        let mut bytes = 0usize;
        let mut next = Some(first);
        while let Some(request) = next.take() {
            match request {
                Request::Append { request, reply } => {
                    bytes += request.byte_size();
                    appends.push((request, reply));
                }
                Request::Close { reply } => return (appends, Some(reply)),
            }
            if appends.len() < APPEND_BATCH_MAX && bytes < BATCH_BYTES_MAX {
                next = self.rx.try_recv().ok();
            }
        }
        (appends, None)
    }

    fn refuse_the_rest(&mut self) {
        self.rx.close();
        while let Ok(request) = self.rx.try_recv() {
            match request {
                Request::Append { reply, .. } => {
                    let _ = reply.send(Err(StoreError::Closed));
                }
                Request::Close { reply } => {
                    let _ = reply.send(());
                }
            }
        }
    }

    fn commit_group(&mut self, appends: Vec<(AppendRequest, Reply)>) {
        if self.shared.poisoned.load(Ordering::Acquire) {
            for (_, reply) in appends {
                let _ = reply.send(Err(StoreError::Poisoned));
            }
            return;
        }
        let started = Instant::now();
        self.advance_clock(&appends);
        let mut group = Group {
            writes: Vec::new(),
            head: self.head,
            versions: HashMap::new(),
            idempotency: HashMap::new(),
            appends: 0,
            events: 0,
        };
        // Prune first: a request of this group that records an expired key
        // again must overwrite the staged removal, not the other way round.
        if let Err(e) = self.stage_pruning(&mut group) {
            tracing::warn!(error = %e, "idempotency pruning skipped");
        }
        let mut answers = Vec::with_capacity(appends.len());
        for (request, reply) in appends {
            let answer = self.stage(&mut group, request);
            answers.push((reply, answer));
        }
        add_nanos(&self.shared.stage_nanos, started.elapsed());
        if group.events > 0 {
            match self.write(&mut group) {
                Ok(flush) => {
                    if let Some(observe) = self.shared.observer.get() {
                        observe(&CommitReport {
                            appends: group.appends,
                            events: group.events,
                            flush,
                            total: started.elapsed(),
                        });
                    }
                    self.publish(group);
                }
                Err(e) => {
                    tracing::error!(error = %e, "group commit failed; store poisoned");
                    let detail = e.to_string();
                    for (_, answer) in &mut answers {
                        if answer.is_ok() {
                            *answer = Err(StoreError::CommitFailed {
                                detail: detail.clone(),
                            });
                        }
                    }
                }
            }
        }
        for (reply, answer) in answers {
            // The caller may have gone away; its append stands.
            let _ = reply.send(answer);
        }
    }

    fn advance_clock(&mut self, appends: &[(AppendRequest, Reply)]) {
        for (request, _) in appends {
            if let Some(idempotency) = &request.idempotency {
                self.clock_unix_nanos = self
                    .clock_unix_nanos
                    .max(idempotency.recorded_at_unix_nanos);
            }
            for append in &request.streams {
                for event in &append.events {
                    self.clock_unix_nanos = self.clock_unix_nanos.max(event.recorded_at_unix_nanos);
                }
            }
        }
    }

    /// Checks one request against the store and the group, and stages it.
    fn stage(
        &mut self,
        group: &mut Group,
        request: AppendRequest,
    ) -> Result<AppendOutcome, StoreError> {
        let mut expired = None;
        if let Some(idempotency) = &request.idempotency {
            if let Some(record) = group.idempotency.get(&idempotency.key) {
                return Ok(AppendOutcome::Duplicate(record.clone()));
            }
            if let Some(record) = read_idempotency_raw(&self.shared.db, &idempotency.key)? {
                if !is_expired(record.recorded_at_unix_nanos, self.clock_unix_nanos) {
                    return Ok(AppendOutcome::Duplicate(record));
                }
                expired = Some(record.recorded_at_unix_nanos);
            }
        }

        let mut currents = Vec::with_capacity(request.streams.len());
        for append in &request.streams {
            let current = self.current_version(group, &append.stream)?;
            if !append.expected.admits(current) {
                return Err(StoreError::VersionMismatch {
                    stream: append.stream.clone(),
                    expected: append.expected,
                    actual: current,
                });
            }
            currents.push(current);
        }

        let first_position = group.head.position + 1;
        let mut stream_versions = Vec::with_capacity(request.streams.len());
        for (append, current) in request.streams.iter().zip(currents) {
            let mut version = current;
            for event in &append.events {
                version += 1;
                self.stage_event(group, &append.stream, version, event);
            }
            group.versions.insert(append.stream.clone(), version);
            stream_versions.push(version);
        }
        let last_position = group.head.position;
        assert!(
            last_position >= first_position,
            "validated requests have events"
        );

        if let Some(idempotency) = request.idempotency {
            let record = IdempotencyRecord {
                fingerprint: idempotency.fingerprint,
                response: idempotency.response,
                first_position,
                last_position,
                recorded_at_unix_nanos: idempotency.recorded_at_unix_nanos,
            };
            // After the request's events: a torn tail that holds this
            // record holds the events that name its key (see the crate doc).
            if let Some(old_time) = expired {
                group
                    .writes
                    .push(Write::Remove(keys::expiry_key(old_time, &idempotency.key)));
            }
            group.writes.push(Write::Insert(
                keys::idempotency_key(&idempotency.key),
                record::encode_idempotency(&record),
            ));
            group.writes.push(Write::Insert(
                keys::expiry_key(record.recorded_at_unix_nanos, &idempotency.key),
                Vec::new(),
            ));
            group.idempotency.insert(idempotency.key, record);
        }
        group.appends += 1;
        Ok(AppendOutcome::Committed {
            first_position,
            last_position,
            stream_versions,
        })
    }

    fn stage_event(&self, group: &mut Group, stream: &str, version: u64, event: &crate::NewEvent) {
        let position = group.head.position + 1;
        let envelope = EnvelopeV1 {
            position,
            stream,
            version,
            event_id: event.event_id.into_bytes(),
            recorded_at_unix_nanos: event.recorded_at_unix_nanos,
            actor: ActorV1 {
                sub: &event.actor.sub,
                role: &event.actor.role,
                org: &event.actor.org,
            },
            correlation_id: event.correlation_id.into_bytes(),
            causation_id: event.causation_id.map(Uuid::into_bytes),
            idempotency_key: event.idempotency_key.as_deref(),
            event_type: &event.event_type,
            schema_version: event.schema_version,
            payload: &event.payload,
        };
        let (bytes, hash) = record::encode_envelope(&envelope, &group.head.hash);
        // The entry before its index key: an index key in a torn tail
        // always has its entry there too.
        group
            .writes
            .push(Write::Insert(keys::log_key(position).to_vec(), bytes));
        group.writes.push(Write::Insert(
            keys::stream_key(stream, version),
            position.to_be_bytes().to_vec(),
        ));
        group.head = Head { position, hash };
        group.events += 1;
    }

    /// The stream's version after what is durable and what the group staged.
    fn current_version(&mut self, group: &Group, stream: &str) -> Result<u64, StoreError> {
        if let Some(&version) = group.versions.get(stream) {
            return Ok(version);
        }
        if let Some(&version) = self.versions.get(stream) {
            return Ok(version);
        }
        // sled holds exactly the durable state here: every commit before
        // this one was synced, or the store is poisoned.
        let last = self
            .shared
            .db
            .scan_prefix(keys::stream_prefix(stream))
            .next_back()
            .transpose()?;
        let version = match last {
            None => 0,
            Some((key, _)) => keys::parse_stream_key(&key).map_or(0, |(_, version)| version),
        };
        Ok(version)
    }

    /// Stages the removal of up to `IDEMPOTENCY_PRUNE_PER_COMMIT` expired
    /// idempotency records, oldest first, through the expiry index.
    fn stage_pruning(&self, group: &mut Group) -> Result<(), StoreError> {
        let ttl_nanos = IDEMPOTENCY_TTL.as_nanos() as i64;
        // Expired: now - recorded >= ttl, i.e. recorded <= now - ttl.
        let cutoff = self.clock_unix_nanos.saturating_sub(ttl_nanos);
        let end = keys::expiry_time_prefix(cutoff.saturating_add(1));
        let range = vec![keys::IDEMPOTENCY_EXPIRY]..end;
        for entry in self
            .shared
            .db
            .range(range)
            .take(IDEMPOTENCY_PRUNE_PER_COMMIT)
        {
            let (key, _) = entry?;
            if let Some((time, idempotency_key)) = keys::parse_expiry_key(&key) {
                let record = read_idempotency_raw(&self.shared.db, idempotency_key)?;
                // Only the record this expiry entry was written for.
                if record.is_some_and(|r| r.recorded_at_unix_nanos == time) {
                    group
                        .writes
                        .push(Write::Remove(keys::idempotency_key(idempotency_key)));
                }
            }
            group.writes.push(Write::Remove(key.to_vec()));
        }
        Ok(())
    }

    /// The group's writes in order, the head record last, then flush and
    /// `fdatasync`; returns how long the flush and sync took.
    fn write(&self, group: &mut Group) -> Result<Duration, StoreError> {
        let head = record::encode_head(group.head.position, &group.head.hash);
        let pending = (!group.idempotency.is_empty()).then(|| {
            let first_position = group.head.position - group.events + 1;
            let recorded: Vec<(i64, &[u8])> = group
                .idempotency
                .iter()
                .map(|(key, r)| (r.recorded_at_unix_nanos, key.as_slice()))
                .collect();
            let bytes = record::encode_pending_keys(first_position, &recorded);
            Write::Insert(keys::PENDING_KEYS.to_vec(), bytes)
        });
        let started = Instant::now();
        let applied = pending
            .into_iter()
            .chain(std::mem::take(&mut group.writes))
            .chain([Write::Insert(keys::HEAD.to_vec(), head.to_vec())])
            .try_for_each(|write| match write {
                Write::Insert(key, value) => self.shared.db.insert(key, value).map(drop),
                Write::Remove(key) => self.shared.db.remove(key).map(drop),
            });
        add_nanos(&self.shared.apply_nanos, started.elapsed());
        if let Err(e) = applied {
            self.shared.poisoned.store(true, Ordering::Release);
            return Err(e.into());
        }
        self.shared.make_durable()
    }

    /// After the sync: advance the head readers see, then wake subscribers.
    fn publish(&mut self, group: Group) {
        assert_eq!(
            group.head.position,
            self.head.position + group.events,
            "positions are contiguous"
        );
        self.head = group.head;
        *lock(&self.shared.head) = group.head;
        self.head_tx.send_replace(group.head.position);
        if self.versions.len() + group.versions.len() > STREAM_VERSION_CACHE_MAX {
            self.versions.clear();
        }
        self.versions.extend(group.versions);
        let shared = &self.shared;
        shared.commits.fetch_add(1, Ordering::Relaxed);
        shared.appends.fetch_add(group.appends, Ordering::Relaxed);
        shared.events.fetch_add(group.events, Ordering::Relaxed);
    }
}

fn log_watermark_failure(written: std::io::Result<()>) {
    if let Err(e) = written {
        tracing::warn!(error = %e, "event store watermark not written");
    }
}
