//! Reading a data folder without modifying it: a private copy of its log.
//!
//! sled writes when it opens a folder (its recovery, its snapshot, and the
//! store's `LOCK` file), so the tool never opens the folder it is given. It
//! copies `<data-dir>/log` (sled's `conf`, `db`, `blobs/` and `snap.*`; not
//! the `LOCK` file) into a new temporary folder (under `$TMPDIR` if set,
//! else in `/dev/shm` when it fits in memory, else under `/tmp`), opens the
//! copy with `Store::open`, and removes the copy when it exits, also on
//! Ctrl-C or SIGTERM. At the end it deletes the copy without closing the
//! store on it (`Source::discard`): there is nothing in it to keep.
//!
//! Cost: one sequential copy of the log, ~0.6-1 KB on disk per event (a
//! 1M-event log is ~1 GB), done in the kernel (`copy_file_range`) at disk or
//! page-cache speed; the folder needs that much free space.
//!
//! A running `docketd` may write while the copy is taken: sled's recovery of
//! the copy then drops a torn last commit, and the results reflect the
//! moment of the copy. The tool checks the locks a writer holds
//! (`docketd.lock`, and the store's `log/LOCK`) and warns when one is held.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use docket_app::datadir::{self, LOCK_FILE_NAME};
use docket_eventstore::jetstream::JetStreamLog;
use docket_eventstore::{FaultReason, LogImport, Store, StoreError};

use crate::error::ReplayError;
use crate::progress;

/// Bytes a copied entry takes in the private folder, for choosing where to
/// make it before the stream is read (a log on disk: ~0.6-1 KB per event).
const STREAM_BYTES_PER_EVENT: u64 = 1024;
/// Entries read from the stream per batch.
const STREAM_BATCH: usize = 4096;

/// sled's lock file inside the log folder (held by whoever has it open); it
/// is not copied: the copy gets its own.
const STORE_LOCK_FILE_NAME: &str = "LOCK";

/// A folder shown to be a Docket data folder (it holds an event log).
pub struct DataFolder {
    root: PathBuf,
    log: PathBuf,
}

/// The event store opened on a private copy of a data folder's log.
pub struct Source {
    /// Declared first: closed before the copy it reads is removed.
    store: Store,
    copy: ScratchCopy,
}

impl DataFolder {
    /// `root`, if it is a Docket data folder; a clear error if not.
    pub fn find(root: &Path) -> Result<DataFolder, ReplayError> {
        let log = check_data_folder(root)?;
        Ok(DataFolder {
            root: root.to_owned(),
            log,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Warns on stderr if a process holds the folder (and so may be
    /// writing it while it is copied).
    pub fn warn_if_in_use(&self) {
        if let Some(lock) = held_lock(&self.root, &self.log) {
            eprintln!(
                "warning: {} is locked: a docketd (or another process) is writing {} now. \
                 docket-replay reads a point-in-time copy of the log taken while it is \
                 written: the results reflect that moment, and a commit torn by the copy is \
                 dropped. For a definitive answer, stop the server or run on a file-system \
                 snapshot of the folder.",
                lock.display(),
                self.root.display()
            );
        }
    }

    /// Copies the log to a private folder and opens the copy.
    pub fn open_copy(&self) -> Result<Source, ReplayError> {
        let bytes = tree_bytes(&self.log)?;
        let copy = ScratchCopy::new(&scratch_parent(bytes))?;
        let copy_log = copy.path().join("log");
        let spinner = progress::spinner(format!(
            "copying {} ({:.1} MB) to a private folder",
            self.log.display(),
            bytes as f64 / 1e6
        ));
        copy_tree(&self.log, &copy_log, Some(STORE_LOCK_FILE_NAME))?;
        spinner.finish_and_clear();
        let store = Store::open_for_scans(&copy_log)?;
        Ok(Source { store, copy })
    }
}

impl Source {
    /// Reads the log's copy on JetStream (`docketd --nats`) at `url` up to
    /// where the stream ends now into a private store folder (the entries
    /// as stored, see `LogImport`) and opens it: every subcommand then
    /// reads it as it reads a data folder's log.
    pub fn from_stream(url: &str) -> Result<Source, ReplayError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ReplayError::Runtime)?;
        let log = runtime.block_on(JetStreamLog::connect(url))?;
        let extent = runtime.block_on(log.extent())?;
        let head = extent.last;
        let copy = ScratchCopy::new(&scratch_parent(head.saturating_mul(STREAM_BYTES_PER_EVENT)))?;
        let copy_log = copy.path().join("log");
        let mut import = LogImport::create(&copy_log)?;
        let bar = progress::events(head, "reading the stream");
        // The consumer waits for messages that do not exist: a stream whose
        // first entries were removed, or that holds none of its range, is
        // refused before reading, and a read that the server says ended
        // below `head` stops (both are gaps, as in a log).
        if head > 0 && (extent.first > 1 || extent.messages == 0) {
            return Err(StoreError::Corrupt {
                position: 1,
                reason: FaultReason::Gap,
            }
            .into());
        }
        if head > 0 {
            runtime.block_on(async {
                let mut feed = log.subscribe(1).await?;
                while feed.next_position() <= head {
                    if feed.pending() == Some(0) {
                        return Err(StoreError::Corrupt {
                            position: feed.next_position(),
                            reason: FaultReason::Gap,
                        });
                    }
                    let wanted =
                        usize::try_from(head + 1 - feed.next_position()).unwrap_or(usize::MAX);
                    for entry in feed.next_stored_batch(wanted.min(STREAM_BATCH)).await? {
                        import.push(&entry)?;
                    }
                    bar.set_position(feed.next_position() - 1);
                }
                Ok::<(), StoreError>(())
            })?;
        }
        bar.finish_and_clear();
        import.finish()?;
        let store = Store::open_for_scans(&copy_log)?;
        Ok(Source { store, copy })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Removes the copy and lets the process exit without closing the store
    /// on it: sled's orderly shutdown would flush the copy that is about to
    /// be deleted and free its page table one node at a time (~0.3 s per
    /// million events). Call it last; the store's threads end with the
    /// process.
    pub fn discard(self) {
        let Source { store, copy } = self;
        drop(copy);
        std::mem::forget(store);
    }
}

/// The log folder of `root`, once `root` is shown to be a data folder.
fn check_data_folder(root: &Path) -> Result<PathBuf, ReplayError> {
    match fs::metadata(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReplayError::MissingFolder {
                path: root.to_owned(),
            })
        }
        Err(source) => {
            return Err(ReplayError::Read {
                path: root.to_owned(),
                source,
            })
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(not_a_data_folder(root, "it is not a folder".into()));
        }
        Ok(_) => {}
    }
    let log = datadir::log_dir(root);
    if holds_sled_files(&log) {
        return Ok(log);
    }
    let why = if holds_sled_files(root) {
        let parent = root.parent().unwrap_or(root);
        format!(
            "it holds an event log itself (sled's `db` and `conf`); pass the data folder \
             that contains it, {}",
            parent.display()
        )
    } else if !log.is_dir() {
        "it has no `log` folder (the event log)".to_owned()
    } else {
        "its `log` folder holds no event log (sled's `db` and `conf`)".to_owned()
    };
    Err(not_a_data_folder(root, why))
}

fn not_a_data_folder(root: &Path, why: String) -> ReplayError {
    ReplayError::NotADataFolder {
        path: root.to_owned(),
        why,
    }
}

fn holds_sled_files(dir: &Path) -> bool {
    dir.join("db").is_file() && dir.join("conf").is_file()
}

/// The first writer's lock file that another process holds, if any. A
/// writer holds it exclusively; the probe asks for a shared lock, so two
/// readers probing the same folder at once do not see each other as a
/// writer (they did, as a flaky warning in the tests). Our own lock is
/// released as soon as the file is dropped, and a lock file that does not
/// exist is left absent (opened read-only, never created).
fn held_lock(root: &Path, log: &Path) -> Option<PathBuf> {
    [root.join(LOCK_FILE_NAME), log.join(STORE_LOCK_FILE_NAME)]
        .into_iter()
        .find(|path| {
            File::open(path)
                .is_ok_and(|file| matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock)))
        })
}

/// Bytes of the regular files under `dir` (for the progress message).
fn tree_bytes(dir: &Path) -> Result<u64, ReplayError> {
    let read = |source| ReplayError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut bytes = 0;
    for entry in fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let kind = entry.file_type().map_err(read)?;
        if kind.is_dir() {
            bytes += tree_bytes(&entry.path())?;
        } else if kind.is_file() {
            bytes += entry.metadata().map_err(read)?.len();
        }
    }
    Ok(bytes)
}

/// Copies the files and folders under `from` into the new folder `to`,
/// leaving out the top-level file named `skip`. sled makes no symlinks or
/// special files; any such entry is not copied.
fn copy_tree(from: &Path, to: &Path, skip: Option<&str>) -> Result<(), ReplayError> {
    let copy_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ReplayError::Copy { path, source }
    };
    fs::create_dir(to).map_err(copy_error(to))?;
    for entry in fs::read_dir(from).map_err(copy_error(from))? {
        let entry = entry.map_err(copy_error(from))?;
        let name = entry.file_name();
        if skip.is_some_and(|skip| name == skip) {
            continue;
        }
        let source = entry.path();
        let target = to.join(&name);
        let kind = entry.file_type().map_err(copy_error(&source))?;
        if kind.is_dir() {
            copy_tree(&source, &target, None)?;
        } else if kind.is_file() {
            fs::copy(&source, &target).map_err(copy_error(&source))?;
        }
    }
    Ok(())
}

/// A RAM-backed file system for the scratch copy, when `$TMPDIR` is not set.
const SHARED_MEMORY_DIR: &str = "/dev/shm";

/// Where the scratch copy of a log of `log_bytes` goes: `$TMPDIR` when the
/// user set it; else `/dev/shm` when the copy fits in half of both its free
/// space and the memory available; else the system's temporary folder.
///
/// Why: the copy is written, read once and deleted. On disk its writeback
/// competes with the reads, which made the copy and sled's open about twice
/// as slow on disk as in `/dev/shm` (`docs/benchmarks.md`, "docket-replay");
/// in memory it costs RAM only while the tool runs.
fn scratch_parent(log_bytes: u64) -> PathBuf {
    if std::env::var_os("TMPDIR").is_some() {
        return std::env::temp_dir();
    }
    let shm = Path::new(SHARED_MEMORY_DIR);
    let fits = |free: Option<u64>| free.is_some_and(|free| log_bytes <= free / 2);
    if fits(free_bytes(shm)) && fits(memory_available_bytes()) {
        return shm.to_owned();
    }
    std::env::temp_dir()
}

/// Bytes an unprivileged user may still write under `path` (statvfs).
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated string and `stats` is a writable
    // statvfs that the call fills in whole when it returns 0.
    let stats = unsafe {
        if libc::statvfs(c_path.as_ptr(), stats.as_mut_ptr()) != 0 {
            return None;
        }
        stats.assume_init()
    };
    // `fsblkcnt_t` and `c_ulong` are u64 here, narrower on some targets.
    #[allow(clippy::useless_conversion)]
    let (blocks, block_size) = (
        u64::try_from(stats.f_bavail).ok()?,
        u64::try_from(stats.f_frsize).ok()?,
    );
    blocks.checked_mul(block_size)
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn memory_available_bytes() -> Option<u64> {
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// A temporary folder, removed on drop, and also when the process is
/// stopped by SIGINT or SIGTERM (which would skip destructors and leave a
/// copy of the whole log behind).
struct ScratchCopy {
    dir: tempfile::TempDir,
}

/// Scratch folders to remove if a signal stops the process.
static SCRATCH_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl ScratchCopy {
    fn new(parent: &Path) -> Result<ScratchCopy, ReplayError> {
        if let Err(detail) = remove_scratch_on_signal() {
            eprintln!(
                "warning: {detail}; an interrupted run may leave its copy under {}",
                parent.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("docket-replay-")
            .tempdir_in(parent)
            .map_err(|source| ReplayError::Copy {
                path: parent.to_owned(),
                source,
            })?;
        scratch_dirs().push(dir.path().to_owned());
        Ok(ScratchCopy { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for ScratchCopy {
    fn drop(&mut self) {
        scratch_dirs().retain(|dir| dir != self.dir.path());
        // `TempDir`'s own drop removes the folder.
    }
}

fn scratch_dirs() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A poisoned list is still a list of folders to remove.
    SCRATCH_DIRS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts (once) a thread that waits for SIGINT or SIGTERM, removes the
/// scratch folders and exits with 128 + the signal number. Returns once the
/// handlers are installed, so no copy exists before they are.
fn remove_scratch_on_signal() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(install_signal_thread).clone()
}

fn install_signal_thread() -> Result<(), String> {
    use tokio::signal::unix::{signal, SignalKind};

    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let spawned = std::thread::Builder::new()
        .name("docket-replay-signals".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start the signal thread: {e}")));
                    return;
                }
            };
            let code = runtime.block_on(async move {
                let handlers = signal(SignalKind::interrupt())
                    .and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
                let (mut interrupt, mut terminate) = match handlers {
                    Ok(handlers) => handlers,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot catch SIGINT/SIGTERM: {e}")));
                        return None;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    _ = interrupt.recv() => Some(128 + 2),
                    _ = terminate.recv() => Some(128 + 15),
                }
            });
            if let Some(code) = code {
                for dir in scratch_dirs().iter() {
                    let _ = fs::remove_dir_all(dir);
                }
                std::process::exit(code);
            }
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start the signal thread: {e}"));
    }
    ready_rx
        .recv()
        .unwrap_or_else(|_| Err("the signal thread stopped".into()))
}
