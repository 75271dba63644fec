//! Opening a folder: the lock, sled (which may panic on a corrupt file),
//! and the O(1) checks of the head record, the watermark and the sequence.

use std::fs::{File, OpenOptions, TryLockError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::error::{FaultReason, StoreError};
use crate::keys;
use crate::record::{self, GENESIS_HASH};
use crate::store::read_entry;
use crate::types::Head;
use crate::SLED_CACHE_BYTES;

/// `std::fs::File::try_lock` on `<dir>/LOCK`: sled locks its own file too,
/// but its error does not say what happened.
pub(crate) fn lock_folder(dir: &Path) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.join("LOCK"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::InUse {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(StoreError::Io(e)),
    }
}

/// sled may panic on a corrupt file instead of returning an error.
pub(crate) fn open_sled(dir: &Path) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new()
        .path(dir)
        .cache_capacity(SLED_CACHE_BYTES);
    let opened = catch_unwind(AssertUnwindSafe(|| config.open()))
        .map_err(|panic| sled_panicked("opening", panic))?;
    Ok(opened?)
}

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

/// The head record, checked against the entry it names and the absence of
/// the next one (two point reads: open stays O(1) in the log size).
pub(crate) fn read_head(db: &sled::Db) -> Result<Head, StoreError> {
    let Some(bytes) = db.get(keys::HEAD)? else {
        // No head: the log must be empty (a fresh folder).
        let first = db.scan_prefix([keys::LOG]).next().transpose()?;
        return match first {
            None => Ok(Head {
                position: 0,
                hash: GENESIS_HASH,
            }),
            Some((key, _)) => Err(StoreError::Corrupt {
                position: keys::parse_log_key(&key).unwrap_or(0),
                reason: FaultReason::HeadMismatch {
                    head_position: None,
                    last_position: 0,
                },
            }),
        };
    };
    let head_fault = |head_position, last_position| StoreError::Corrupt {
        position: last_position,
        reason: FaultReason::HeadMismatch {
            head_position,
            last_position,
        },
    };
    let Some((position, hash)) = record::decode_head(&bytes) else {
        return Err(head_fault(None, 0));
    };
    if position > 0 {
        let entry = read_entry(db, position)?;
        if entry.hash != hash {
            return Err(head_fault(Some(position), position));
        }
    }
    if db.get(keys::log_key(position + 1))?.is_some() {
        return Err(head_fault(Some(position), position + 1));
    }
    Ok(Head { position, hash })
}

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
