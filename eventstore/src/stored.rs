//! Log entries handed over undecoded, for readers that decode elsewhere.

use crate::error::StoreError;
use crate::record::{self, GENESIS_HASH};
use crate::store::{decode_entry, decode_entry_in_place};
use crate::types::RecordedEvent;

/// A log entry as stored: its position and its bytes, shared with sled's
/// page cache instead of copied. The projections' feed reads these and
/// decodes them on other threads ([`StoredEvent::read`]): building an
/// owned [`RecordedEvent`] per entry (seven allocations and a payload copy)
/// cost a large share of reading the log, and most of it was dropped
/// unread (`docs/benchmarks.md`, "Rebuild").
#[derive(Debug, Clone)]
pub struct StoredEvent {
    position: u64,
    bytes: sled::IVec,
}

/// The fields of a stored entry a consumer of the log needs, borrowed from
/// its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// Its place in the log.
    pub position: u64,
    /// The stream it belongs to.
    pub stream: &'a str,
    /// Its place in the stream.
    pub version: u64,
    /// The payload's type.
    pub event_type: &'a str,
    /// The version of the payload's shape.
    pub schema_version: u16,
    /// When the event was recorded, by the appender's clock, in unix nanoseconds.
    pub recorded_at_unix_nanos: i64,
    /// The event's bytes.
    pub payload: &'a [u8],
}

impl StoredEvent {
    pub(crate) fn new(position: u64, bytes: sled::IVec) -> StoredEvent {
        StoredEvent { position, bytes }
    }

    /// The entry's bytes for `event`, chained to the genesis hash: for
    /// feeds of events held in memory (tools, tests). Nothing reading a
    /// feed checks the chain; `verify` does, on the log.
    pub fn from_recorded(event: &RecordedEvent) -> StoredEvent {
        StoredEvent {
            position: event.position,
            bytes: record::encode(event, &GENESIS_HASH).into(),
        }
    }

    /// An entry as another replica of the log carries it (JetStream):
    /// reading checks it like one read from sled.
    pub fn from_bytes(position: u64, bytes: &[u8]) -> StoredEvent {
        StoredEvent {
            position,
            bytes: bytes.into(),
        }
    }

    /// The entry's bytes as stored: envelope, payload and chain hash.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The log position it was read at.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Decodes the envelope, without copying. The same checks as reading
    /// a [`RecordedEvent`]: `Corrupt` if the bytes do not decode or name
    /// another position.
    pub fn read(&self) -> Result<EventRef<'_>, StoreError> {
        let envelope = decode_entry_in_place(self.position, &self.bytes)?.envelope;
        Ok(EventRef {
            position: envelope.position,
            stream: envelope.stream,
            version: envelope.version,
            event_type: envelope.event_type,
            schema_version: envelope.schema_version,
            recorded_at_unix_nanos: envelope.recorded_at_unix_nanos,
            payload: envelope.payload,
        })
    }

    /// The whole entry, owned.
    pub fn to_recorded(&self) -> Result<RecordedEvent, StoreError> {
        decode_entry(self.position, &self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FaultReason;
    use crate::types::EnvelopeActor;
    use uuid::Uuid;

    fn event(position: u64) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: "ticket-1".to_owned(),
            version: 3,
            event_id: Uuid::from_u128(7),
            event_type: "comment_added".to_owned(),
            schema_version: 2,
            recorded_at_unix_nanos: -5,
            actor: EnvelopeActor::default(),
            correlation_id: Uuid::from_u128(8),
            causation_id: None,
            idempotency_key: Some("k".to_owned()),
            payload: vec![1, 2, 3],
            hash: [0; 32],
        }
    }

    #[test]
    fn reads_the_fields_it_was_encoded_with() {
        let stored = StoredEvent::from_recorded(&event(42));
        assert_eq!(
            stored.read().expect("reads"),
            EventRef {
                position: 42,
                stream: "ticket-1",
                version: 3,
                event_type: "comment_added",
                schema_version: 2,
                recorded_at_unix_nanos: -5,
                payload: &[1, 2, 3],
            }
        );
        let recorded = stored.to_recorded().expect("decodes");
        assert_eq!(
            RecordedEvent {
                hash: [0; 32],
                ..recorded
            },
            event(42)
        );
    }

    #[test]
    fn corrupt_bytes_and_a_wrong_position_are_errors_naming_the_position() {
        let moved = StoredEvent {
            position: 9,
            ..StoredEvent::from_recorded(&event(42))
        };
        assert!(matches!(
            moved.read(),
            Err(StoreError::Corrupt {
                position: 9,
                reason: FaultReason::PositionMismatch { recorded: 42 }
            })
        ));
        let mut bytes = StoredEvent::from_recorded(&event(42)).bytes.to_vec();
        bytes.truncate(bytes.len() / 2);
        let cut = StoredEvent::new(42, bytes.into());
        assert!(matches!(
            cut.read(),
            Err(StoreError::Corrupt {
                position: 42,
                reason: FaultReason::Undecodable { .. }
            })
        ));
        assert!(cut.to_recorded().is_err());
    }
}
