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
    /// An idempotency record to write in the same commit, if the caller has a key.
    pub idempotency: Option<NewIdempotencyRecord>,
}

/// Events for one stream, with the version the caller expects it to be at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamAppend {
    /// The stream's name (such as `ticket-{uuid}`), at most
    /// `STREAM_NAME_BYTES_MAX` bytes.
    pub stream: String,
    /// The version the stream must be at, checked in the writer.
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
    /// The payload's type; the store does not interpret it.
    pub event_type: String,
    /// The version of the payload's shape; the store does not interpret it.
    pub schema_version: u16,
    /// When the event was recorded, by the caller's clock, in unix nanoseconds.
    pub recorded_at_unix_nanos: i64,
    /// Who caused the event.
    pub actor: EnvelopeActor,
    /// Ties together the events of one request; the caller chooses it.
    pub correlation_id: Uuid,
    /// The event that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// The key of the request that appended it, if it had one.
    pub idempotency_key: Option<String>,
    /// The event's bytes, as the caller encoded them.
    pub payload: Vec<u8>,
}

/// Who caused an event, as strings: the store does not interpret them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvelopeActor {
    /// The actor's id (the token's `sub`).
    pub sub: String,
    /// The actor's role.
    pub role: String,
    /// The orgs the actor spoke for (an org id or `*`).
    pub org: String,
}

/// The idempotency record to store with an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdempotencyRecord {
    /// The key, scoped by the caller; at most `IDEMPOTENCY_KEY_BYTES_MAX` bytes.
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
    /// What the first request's caller hashed of it.
    pub fingerprint: [u8; 32],
    /// The answer recorded with the first request.
    pub response: Vec<u8>,
    /// The position of the first event the first request appended.
    pub first_position: u64,
    /// The position of the last event the first request appended.
    pub last_position: u64,
    /// When it was recorded, by the caller's clock, in unix nanoseconds; it
    /// expires `IDEMPOTENCY_TTL` later.
    pub recorded_at_unix_nanos: i64,
}

/// The answer to an accepted append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The request's events are durable.
    Committed {
        /// The position of the request's first event.
        first_position: u64,
        /// The position of the request's last event.
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
    /// Its place in the log: gapless, from 1.
    pub position: u64,
    /// The stream it belongs to.
    pub stream: String,
    /// Its place in the stream: gapless, from 1.
    pub version: u64,
    /// UUID v7, chosen by the caller.
    pub event_id: Uuid,
    /// The payload's type, as appended.
    pub event_type: String,
    /// The version of the payload's shape, as appended.
    pub schema_version: u16,
    /// When the event was recorded, by the appender's clock, in unix nanoseconds.
    pub recorded_at_unix_nanos: i64,
    /// Who caused the event.
    pub actor: EnvelopeActor,
    /// Ties the events of one request together.
    pub correlation_id: Uuid,
    /// The event that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// The key of the request that appended it, if it had one.
    pub idempotency_key: Option<String>,
    /// The event's bytes, as appended.
    pub payload: Vec<u8>,
    /// `blake3(previous entry's hash || this entry's stored bytes without the hash)`.
    pub hash: [u8; 32],
}

/// The last durable entry: position 0 and a zero hash for an empty log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// The last entry's position; 0 for an empty log.
    pub position: u64,
    /// The last entry's chain hash; all zeros (`GENESIS_HASH`) for an empty log.
    pub hash: [u8; 32],
}

/// What `Store::verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReport {
    /// No fault found.
    Sound {
        /// Events in the log.
        events: u64,
        /// Streams with at least one event.
        streams: u64,
        /// The last entry's position and chain hash.
        head: Head,
    },
    /// The first fault, by position.
    Fault {
        /// Where the fault is.
        position: u64,
        /// What is wrong there.
        reason: FaultReason,
    },
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
