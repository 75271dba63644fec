//! `Idempotency-Key`: a retry of the same command (same key, same `sub`, same
//! request) within 24 h gets the first answer again and appends nothing.
//!
//! The record is written by the event store in the same atomic batch as the
//! command's events, so an acknowledged command and its record survive a
//! crash together. Only successful commands are recorded: a refused command
//! appended nothing, and its retry is decided afresh (see docs/api.md).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::error::AppError;

/// The contract: 1–255 visible ASCII characters.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;
/// Keys in flight at once (one per concurrent request at most); a bound so a
/// flood of distinct keys cannot grow the set without limit.
pub const IN_FLIGHT_KEYS_MAX: usize = 100_000;

/// A key as the store indexes it: scoped by the actor's `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScopedKey {
    /// The key as the client sent it (recorded in the events' envelopes).
    pub key: String,
    /// `sub`, a NUL, then the key: the store's index key.
    pub store_key: Vec<u8>,
}

impl ScopedKey {
    /// Checks a key's bytes (`InvalidIdempotencyKey`) and scopes it to `sub`.
    pub fn parse(bytes: &[u8], sub: &str) -> Result<ScopedKey, AppError> {
        if bytes.is_empty()
            || bytes.len() > IDEMPOTENCY_KEY_CHARS_MAX
            || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
        {
            return Err(AppError::InvalidIdempotencyKey);
        }
        let key = std::str::from_utf8(bytes)
            .map_err(|_| AppError::InvalidIdempotencyKey)?
            .to_owned();
        let mut store_key = Vec::with_capacity(sub.len() + 1 + key.len());
        store_key.extend_from_slice(sub.as_bytes());
        store_key.push(0);
        store_key.extend_from_slice(key.as_bytes());
        Ok(ScopedKey { key, store_key })
    }
}

/// What makes two requests "the same": method, path, `If-Match` and body bytes.
pub fn fingerprint(method: &str, path: &str, if_match: Option<u64>, body: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(method.as_bytes());
    hasher.update(&[0]);
    hasher.update(path.as_bytes());
    hasher.update(&[0]);
    hasher.update(&if_match.map_or([0xff; 8], u64::to_be_bytes));
    hasher.update(body);
    *hasher.finalize().as_bytes()
}

/// Keys whose first request is still being decided or committed.
#[derive(Clone, Default)]
pub struct InFlight {
    keys: Arc<Mutex<HashSet<Vec<u8>>>>,
}

/// Holding it means this request owns the key; dropping it releases the key.
pub struct InFlightGuard {
    keys: Arc<Mutex<HashSet<Vec<u8>>>>,
    key: Vec<u8>,
}

impl InFlight {
    /// `IdempotencyInProgress` when another request holds the key.
    pub fn claim(&self, key: &ScopedKey) -> Result<InFlightGuard, AppError> {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if keys.len() >= IN_FLIGHT_KEYS_MAX {
            return Err(AppError::Overloaded);
        }
        if !keys.insert(key.store_key.clone()) {
            return Err(AppError::IdempotencyInProgress);
        }
        Ok(InFlightGuard {
            keys: Arc::clone(&self.keys),
            key: key.store_key.clone(),
        })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(ScopedKey::parse(b"abc-123", "u").is_ok());
        for bad in [&b"has space"[..], &[b'x'; 256][..], b"tab\there", b""] {
            assert!(matches!(
                ScopedKey::parse(bad, "u"),
                Err(AppError::InvalidIdempotencyKey)
            ));
        }
    }

    #[test]
    fn a_key_is_held_until_its_guard_drops() {
        let in_flight = InFlight::default();
        let key = ScopedKey::parse(b"k", "u").unwrap();
        let guard = in_flight.claim(&key).expect("free");
        assert!(matches!(
            in_flight.claim(&key),
            Err(AppError::IdempotencyInProgress)
        ));
        drop(guard);
        assert!(in_flight.claim(&key).is_ok());
    }

    #[test]
    fn the_same_key_of_another_sub_is_another_key() {
        let a = ScopedKey::parse(b"k", "alice").unwrap();
        let b = ScopedKey::parse(b"k", "bob").unwrap();
        assert_ne!(a.store_key, b.store_key);
    }
}
