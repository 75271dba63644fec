//! The store handle: opening, the read side, sequences and closing. Writes
//! go to the writer thread (`writer.rs`). Past ~600 lines because it is
//! the store's whole public surface: one `impl Store`, each method short.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{FaultReason, StoreError};
use crate::keys;
use crate::open::{
    check_watermark, lock_folder, open_sled, read_head, read_sequence, remove_torn_tail,
    sled_panicked,
};
use crate::record;
use crate::stored::StoredEvent;
use crate::subscription::Subscription;
use crate::types::{
    AppendOutcome, AppendRequest, Head, IdempotencyRecord, RecordedEvent, VerifyReport,
};
use crate::watermark::Watermark;
use crate::writer::{self, Request};
use crate::{
    APPEND_EVENTS_MAX, APPEND_QUEUE_MAX, APPEND_STREAMS_MAX, IDEMPOTENCY_KEY_BYTES_MAX,
    IDEMPOTENCY_TTL, REQUEST_BYTES_MAX, SCAN_CACHE_BYTES, SEQUENCE_BLOCK, SLED_CACHE_BYTES,
    STREAM_NAME_BYTES_MAX,
};

/// A handle on an open store; cheap to clone. The folder is locked until the
/// last handle (and every `Subscription`) is dropped or `close`d.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// What the writer has done since the store was opened: the average batch
/// size is `appends / commits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Group commits (the group's sled writes + flush + fdatasync).
    pub commits: u64,
    /// Append requests committed (duplicates and rejections excluded).
    pub appends: u64,
    /// Events appended.
    pub events: u64,
    /// Time the writer spent checking and encoding requests, in nanoseconds
    /// summed over commits.
    pub stage_nanos: u64,
    /// Time spent writing the groups' keys to sled, in nanoseconds.
    pub apply_nanos: u64,
    /// Time spent in sled's `flush()` (pwrite + `sync_file_range`), in
    /// nanoseconds.
    pub flush_nanos: u64,
    /// Time spent in `fdatasync` of sled's data file, in nanoseconds.
    pub sync_nanos: u64,
}

/// One group commit, as the writer saw it: for latency and batch-size
/// histograms (the store itself keeps only totals, in `WriterStats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitReport {
    /// Append requests in the commit (duplicates and rejections excluded).
    pub appends: u64,
    /// Events in the commit.
    pub events: u64,
    /// sled's `flush()` and the `fdatasync` after it: the device part.
    pub flush: Duration,
    /// From the start of the commit to durability (checks, encoding,
    /// the sled writes, flush and sync).
    pub total: Duration,
}

/// Called by the writer thread after each durable commit, before the
/// callers are answered: it must be quick and must not block.
pub type CommitObserver = Box<dyn Fn(&CommitReport) + Send + Sync>;

/// State shared by the handles and the writer thread.
pub(crate) struct Shared {
    pub db: sled::Db,
    /// sled's data file, opened once, for `fdatasync` after each flush.
    pub data_file: File,
    /// The durable head: what readers may see. Written only by the writer,
    /// after the `fdatasync`.
    pub head: Mutex<Head>,
    pub poisoned: AtomicBool,
    pub commits: AtomicU64,
    pub appends: AtomicU64,
    pub events: AtomicU64,
    pub stage_nanos: AtomicU64,
    pub apply_nanos: AtomicU64,
    pub flush_nanos: AtomicU64,
    pub sync_nanos: AtomicU64,
    pub observer: OnceLock<CommitObserver>,
}

struct Inner {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Request>,
    head_rx: watch::Receiver<u64>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// An async lock: a caller that finds the block used up waits for the
    /// reservation's `fdatasync` without holding a runtime worker.
    sequence: tokio::sync::Mutex<SequenceBlock>,
    dir: PathBuf,
    /// Declared last: dropped (unlocked) after sled's handles.
    _lock: File,
}

/// Sequence numbers `next..end` are reserved durably and not yet handed out.
struct SequenceBlock {
    next: u64,
    end: u64,
}

impl Store {
    /// Opens (or creates) the store in `dir` and starts its writer thread.
    /// O(1) in the size of the log: reads the head record, checks the entry
    /// it names, and never replays the log.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, SLED_CACHE_BYTES)
    }

    /// [`Store::open`] for a tool that reads the log front to back (a
    /// rebuild, a verify, an export): a scan never returns to a page, so
    /// sled's page cache is kept small. The serving size only made such a
    /// process bigger, and faulting fresh memory in is not free: the kernel
    /// zeroes every page (`docs/benchmarks.md`, "Rebuild").
    pub fn open_for_scans(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, SCAN_CACHE_BYTES)
    }

    fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_folder(dir)?;
        let db = open_sled(dir, cache_bytes)?;
        let data_file = File::open(dir.join("db"))?;
        // Make the directory entries of sled's new files durable once.
        File::open(dir)?.sync_all()?;
        let head = read_head(&db)?;
        let mut watermark = Watermark::open(dir)?;
        if remove_torn_tail(&db, head, watermark.head())? {
            // The removal is durable before anything reuses its positions.
            db.flush()?;
            data_file.sync_data()?;
        }
        check_watermark(&db, head, watermark.head())?;
        watermark.write(head)?;
        let sequence_end = read_sequence(&db)?;

        let shared = Arc::new(Shared {
            db,
            data_file,
            head: Mutex::new(head),
            poisoned: AtomicBool::new(false),
            commits: AtomicU64::new(0),
            appends: AtomicU64::new(0),
            events: AtomicU64::new(0),
            stage_nanos: AtomicU64::new(0),
            apply_nanos: AtomicU64::new(0),
            flush_nanos: AtomicU64::new(0),
            sync_nanos: AtomicU64::new(0),
            observer: OnceLock::new(),
        });
        let (tx, rx) = mpsc::channel(APPEND_QUEUE_MAX);
        let (head_tx, head_rx) = watch::channel(head.position);
        let writer = writer::spawn(shared.clone(), rx, head_tx, head, watermark)?;
        Ok(Store {
            inner: Arc::new(Inner {
                shared,
                tx,
                head_rx,
                writer: Mutex::new(Some(writer)),
                sequence: tokio::sync::Mutex::new(SequenceBlock {
                    next: sequence_end,
                    end: sequence_end,
                }),
                dir: dir.to_path_buf(),
                _lock: lock,
            }),
        })
    }

    /// Appends through the writer; returns once the commit holding the
    /// request is durable. Dropping the future after it was queued does not
    /// withdraw the request.
    pub async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        validate(&request)?;
        self.check_poisoned()?;
        let (reply, answer) = oneshot::channel();
        self.inner
            .tx
            .send(Request::Append { request, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Every durable event of `stream`, in version order.
    pub fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_stream_range(stream, 1, usize::MAX)
    }

    /// Up to `limit` durable events of `stream` from version `from_version`
    /// (inclusive), in version order.
    pub fn read_stream_range(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.check_poisoned()?;
        if stream.len() > STREAM_NAME_BYTES_MAX {
            return Ok(Vec::new());
        }
        let head = self.head().position;
        guarded("reading a stream", || {
            self.read_stream_under(stream, from_version, limit, head)
        })
    }

    fn read_stream_under(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
        head: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let db = &self.inner.shared.db;
        let mut events = Vec::new();
        let range =
            keys::stream_key(stream, from_version.max(1))..=keys::stream_key(stream, u64::MAX);
        for entry in db.range(range).take(limit) {
            let (key, value) = entry?;
            let version = keys::parse_stream_key(&key).map_or(0, |(_, v)| v);
            let Some(position) = keys::parse_position_value(&value) else {
                return Err(index_fault(stream, version, None));
            };
            if position > head {
                break; // written by a commit that is not durable yet
            }
            let event = read_entry(db, position)?;
            if event.stream != stream || event.version != version {
                return Err(index_fault(stream, version, Some(position)));
            }
            events.push(event);
        }
        Ok(events)
    }

    /// The durable version of `stream`; 0 if it has no events.
    pub fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        self.check_poisoned()?;
        if stream.len() > STREAM_NAME_BYTES_MAX {
            return Ok(0);
        }
        let head = self.head().position;
        guarded("reading a stream version", || {
            self.stream_version_under(stream, head)
        })
    }

    fn stream_version_under(&self, stream: &str, head: u64) -> Result<u64, StoreError> {
        // Positions grow with versions: the last index entry at or under the
        // head is the durable version (normally the very last one).
        for entry in self
            .inner
            .shared
            .db
            .scan_prefix(keys::stream_prefix(stream))
            .rev()
        {
            let (key, value) = entry?;
            let version = keys::parse_stream_key(&key).map_or(0, |(_, v)| v);
            let Some(position) = keys::parse_position_value(&value) else {
                return Err(index_fault(stream, version, None));
            };
            if position <= head {
                return Ok(version);
            }
        }
        Ok(0)
    }

    /// Up to `limit` durable events from `from_position` (inclusive; 0 reads
    /// from 1), in position order.
    pub fn read_from(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_entries_from(from_position, limit, |position, bytes| {
            decode_entry(position, &bytes)
        })
    }

    /// [`Store::read_from`], undecoded: each entry's bytes as sled holds
    /// them, to be decoded by the reader ([`StoredEvent::read`]).
    pub fn read_stored_from(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_entries_from(from_position, limit, |position, bytes| {
            Ok(StoredEvent::new(position, bytes))
        })
    }

    fn read_entries_from<T>(
        &self,
        from_position: u64,
        limit: usize,
        entry: impl FnMut(u64, sled::IVec) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.check_poisoned()?;
        let head = self.head().position;
        let from = from_position.max(1);
        if from > head || limit == 0 {
            return Ok(Vec::new());
        }
        guarded("reading the log", || {
            self.read_from_under(from, limit, head, entry)
        })
    }

    fn read_from_under<T>(
        &self,
        from: u64,
        limit: usize,
        head: u64,
        mut entry: impl FnMut(u64, sled::IVec) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let count = usize::try_from(head - from + 1).map_or(limit, |n| n.min(limit));
        let mut events = Vec::with_capacity(count.min(crate::SUBSCRIPTION_BATCH_MAX));
        let range = keys::log_key(from)..=keys::log_key(head);
        for read in self.inner.shared.db.range(range).take(count) {
            let (key, value) = read?;
            let expected = from + events.len() as u64;
            if keys::parse_log_key(&key) != Some(expected) {
                return Err(StoreError::Corrupt {
                    position: expected,
                    reason: FaultReason::Gap,
                });
            }
            events.push(entry(expected, value)?);
        }
        if events.len() < count {
            let position = from + events.len() as u64;
            return Err(StoreError::Corrupt {
                position,
                reason: FaultReason::Gap,
            });
        }
        Ok(events)
    }

    /// The durable head.
    pub fn head(&self) -> Head {
        *lock(&self.inner.shared.head)
    }

    /// Events from `from_position` (inclusive; 0 reads from 1): first what
    /// the log holds, then each new commit as it becomes durable.
    pub fn subscribe(&self, from_position: u64) -> Subscription {
        Subscription::new(self.clone(), from_position.max(1), self.watch_head())
    }

    /// The durable head position, updated after each commit. Closed when the
    /// writer stops.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head_rx.clone()
    }

    /// The record stored for `key`, unless absent, expired at `now`
    /// (recorded time + `IDEMPOTENCY_TTL`), or not durable yet.
    pub fn idempotency_record(
        &self,
        key: &[u8],
        now_unix_nanos: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.check_poisoned()?;
        let head = self.head().position;
        let db = &self.inner.shared.db;
        let record = guarded("reading an idempotency record", || {
            read_idempotency_raw(db, key)
        })?;
        Ok(record.filter(|r| {
            r.last_position <= head && !is_expired(r.recorded_at_unix_nanos, now_unix_nanos)
        }))
    }

    /// A unique number, greater than every number handed out before by this
    /// folder, even across crashes (numbers skipped by a crash are never
    /// handed out). Every `SEQUENCE_BLOCK` calls, one call reserves the next
    /// block durably (a sled insert and an `fdatasync`) on the blocking
    /// pool, and the calls behind it wait for it without holding a runtime
    /// worker: with the `fdatasync` on a worker, a server on two workers
    /// lost half its request capacity for the length of a disk flush.
    ///
    /// The one write outside the writer thread: the `Q` key is touched by
    /// nothing else, and the block is durable before any number of it is
    /// handed out.
    pub async fn next_sequence(&self) -> Result<u64, StoreError> {
        self.check_poisoned()?;
        let mut block = self.inner.sequence.lock().await;
        if block.next == block.end {
            let end = block.end + SEQUENCE_BLOCK;
            let shared = self.inner.shared.clone();
            tokio::task::spawn_blocking(move || {
                shared.db.insert(keys::SEQUENCE, &end.to_be_bytes())?;
                shared.make_durable().map(|_| ())
            })
            .await
            .map_err(|error| StoreError::Io(std::io::Error::other(error.to_string())))??;
            block.end = end;
        }
        let number = block.next;
        block.next += 1;
        assert!(block.next <= block.end);
        Ok(number)
    }

    /// Checks the whole log; see `verify.rs`. sled panics while reading a
    /// corrupt page are caught and returned as errors.
    pub fn verify(&self, progress: &mut dyn FnMut(u64)) -> Result<VerifyReport, StoreError> {
        self.check_poisoned()?;
        let db = &self.inner.shared.db;
        // Read before the head: the watermark never passes the durable head.
        let watermark = Watermark::read(&self.inner.dir)?;
        let published = || self.head();
        catch_unwind(AssertUnwindSafe(|| {
            crate::verify::verify(db, watermark, &published, progress)
        }))
        .map_err(|panic| sled_panicked("verifying", panic))?
    }

    /// Installs the function told about every later commit (metrics).
    /// Only the first call installs one; it returns `false` after that.
    pub fn observe_commits(&self, observer: CommitObserver) -> bool {
        self.inner.shared.observer.set(observer).is_ok()
    }

    /// What the writer has done since opening.
    pub fn stats(&self) -> WriterStats {
        let shared = &self.inner.shared;
        WriterStats {
            commits: shared.commits.load(Ordering::Relaxed),
            appends: shared.appends.load(Ordering::Relaxed),
            events: shared.events.load(Ordering::Relaxed),
            stage_nanos: shared.stage_nanos.load(Ordering::Relaxed),
            apply_nanos: shared.apply_nanos.load(Ordering::Relaxed),
            flush_nanos: shared.flush_nanos.load(Ordering::Relaxed),
            sync_nanos: shared.sync_nanos.load(Ordering::Relaxed),
        }
    }

    /// The folder the store was opened on.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Stops the writer after it has committed every request queued before
    /// this call (later ones get `Closed`), then flushes and syncs sled.
    /// Blocks the calling thread. Other handles stay readable; the folder is
    /// unlocked when the last handle is gone.
    pub fn close(self) -> Result<(), StoreError> {
        self.inner.stop_writer();
        let shared = &self.inner.shared;
        if shared.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        shared.make_durable().map(|_| ())
    }

    #[cfg(test)]
    pub(crate) fn db(&self) -> &sled::Db {
        &self.inner.shared.db
    }

    pub(crate) fn check_poisoned(&self) -> Result<(), StoreError> {
        if self.inner.shared.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        Ok(())
    }
}

impl Shared {
    /// sled's `flush()` (pwrite + `sync_file_range`, which neither flushes
    /// the drive cache nor commits metadata) and then `fdatasync` of sled's
    /// data file. A failure poisons the store: after a failed `fdatasync`
    /// the kernel may have dropped dirty pages of *other* writes too, so no
    /// later sync can vouch for them.
    /// Returns the time the flush and the sync took together.
    pub(crate) fn make_durable(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        let synced = self.db.flush().map_err(StoreError::from).and_then(|_| {
            let flushed = Instant::now();
            add_nanos(&self.flush_nanos, flushed - started);
            let synced = self.data_file.sync_data().map_err(StoreError::from);
            add_nanos(&self.sync_nanos, flushed.elapsed());
            synced
        });
        if let Err(e) = &synced {
            self.poisoned.store(true, Ordering::Release);
            tracing::error!(error = %e, "event store flush or fdatasync failed; store poisoned");
        }
        synced.map(|()| started.elapsed())
    }
}

impl Inner {
    /// Queues a close behind every waiting request and joins the writer.
    fn stop_writer(&self) {
        let Some(handle) = lock(&self.writer).take() else {
            return;
        };
        // `blocking_send` panics inside a runtime and `close` is sync, so
        // retry `try_send`: the queue drains while the writer commits.
        let (reply, _done) = oneshot::channel();
        let mut request = Request::Close { reply };
        loop {
            match self.tx.try_send(request) {
                Ok(()) => break,
                Err(mpsc::error::TrySendError::Full(back)) => {
                    request = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
        if handle.join().is_err() {
            // The writer asserts its invariants; a failed assertion is a bug
            // and must not be papered over as a clean close.
            self.shared.poisoned.store(true, Ordering::Release);
            tracing::error!("event store writer thread panicked");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Join the writer so that sled's files are released when the last
        // handle goes, and a reopen in this process finds them unlocked.
        self.stop_writer();
    }
}

/// Checks an append request against the limits before it is queued.
fn validate(request: &AppendRequest) -> Result<(), StoreError> {
    let invalid = |why: String| Err(StoreError::InvalidRequest(why));
    if request.streams.is_empty() {
        return invalid("no streams".into());
    }
    if request.streams.len() > APPEND_STREAMS_MAX {
        return invalid(format!("more than {APPEND_STREAMS_MAX} streams"));
    }
    if request.event_count() > APPEND_EVENTS_MAX {
        return invalid(format!("more than {APPEND_EVENTS_MAX} events"));
    }
    if request.byte_size() > REQUEST_BYTES_MAX {
        return invalid(format!("more than {REQUEST_BYTES_MAX} bytes"));
    }
    for (i, append) in request.streams.iter().enumerate() {
        if append.stream.is_empty() || append.stream.len() > STREAM_NAME_BYTES_MAX {
            return invalid(format!(
                "stream name must have 1 to {STREAM_NAME_BYTES_MAX} bytes"
            ));
        }
        if append.events.is_empty() {
            return invalid(format!("stream {} has no events", append.stream));
        }
        if request.streams[..i]
            .iter()
            .any(|a| a.stream == append.stream)
        {
            return invalid(format!("stream {} appears twice", append.stream));
        }
    }
    if let Some(idempotency) = &request.idempotency {
        if idempotency.key.is_empty() || idempotency.key.len() > IDEMPOTENCY_KEY_BYTES_MAX {
            return invalid(format!(
                "idempotency key must have 1 to {IDEMPOTENCY_KEY_BYTES_MAX} bytes"
            ));
        }
    }
    Ok(())
}

pub(crate) fn add_nanos(total: &AtomicU64, elapsed: Duration) {
    let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
    total.fetch_add(nanos, Ordering::Relaxed);
}

/// Runs a read, turning a sled panic (it panics on some corrupt trees,
/// "fucked up tree traversal") into an error.
fn guarded<T>(
    during: &'static str,
    read: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    catch_unwind(AssertUnwindSafe(read)).map_err(|panic| sled_panicked(during, panic))?
}

/// The entry at `position`, which must exist.
pub(crate) fn read_entry(db: &sled::Db, position: u64) -> Result<RecordedEvent, StoreError> {
    match db.get(keys::log_key(position))? {
        Some(bytes) => decode_entry(position, &bytes),
        None => Err(StoreError::Corrupt {
            position,
            reason: FaultReason::Gap,
        }),
    }
}

pub(crate) fn decode_entry(position: u64, bytes: &[u8]) -> Result<RecordedEvent, StoreError> {
    decode_entry_in_place(position, bytes).map(|stored| record::to_recorded(&stored))
}

/// The entry stored at `position`, its envelope borrowed from `bytes`:
/// `Corrupt` if they do not decode or name another position.
pub(crate) fn decode_entry_in_place(
    position: u64,
    bytes: &[u8],
) -> Result<record::StoredRecord<'_>, StoreError> {
    let stored = record::decode_stored(bytes).map_err(|e| StoreError::Corrupt {
        position,
        reason: FaultReason::Undecodable {
            detail: e.to_string(),
        },
    })?;
    if stored.envelope.position != position {
        return Err(StoreError::Corrupt {
            position,
            reason: FaultReason::PositionMismatch {
                recorded: stored.envelope.position,
            },
        });
    }
    Ok(stored)
}

/// The record sled holds for `key`, expired or not (no head check).
pub(crate) fn read_idempotency_raw(
    db: &sled::Db,
    key: &[u8],
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let Some(bytes) = db.get(keys::idempotency_key(key))? else {
        return Ok(None);
    };
    let record = record::decode_idempotency(&bytes).map_err(|e| StoreError::Corrupt {
        position: 0,
        reason: FaultReason::Undecodable {
            detail: format!("idempotency record: {e}"),
        },
    })?;
    Ok(Some(record))
}

/// Expired once `IDEMPOTENCY_TTL` has passed since it was recorded.
pub(crate) fn is_expired(recorded_at_unix_nanos: i64, now_unix_nanos: i64) -> bool {
    let ttl_nanos = IDEMPOTENCY_TTL.as_nanos() as i64;
    now_unix_nanos.saturating_sub(recorded_at_unix_nanos) >= ttl_nanos
}

fn index_fault(stream: &str, version: u64, points_to: Option<u64>) -> StoreError {
    StoreError::Corrupt {
        position: points_to.unwrap_or(0),
        reason: FaultReason::IndexMismatch {
            stream: stream.to_owned(),
            version,
            points_to,
        },
    }
}

/// A poisoned mutex means a panic while holding it; the data it guards (a
/// head or a sequence block) is still a consistent value.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
