//! The watermark: a position and hash the log is known to have reached
//! durably, kept outside sled in `<dir>/WATERMARK`.
//!
//! Why: sled stops recovery at the first message whose CRC fails and
//! silently drops everything after it. One flipped byte at the start of
//! `db` reopens an 800-event store as an empty, perfectly consistent one
//! (its head record is dropped with the log), which nothing inside sled can
//! tell from the truth. Opening checks that the log reaches the watermark
//! and holds its hash there, and refuses the folder otherwise.
//!
//! Cost: the writer rewrites it at open, after a commit when the last
//! rewrite is older than `WATERMARK_INTERVAL` (after answering that commit,
//! so no append waits for it), and when it stops: at most ~1 extra
//! `fdatasync`/s. So after a clean close it names the last entry, and after
//! a crash it trails the head by at most the commits made within
//! `WATERMARK_INTERVAL` of its last rewrite: a truncation reaching below it
//! is refused, one within that last stretch is not seen.
//!
//! Format: two 64-byte slots written alternately (`pwrite` + `fdatasync`),
//! each `magic, format, counter, position, hash, checksum`; the valid slot
//! with the higher counter wins, so a write torn by a crash leaves the other
//! one. The file is created with both slots valid.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{FaultReason, StoreError};
use crate::record::{GENESIS_HASH, HASH_BYTES};
use crate::types::Head;

/// How stale the watermark may get while the writer runs.
pub(crate) const WATERMARK_INTERVAL: Duration = Duration::from_secs(1);

const FILE_NAME: &str = "WATERMARK";
const MAGIC: &[u8; 4] = b"DKWM";
const FORMAT_V1: u8 = 1;
const SLOT_BYTES: usize = 64;
const CHECKSUM_BYTES: usize = 8;

pub(crate) struct Watermark {
    file: File,
    counter: u64,
    written: Head,
    written_at: Instant,
}

impl Watermark {
    /// Opens (or creates, durably) the watermark file and reads it.
    pub(crate) fn open(dir: &Path) -> Result<Watermark, StoreError> {
        let path = dir.join(FILE_NAME);
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Self::create(dir),
            Err(e) => return Err(e.into()),
        };
        let mut bytes = [0u8; 2 * SLOT_BYTES];
        let read = read_up_to(&file, &mut bytes)?;
        let (counter, written) = newest_slot(&bytes[..read])?;
        Ok(Watermark {
            file,
            counter,
            written,
            written_at: Instant::now(),
        })
    }

    /// The watermark of a store open elsewhere in this process (read only).
    pub(crate) fn read(dir: &Path) -> Result<Head, StoreError> {
        let file = File::open(dir.join(FILE_NAME))?;
        let mut bytes = [0u8; 2 * SLOT_BYTES];
        let read = read_up_to(&file, &mut bytes)?;
        newest_slot(&bytes[..read]).map(|(_, head)| head)
    }

    fn create(dir: &Path) -> Result<Watermark, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join(FILE_NAME))?;
        let empty = Head {
            position: 0,
            hash: GENESIS_HASH,
        };
        let mut bytes = [0u8; 2 * SLOT_BYTES];
        bytes[..SLOT_BYTES].copy_from_slice(&encode_slot(0, &empty));
        bytes[SLOT_BYTES..].copy_from_slice(&encode_slot(1, &empty));
        file.write_all_at(&bytes, 0)?;
        file.sync_all()?;
        File::open(dir)?.sync_all()?;
        Ok(Watermark {
            file,
            counter: 1,
            written: empty,
            written_at: Instant::now(),
        })
    }

    /// What the file says the log reached.
    pub(crate) fn head(&self) -> Head {
        self.written
    }

    /// Records `head`, which must be durable, if it moved.
    pub(crate) fn write(&mut self, head: Head) -> std::io::Result<()> {
        if head == self.written {
            return Ok(());
        }
        assert!(
            head.position >= self.written.position,
            "the watermark only rises"
        );
        let counter = self.counter + 1;
        let slot = counter % 2;
        self.file
            .write_all_at(&encode_slot(counter, &head), slot * SLOT_BYTES as u64)?;
        self.file.sync_data()?;
        self.counter = counter;
        self.written = head;
        self.written_at = Instant::now();
        Ok(())
    }

    /// Writes `head` if the last write is older than `WATERMARK_INTERVAL`.
    pub(crate) fn write_if_due(&mut self, head: Head) -> std::io::Result<()> {
        if self.written_at.elapsed() < WATERMARK_INTERVAL {
            return Ok(());
        }
        self.write(head)
    }
}

/// `(counter, head)` of the valid slot with the highest counter.
pub(crate) fn newest_slot(bytes: &[u8]) -> Result<(u64, Head), StoreError> {
    bytes
        .chunks(SLOT_BYTES)
        .filter_map(decode_slot)
        .max_by_key(|(counter, _)| *counter)
        .ok_or(StoreError::Corrupt {
            position: 0,
            reason: FaultReason::WatermarkUnreadable,
        })
}

fn read_up_to(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut read = 0;
    while read < buf.len() {
        match file.read_at(&mut buf[read..], read as u64) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(read)
}

pub(crate) fn encode_slot(counter: u64, head: &Head) -> [u8; SLOT_BYTES] {
    let mut slot = [0u8; SLOT_BYTES];
    slot[..4].copy_from_slice(MAGIC);
    slot[4] = FORMAT_V1;
    slot[8..16].copy_from_slice(&counter.to_be_bytes());
    slot[16..24].copy_from_slice(&head.position.to_be_bytes());
    slot[24..24 + HASH_BYTES].copy_from_slice(&head.hash);
    let checksum = checksum(&slot[..SLOT_BYTES - CHECKSUM_BYTES]);
    slot[SLOT_BYTES - CHECKSUM_BYTES..].copy_from_slice(&checksum);
    slot
}

/// `(counter, head)` of a valid slot.
fn decode_slot(slot: &[u8]) -> Option<(u64, Head)> {
    let slot: &[u8; SLOT_BYTES] = slot.try_into().ok()?;
    let (body, stored) = slot.split_at(SLOT_BYTES - CHECKSUM_BYTES);
    if &slot[..4] != MAGIC || slot[4] != FORMAT_V1 || checksum(body) != stored {
        return None;
    }
    let counter = u64::from_be_bytes(slot[8..16].try_into().ok()?);
    let position = u64::from_be_bytes(slot[16..24].try_into().ok()?);
    let hash = slot[24..24 + HASH_BYTES].try_into().ok()?;
    Some((counter, Head { position, hash }))
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let hash = blake3::hash(bytes);
    let mut out = [0u8; CHECKSUM_BYTES];
    out.copy_from_slice(&hash.as_bytes()[..CHECKSUM_BYTES]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_valid_slot_wins_and_a_torn_one_is_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut watermark = Watermark::open(dir.path()).expect("create");
        assert_eq!(watermark.head().position, 0);
        let five = Head {
            position: 5,
            hash: [5; 32],
        };
        let nine = Head {
            position: 9,
            hash: [9; 32],
        };
        watermark.write(five).expect("write");
        watermark.write(nine).expect("write");
        drop(watermark);
        assert_eq!(Watermark::open(dir.path()).expect("open").head(), nine);

        // Tear the newest slot: the older one is used.
        let path = dir.path().join(FILE_NAME);
        let mut bytes = std::fs::read(&path).expect("read");
        let newest = SLOT_BYTES; // counter 3 (odd: slot 1) holds `nine`
        bytes[newest + 20] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(Watermark::open(dir.path()).expect("open").head(), five);

        // Both slots bad: refused.
        bytes[(1 - newest / SLOT_BYTES) * SLOT_BYTES] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        assert!(matches!(
            Watermark::open(dir.path()),
            Err(StoreError::Corrupt {
                reason: FaultReason::WatermarkUnreadable,
                ..
            })
        ));
    }
}
