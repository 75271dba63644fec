//! A store folder built from a copy of a log held elsewhere (the entries as
//! stored, in position order: the JetStream stream), so that everything
//! that reads a log (docket-replay's history, verify, export, rebuild)
//! reads the copy exactly as it reads the log.
//!
//! The entries' bytes are kept as they are, chain hashes included: nothing
//! is re-encoded or re-hashed, so `verify` on the folder checks the copy's
//! own chain. Only the index keys (from each decodable entry's stream and
//! version) and the head record are derived. Idempotency records are not
//! part of the log's copy.

use std::path::Path;

use crate::error::{FaultReason, StoreError};
use crate::keys;
use crate::open::open_sled;
use crate::record::{self, GENESIS_HASH, HASH_BYTES};
use crate::store::decode_entry_in_place;
use crate::stored::StoredEvent;
use crate::SCAN_CACHE_BYTES;

/// Writes a store folder from entries in position order; open it with
/// [`crate::Store::open_for_scans`] once [`LogImport::finish`]ed.
pub struct LogImport {
    db: sled::Db,
    next_position: u64,
    last_hash: [u8; HASH_BYTES],
}

impl LogImport {
    /// Starts a store in `dir`, which must not hold one.
    pub fn create(dir: &Path) -> Result<LogImport, StoreError> {
        std::fs::create_dir_all(dir)?;
        if dir.join("db").exists() {
            return Err(StoreError::InvalidRequest(format!(
                "{} already holds a store: an import starts from nothing",
                dir.display()
            )));
        }
        Ok(LogImport {
            db: open_sled(dir, SCAN_CACHE_BYTES)?,
            next_position: 1,
            last_hash: GENESIS_HASH,
        })
    }

    /// Adds the entry at the next position (1 first; any other is a
    /// `Gap`). An entry that does not decode is kept as it is, without an
    /// index key, for `verify` to name.
    pub fn push(&mut self, entry: &StoredEvent) -> Result<(), StoreError> {
        let position = entry.position();
        if position != self.next_position {
            return Err(StoreError::Corrupt {
                position: self.next_position,
                reason: FaultReason::Gap,
            });
        }
        let bytes = entry.bytes();
        self.db.insert(keys::log_key(position), bytes)?;
        match decode_entry_in_place(position, bytes) {
            Ok(stored) => {
                self.db.insert(
                    keys::stream_key(stored.envelope.stream, stored.envelope.version),
                    &position.to_be_bytes()[..],
                )?;
                self.last_hash = stored.hash;
            }
            Err(_) => {
                let tail = bytes.len().saturating_sub(HASH_BYTES);
                self.last_hash = bytes[tail..].try_into().unwrap_or(GENESIS_HASH);
            }
        }
        self.next_position += 1;
        Ok(())
    }

    /// Writes the head record and flushes; the last position written.
    pub fn finish(self) -> Result<u64, StoreError> {
        let head = self.next_position - 1;
        if head > 0 {
            self.db
                .insert(keys::HEAD, &record::encode_head(head, &self.last_hash)[..])?;
        }
        self.db.flush()?;
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::tests::single;
    use crate::types::{ExpectedVersion, VerifyReport};

    #[tokio::test]
    async fn a_copy_imported_entry_by_entry_reads_and_verifies_as_the_log() {
        let original_dir = tempfile::tempdir().expect("temp dir");
        let original = Store::open(original_dir.path()).expect("open");
        for ticket in 0..5 {
            let stream = format!("ticket-{ticket}");
            original
                .append(single(&stream, ExpectedVersion::NoStream, &["a", "b", "c"]))
                .await
                .expect("append");
        }
        let entries = original.read_stored_from(1, 100).expect("read");
        assert_eq!(entries.len(), 15);

        let copy_dir = tempfile::tempdir().expect("temp dir");
        let mut import = LogImport::create(copy_dir.path()).expect("create");
        for entry in &entries {
            import.push(entry).expect("push");
        }
        assert_eq!(import.finish().expect("finish"), 15);
        let copy = Store::open_for_scans(copy_dir.path()).expect("open the copy");
        assert_eq!(copy.head(), original.head());
        assert_eq!(
            copy.read_from(1, 100).expect("read the copy"),
            original.read_from(1, 100).expect("read the log")
        );
        assert_eq!(
            copy.read_stream("ticket-3").expect("stream"),
            original.read_stream("ticket-3").expect("stream")
        );
        assert!(matches!(
            copy.verify(&mut |_| {}).expect("verify"),
            VerifyReport::Sound { .. }
        ));
    }

    #[test]
    fn an_entry_out_of_order_is_a_gap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut import = LogImport::create(dir.path()).expect("create");
        let entry = StoredEvent::from_bytes(2, b"anything");
        assert!(matches!(
            import.push(&entry),
            Err(StoreError::Corrupt {
                position: 1,
                reason: FaultReason::Gap
            })
        ));
    }
}
