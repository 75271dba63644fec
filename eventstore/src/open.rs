//! Opening a folder: the lock, sled (which may panic on a corrupt file),
//! the O(1) checks of the head record, the watermark and the sequence, and
//! the removal of a group commit a crash left torn after the head.

use std::fs::{File, OpenOptions, TryLockError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{FaultReason, StoreError};
use crate::keys;
use crate::record::{self, GENESIS_HASH};
use crate::store::{read_entry, read_idempotency_raw};
use crate::types::Head;
use crate::{APPEND_BATCH_MAX, APPEND_EVENTS_MAX};

/// `std::fs::File::try_lock` on `<dir>/LOCK`: sled locks its own file too,
/// but its error does not say what happened.
///
/// A lock found taken is retried for up to [`FOLDER_LOCK_GRACE`] before
/// the folder is called in use: the lock belongs to the open file
/// description, and a child this process is spawning holds a copy of every
/// descriptor until its `exec`, so a store closed while another thread
/// spawns a process can stay locked for a moment after `close` returns (a
/// test reopening its store beside a spawning thread met exactly this).
pub(crate) fn lock_folder(dir: &Path) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.join("LOCK"))?;
    let deadline = Instant::now() + FOLDER_LOCK_GRACE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::InUse {
                    dir: dir.to_path_buf(),
                })
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::Io(e)),
        }
    }
}

/// How long [`lock_folder`] retries a lock found taken: far longer than a
/// spawn's fork-to-exec, short enough for a second server on the folder
/// to be told at once.
const FOLDER_LOCK_GRACE: Duration = Duration::from_secs(1);

/// sled may panic on a corrupt file instead of returning an error.
///
/// sled's I/O threads let go of the folder's file lock a moment after the
/// last handle is dropped, so a reopen right after a close (a restart in
/// the same process, a tool reopening a copy) can find it still locked:
/// retried for up to [`SLED_LOCK_WAIT`]. Whoever opens a store already
/// holds the folder's own lock, so nobody else is starting on it.
pub(crate) fn open_sled(dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new().path(dir).cache_capacity(cache_bytes);
    let deadline = Instant::now() + SLED_LOCK_WAIT;
    loop {
        let opened = catch_unwind(AssertUnwindSafe(|| config.open()))
            .map_err(|panic| sled_panicked("opening", panic))?;
        match opened {
            Err(sled::Error::Io(error))
                if error.to_string().starts_with("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            opened => return Ok(opened?),
        }
    }
}

/// How long [`open_sled`] waits for sled's file lock.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(10);

pub(crate) fn sled_panicked(
    during: &'static str,
    panic: Box<dyn std::any::Any + Send>,
) -> StoreError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_owned());
    StoreError::SledPanicked { during, message }
}

/// The head record, checked against the entry it names (one point read:
/// open stays O(1) in the log size). No record: the empty log's head.
pub(crate) fn read_head(db: &sled::Db) -> Result<Head, StoreError> {
    let Some(bytes) = db.get(keys::HEAD)? else {
        return Ok(Head {
            position: 0,
            hash: GENESIS_HASH,
        });
    };
    let Some((position, hash)) = record::decode_head(&bytes) else {
        return Err(head_fault(None, 0));
    };
    if position > 0 && read_entry(db, position)?.hash != hash {
        return Err(head_fault(Some(position), position));
    }
    Ok(Head { position, hash })
}

fn head_fault(head_position: Option<u64>, last_position: u64) -> StoreError {
    StoreError::Corrupt {
        position: last_position,
        reason: FaultReason::HeadMismatch {
            head_position,
            last_position,
        },
    }
}

/// Removes what a crash left of a group commit after the durable head (see
/// `writer.rs`): log entries past the head with their index keys, and the
/// idempotency records the group's pending-keys record names. Returns
/// whether it removed anything; the caller then makes the removal durable.
///
/// Refuses (`HeadMismatch`) what a crash cannot leave: a tail that reaches
/// back to the watermark (it was durable once), does not start right after
/// the head, has a gap, or is longer than a group; then the head record
/// itself is wrong. Each entry's index key goes before the entry, and the records
/// before the pending-keys record, so a crash during this removal leaves
/// what the next open finds and removes.
pub(crate) fn remove_torn_tail(
    db: &sled::Db,
    head: Head,
    watermark: Head,
) -> Result<bool, StoreError> {
    let first_after_head = head.position + 1;
    // Positions only: a torn tail is at most one group, but a wrong head
    // record could have any number of entries after it.
    let mut tail = Vec::new();
    for entry in db.range(keys::log_key(first_after_head)..=keys::log_key(u64::MAX)) {
        let (key, _) = entry?;
        tail.push(keys::parse_log_key(&key));
        if tail.len() > TORN_TAIL_MAX {
            break;
        }
    }
    let pending = match db.get(keys::PENDING_KEYS)? {
        None => None,
        Some(bytes) => {
            let (first_position, recorded) =
                record::decode_pending_keys(&bytes).map_err(|e| StoreError::Corrupt {
                    position: first_after_head,
                    reason: FaultReason::Undecodable {
                        detail: format!("pending idempotency keys record: {e}"),
                    },
                })?;
            (first_position > head.position).then_some((first_position, recorded))
        }
    };
    if tail.is_empty() && pending.is_none() {
        return Ok(false);
    }
    // What a crash can leave: the group right after the head, in position
    // order from its first entry, no longer than a group, never durable.
    let torn_commit = first_after_head > watermark.position
        && tail.len() <= TORN_TAIL_MAX
        && tail
            .iter()
            .zip(first_after_head..)
            .all(|(position, expected)| *position == Some(expected))
        && pending
            .as_ref()
            .is_none_or(|(first, _)| *first == first_after_head);
    if !torn_commit {
        let head_record_position = (head.position > 0).then_some(head.position);
        let first = match (tail.first(), &pending) {
            (Some(position), _) => position.unwrap_or(first_after_head),
            (None, Some((first, _))) => *first,
            (None, None) => first_after_head,
        };
        return Err(head_fault(head_record_position, first));
    }
    tracing::warn!(
        head = head.position,
        entries = tail.len(),
        "removing the torn tail of a group commit interrupted by a crash (never acknowledged)"
    );
    for position in tail.into_iter().flatten() {
        let entry = read_entry(db, position)?;
        let index_key = keys::stream_key(&entry.stream, entry.version);
        if db.get(&index_key)?.as_deref() == Some(&position.to_be_bytes()[..]) {
            db.remove(index_key)?;
        }
        db.remove(keys::log_key(position))?;
    }
    if let Some((_, recorded)) = pending {
        for (recorded_at_unix_nanos, key) in recorded {
            let torn = read_idempotency_raw(db, &key)?
                .is_some_and(|record| record.first_position > head.position);
            if torn {
                db.remove(keys::idempotency_key(&key))?;
                db.remove(keys::expiry_key(recorded_at_unix_nanos, &key))?;
            }
        }
        db.remove(keys::PENDING_KEYS)?;
    }
    Ok(true)
}

/// The most entries one group commit can hold.
const TORN_TAIL_MAX: usize = APPEND_BATCH_MAX * APPEND_EVENTS_MAX;

/// The log must reach the watermark and hold its hash there.
pub(crate) fn check_watermark(
    db: &sled::Db,
    head: Head,
    watermark: Head,
) -> Result<(), StoreError> {
    if watermark.position > head.position {
        return Err(StoreError::Corrupt {
            position: head.position + 1,
            reason: FaultReason::Truncated {
                watermark: watermark.position,
            },
        });
    }
    if watermark.position > 0 && read_entry(db, watermark.position)?.hash != watermark.hash {
        return Err(StoreError::Corrupt {
            position: watermark.position,
            reason: FaultReason::WatermarkMismatch,
        });
    }
    Ok(())
}

/// The first sequence number not yet reserved (numbers start at 1).
pub(crate) fn read_sequence(db: &sled::Db) -> Result<u64, StoreError> {
    match db.get(keys::SEQUENCE)? {
        None => Ok(1),
        Some(bytes) => keys::parse_position_value(&bytes).ok_or(StoreError::Corrupt {
            position: 0,
            reason: FaultReason::Undecodable {
                detail: "sequence record is not 8 bytes".into(),
            },
        }),
    }
}
