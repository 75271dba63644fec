//! The public request and answer types of the store (the agreed interface).

use std::fmt;

use uuid::Uuid;

use crate::error::FaultReason;

/// One append: events for one or more streams that land together or not at
/// all, optionally with an idempotency record written in the same commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendRequest {
    /// All land or none. A stream may appear once.
    pub streams: Vec<StreamAppend>,
    pub idempotency: Option<NewIdempotencyRecord>,
}

/// Events for one stream, with the version the caller expects it to be at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamAppend {
    pub stream: String,
    pub expected: ExpectedVersion,
    /// At least one.
    pub events: Vec<NewEvent>,
}

/// Optimistic concurrency: what the stream must look like before the append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist (version 0).
    NoStream,
    /// The stream must be exactly at this version (0 = no stream).
    Exact(u64),
}

/// An event to append. Everything but position, version and hash, which the
/// writer assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// UUID v7, chosen by the caller.
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    pub recorded_at_unix_nanos: i64,
    pub actor: EnvelopeActor,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub payload: Vec<u8>,
}

/// Who caused an event, as strings: the store does not interpret them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvelopeActor {
    pub sub: String,
    pub role: String,
    pub org: String,
}

/// The idempotency record to store with an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdempotencyRecord {
    pub key: Vec<u8>,
    /// What the caller hashed of its request, to tell a retry from a reuse.
    pub fingerprint: [u8; 32],
    /// The answer to replay on a retry.
    pub response: Vec<u8>,
    /// The caller's clock: expiry is `recorded_at + IDEMPOTENCY_TTL`, and the
    /// writer compares records against the newest such time it has seen.
    pub recorded_at_unix_nanos: i64,
}

/// A stored idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: [u8; 32],
    pub response: Vec<u8>,
    pub first_position: u64,
    pub last_position: u64,
    pub recorded_at_unix_nanos: i64,
}

/// The answer to an accepted append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    Committed {
        first_position: u64,
        last_position: u64,
        /// Per `StreamAppend`, in request order: the stream's version after.
        stream_versions: Vec<u64>,
    },
    /// The key was already recorded and has not expired: nothing appended.
    Duplicate(IdempotencyRecord),
}

/// A durable event with its envelope, as read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub position: u64,
    pub stream: String,
    pub version: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    pub recorded_at_unix_nanos: i64,
    pub actor: EnvelopeActor,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub payload: Vec<u8>,
    /// `blake3(previous entry's hash || this entry's stored bytes without the hash)`.
    pub hash: [u8; 32],
}

/// The last durable entry: position 0 and a zero hash for an empty log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    pub position: u64,
    pub hash: [u8; 32],
}

/// What `Store::verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReport {
    Sound {
        events: u64,
        streams: u64,
        head: Head,
    },
    /// The first fault, by position.
    Fault { position: u64, reason: FaultReason },
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(version) => write!(f, "{version}"),
        }
    }
}

impl ExpectedVersion {
    /// Whether a stream at `actual` (0 = no stream) satisfies the expectation.
    pub fn admits(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(expected) => actual == expected,
        }
    }
}

impl AppendRequest {
    /// Events over all streams.
    pub fn event_count(&self) -> usize {
        self.streams.iter().map(|s| s.events.len()).sum()
    }

    /// Payload, string and response bytes: what the request costs the batch.
    pub(crate) fn byte_size(&self) -> usize {
        let events: usize = self
            .streams
            .iter()
            .map(|s| s.stream.len() + s.events.iter().map(NewEvent::byte_size).sum::<usize>())
            .sum();
        let idempotency = self
            .idempotency
            .as_ref()
            .map_or(0, |i| i.key.len() + i.response.len());
        events + idempotency
    }
}

impl NewEvent {
    fn byte_size(&self) -> usize {
        self.event_type.len()
            + self.actor.sub.len()
            + self.actor.role.len()
            + self.actor.org.len()
            + self.idempotency_key.as_ref().map_or(0, String::len)
            + self.payload.len()
    }
}
