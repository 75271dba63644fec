//! The stored bytes of a log entry, and the hash chain over them.
//!
//! A stored record is `[FORMAT_V1] ++ postcard(EnvelopeV1) ++ hash[32]`, with
//! `hash = blake3(previous entry's hash || every byte before the hash)`; the
//! first entry chains to [`GENESIS_HASH`]. The hash is always computed over
//! the bytes as stored, never over a re-encoding: a decoder that accepts two
//! encodings of one value must not make two hashes agree.
//!
//! Public so that tools (and the corruption tests) can read and forge
//! entries; the store itself is the only writer of a live folder.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::{EnvelopeActor, IdempotencyRecord, RecordedEvent};

/// Format (schema) version byte of a stored record, envelope version 1.
pub const FORMAT_V1: u8 = 1;

/// Bytes of the chain hash at the end of a record.
pub const HASH_BYTES: usize = 32;

/// The hash the first entry chains to.
pub const GENESIS_HASH: [u8; HASH_BYTES] = [0; HASH_BYTES];

/// Why stored bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer bytes than a format byte and a hash.
    TooShort {
        /// The record's length in bytes.
        len: usize,
    },
    /// A format byte this build does not read.
    UnknownFormat {
        /// The record's first byte.
        format: u8,
    },
    /// The envelope does not decode.
    Postcard(postcard::Error),
    /// Bytes left between the envelope and the hash.
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::TooShort { len } => write!(f, "{len} bytes, too short for a record"),
            RecordError::UnknownFormat { format } => write!(f, "unknown format byte {format}"),
            RecordError::Postcard(e) => write!(f, "postcard: {e}"),
            RecordError::TrailingBytes { count } => write!(f, "{count} trailing bytes"),
        }
    }
}

/// The stored envelope, format version 1.
///
/// FROZEN: entries written with it must decode forever. Never reorder, add,
/// remove or retype a field; a change is a new struct, a new format byte and
/// a new arm in [`decode`]. Ids are raw `[u8; 16]` so the bytes do not depend
/// on `uuid`'s serde choices. Borrowed fields keep `verify` allocation-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EnvelopeV1<'a> {
    pub position: u64,
    pub stream: &'a str,
    pub version: u64,
    pub event_id: [u8; 16],
    pub recorded_at_unix_nanos: i64,
    #[serde(borrow)]
    pub actor: ActorV1<'a>,
    pub correlation_id: [u8; 16],
    pub causation_id: Option<[u8; 16]>,
    #[serde(borrow)]
    pub idempotency_key: Option<&'a str>,
    pub event_type: &'a str,
    pub schema_version: u16,
    pub payload: &'a [u8],
}

/// FROZEN with [`EnvelopeV1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ActorV1<'a> {
    pub sub: &'a str,
    pub role: &'a str,
    pub org: &'a str,
}

/// A decoded record that still borrows the stored bytes.
#[derive(Debug)]
pub(crate) struct StoredRecord<'a> {
    pub envelope: EnvelopeV1<'a>,
    /// Every byte before the hash: what the hash covers.
    pub hashed: &'a [u8],
    pub hash: [u8; HASH_BYTES],
}

/// The stored idempotency record, format version 1. FROZEN like
/// [`EnvelopeV1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IdempotencyV1<'a> {
    fingerprint: [u8; 32],
    response: &'a [u8],
    first_position: u64,
    last_position: u64,
    recorded_at_unix_nanos: i64,
}

/// The idempotency keys a group commit records, written before any other
/// key of the group (format version 1, FROZEN). After a crash, the torn tail
/// of a group can only be found through its log entries and this record:
/// the idempotency table is keyed by opaque caller keys, not positions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PendingKeysV1<'a> {
    first_position: u64,
    #[serde(borrow)]
    keys: Vec<PendingKeyV1<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PendingKeyV1<'a> {
    recorded_at_unix_nanos: i64,
    key: &'a [u8],
}

/// `blake3(prev_hash || hashed)`.
pub fn chain_hash(prev_hash: &[u8; HASH_BYTES], hashed: &[u8]) -> [u8; HASH_BYTES] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(prev_hash);
    hasher.update(hashed);
    *hasher.finalize().as_bytes()
}

/// The stored bytes of `event` chained to `prev_hash`; `event.hash` is
/// ignored (the returned bytes end with the computed one).
pub fn encode(event: &RecordedEvent, prev_hash: &[u8; HASH_BYTES]) -> Vec<u8> {
    let envelope = EnvelopeV1 {
        position: event.position,
        stream: &event.stream,
        version: event.version,
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
    encode_envelope(&envelope, prev_hash).0
}

/// Decodes stored bytes into an owned event. Never panics.
pub fn decode(bytes: &[u8]) -> Result<RecordedEvent, RecordError> {
    decode_stored(bytes).map(|stored| to_recorded(&stored))
}

/// A decoded record as an owned event.
pub(crate) fn to_recorded(stored: &StoredRecord<'_>) -> RecordedEvent {
    let e = &stored.envelope;
    RecordedEvent {
        position: e.position,
        stream: e.stream.to_owned(),
        version: e.version,
        event_id: Uuid::from_bytes(e.event_id),
        event_type: e.event_type.to_owned(),
        schema_version: e.schema_version,
        recorded_at_unix_nanos: e.recorded_at_unix_nanos,
        actor: EnvelopeActor {
            sub: e.actor.sub.to_owned(),
            role: e.actor.role.to_owned(),
            org: e.actor.org.to_owned(),
        },
        correlation_id: Uuid::from_bytes(e.correlation_id),
        causation_id: e.causation_id.map(Uuid::from_bytes),
        idempotency_key: e.idempotency_key.map(str::to_owned),
        payload: e.payload.to_vec(),
        hash: stored.hash,
    }
}

/// Serializes `value` with postcard after the bytes already in `buffer`;
/// the same bytes as `postcard::to_extend`, which copies every string and
/// byte string through `Extend` one byte at a time (a visible share of a
/// read-model rebuild, which encodes every ticket record: `docs/benchmarks.md`,
/// "Rebuild"); this copies each with one `extend_from_slice`.
pub fn postcard_append<T: Serialize + ?Sized>(
    value: &T,
    buffer: Vec<u8>,
) -> postcard::Result<Vec<u8>> {
    postcard::serialize_with_flavor(value, AppendFlavor(buffer))
}

struct AppendFlavor(Vec<u8>);

impl postcard::ser_flavors::Flavor for AppendFlavor {
    type Output = Vec<u8>;

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

/// Encodes an envelope and chains it: `(stored bytes, hash)`.
pub(crate) fn encode_envelope(
    envelope: &EnvelopeV1<'_>,
    prev_hash: &[u8; HASH_BYTES],
) -> (Vec<u8>, [u8; HASH_BYTES]) {
    let mut bytes = Vec::with_capacity(128 + envelope.payload.len());
    bytes.push(FORMAT_V1);
    let mut bytes = postcard_append(envelope, bytes)
        .expect("postcard cannot fail to encode plain fields into a Vec");
    let hash = chain_hash(prev_hash, &bytes);
    bytes.extend_from_slice(&hash);
    (bytes, hash)
}

/// Splits and decodes stored bytes without copying. Never panics.
pub(crate) fn decode_stored(bytes: &[u8]) -> Result<StoredRecord<'_>, RecordError> {
    if bytes.len() < 1 + HASH_BYTES {
        return Err(RecordError::TooShort { len: bytes.len() });
    }
    let (hashed, hash) = bytes.split_at(bytes.len() - HASH_BYTES);
    let (&format, body) = hashed
        .split_first()
        .ok_or(RecordError::TooShort { len: bytes.len() })?;
    if format != FORMAT_V1 {
        return Err(RecordError::UnknownFormat { format });
    }
    let (envelope, rest) = read_envelope(body).map_err(RecordError::Postcard)?;
    if !rest.is_empty() {
        return Err(RecordError::TrailingBytes { count: rest.len() });
    }
    let hash: [u8; HASH_BYTES] = hash
        .try_into()
        .map_err(|_| RecordError::TooShort { len: bytes.len() })?;
    Ok(StoredRecord {
        envelope,
        hashed,
        hash,
    })
}

/// An envelope in postcard's wire format, read by hand, and the bytes after
/// it. Exactly what `postcard::take_from_bytes::<EnvelopeV1>` returns, values
/// and errors alike (a property test compares the two on valid, truncated
/// and corrupted envelopes), for less: serde reads each 16-byte id as a
/// tuple of 16 one-byte elements, and every read of the log decodes every
/// envelope. What is left here is mostly checking that the strings are
/// UTF-8 (`docs/benchmarks.md`, "Rebuild").
fn read_envelope(body: &[u8]) -> Result<(EnvelopeV1<'_>, &[u8]), postcard::Error> {
    let mut wire = Wire(body);
    let envelope = EnvelopeV1 {
        position: wire.u64()?,
        stream: wire.str()?,
        version: wire.u64()?,
        event_id: wire.array16()?,
        recorded_at_unix_nanos: wire.i64()?,
        actor: ActorV1 {
            sub: wire.str()?,
            role: wire.str()?,
            org: wire.str()?,
        },
        correlation_id: wire.array16()?,
        causation_id: if wire.is_some()? {
            Some(wire.array16()?)
        } else {
            None
        },
        idempotency_key: if wire.is_some()? {
            Some(wire.str()?)
        } else {
            None
        },
        event_type: wire.str()?,
        schema_version: wire.u16()?,
        payload: wire.bytes()?,
    };
    Ok((envelope, wire.0))
}

/// The bytes left to read, in postcard's wire format (postcard 1.x).
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    #[inline]
    fn take(&mut self, count: u64) -> Result<&'a [u8], postcard::Error> {
        let count =
            usize::try_from(count).map_err(|_| postcard::Error::DeserializeUnexpectedEnd)?;
        if count > self.0.len() {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        let (taken, rest) = self.0.split_at(count);
        self.0 = rest;
        Ok(taken)
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, postcard::Error> {
        let (&byte, rest) = self
            .0
            .split_first()
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        self.0 = rest;
        Ok(byte)
    }

    /// LEB128 of at most `max_bytes` bytes whose last byte is at most
    /// `last_byte_max`, as postcard checks them.
    #[inline]
    fn varint(&mut self, max_bytes: u32, last_byte_max: u8) -> Result<u64, postcard::Error> {
        let mut value = 0u64;
        for index in 0..max_bytes {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                if index == max_bytes - 1 && byte > last_byte_max {
                    return Err(postcard::Error::DeserializeBadVarint);
                }
                return Ok(value);
            }
        }
        Err(postcard::Error::DeserializeBadVarint)
    }

    #[inline]
    fn u64(&mut self) -> Result<u64, postcard::Error> {
        self.varint(10, 1)
    }

    #[inline]
    fn u16(&mut self) -> Result<u16, postcard::Error> {
        // A third byte of at most 3 keeps the value within 16 bits.
        self.varint(3, 3).map(|value| value as u16)
    }

    #[inline]
    fn i64(&mut self) -> Result<i64, postcard::Error> {
        let zigzag = self.u64()?;
        Ok(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64))
    }

    #[inline]
    fn bytes(&mut self) -> Result<&'a [u8], postcard::Error> {
        let len = self.u64()?;
        self.take(len)
    }

    #[inline]
    fn str(&mut self) -> Result<&'a str, postcard::Error> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| postcard::Error::DeserializeBadUtf8)
    }

    #[inline]
    fn array16(&mut self) -> Result<[u8; 16], postcard::Error> {
        let bytes = self.take(16)?;
        bytes
            .try_into()
            .map_err(|_| postcard::Error::DeserializeUnexpectedEnd)
    }

    #[inline]
    fn is_some(&mut self) -> Result<bool, postcard::Error> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(postcard::Error::DeserializeBadOption),
        }
    }
}

/// A format-1 record of the store's own tables: the format byte, then one
/// postcard value and nothing after it.
fn decode_format_v1<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, RecordError> {
    let (&format, body) = bytes
        .split_first()
        .ok_or(RecordError::TooShort { len: 0 })?;
    if format != FORMAT_V1 {
        return Err(RecordError::UnknownFormat { format });
    }
    let (stored, rest) = postcard::take_from_bytes::<T>(body).map_err(RecordError::Postcard)?;
    if !rest.is_empty() {
        return Err(RecordError::TrailingBytes { count: rest.len() });
    }
    Ok(stored)
}

pub(crate) fn encode_idempotency(record: &IdempotencyRecord) -> Vec<u8> {
    let stored = IdempotencyV1 {
        fingerprint: record.fingerprint,
        response: &record.response,
        first_position: record.first_position,
        last_position: record.last_position,
        recorded_at_unix_nanos: record.recorded_at_unix_nanos,
    };
    postcard_append(&stored, vec![FORMAT_V1])
        .expect("postcard cannot fail to encode plain fields into a Vec")
}

pub(crate) fn decode_idempotency(bytes: &[u8]) -> Result<IdempotencyRecord, RecordError> {
    let stored: IdempotencyV1<'_> = decode_format_v1(bytes)?;
    Ok(IdempotencyRecord {
        fingerprint: stored.fingerprint,
        response: stored.response.to_vec(),
        first_position: stored.first_position,
        last_position: stored.last_position,
        recorded_at_unix_nanos: stored.recorded_at_unix_nanos,
    })
}

/// The pending-keys record of a group whose first event is at
/// `first_position`: each key with the time it is recorded at.
pub(crate) fn encode_pending_keys(first_position: u64, keys: &[(i64, &[u8])]) -> Vec<u8> {
    let stored = PendingKeysV1 {
        first_position,
        keys: keys
            .iter()
            .map(|&(recorded_at_unix_nanos, key)| PendingKeyV1 {
                recorded_at_unix_nanos,
                key,
            })
            .collect(),
    };
    postcard_append(&stored, vec![FORMAT_V1])
        .expect("postcard cannot fail to encode plain fields into a Vec")
}

/// `(first_position, [(recorded_at_unix_nanos, key)])`.
pub(crate) type PendingKeys = (u64, Vec<(i64, Vec<u8>)>);

pub(crate) fn decode_pending_keys(bytes: &[u8]) -> Result<PendingKeys, RecordError> {
    let stored: PendingKeysV1<'_> = decode_format_v1(bytes)?;
    let keys = stored
        .keys
        .into_iter()
        .map(|k| (k.recorded_at_unix_nanos, k.key.to_vec()))
        .collect();
    Ok((stored.first_position, keys))
}

/// Head record: format byte, position u64 BE, hash.
pub(crate) const HEAD_RECORD_BYTES: usize = 1 + 8 + HASH_BYTES;

pub(crate) fn encode_head(position: u64, hash: &[u8; HASH_BYTES]) -> [u8; HEAD_RECORD_BYTES] {
    let mut out = [0u8; HEAD_RECORD_BYTES];
    out[0] = FORMAT_V1;
    out[1..9].copy_from_slice(&position.to_be_bytes());
    out[9..].copy_from_slice(hash);
    out
}

pub(crate) fn decode_head(bytes: &[u8]) -> Option<(u64, [u8; HASH_BYTES])> {
    let bytes: &[u8; HEAD_RECORD_BYTES] = bytes.try_into().ok()?;
    if bytes[0] != FORMAT_V1 {
        return None;
    }
    let position = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
    let hash = bytes[9..].try_into().ok()?;
    Some((position, hash))
}

#[cfg(test)]
mod tests;
