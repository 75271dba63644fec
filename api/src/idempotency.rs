//! `Idempotency-Key`: a retry of the same command (same key, same `sub`, same
//! request) within 24 h gets the first answer again and appends nothing.
//!
//! The record is written by the event store in the same atomic batch as the
//! command's events, so an acknowledged command and its record survive a
//! crash together. Only successful commands are recorded: a refused command
//! appended nothing, and its retry is decided afresh (see docs/api.md).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;

use crate::problem::ApiError;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The contract: 1–255 visible ASCII characters.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;
/// Keys in flight at once (one per concurrent request at most); a bound so a
/// flood of distinct keys cannot grow the set without limit.
pub const IN_FLIGHT_KEYS_MAX: usize = 100_000;

/// A key as the store indexes it: scoped by the actor's `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScopedKey {
    pub key: String,
    pub store_key: Vec<u8>,
}

/// Reads and checks the `Idempotency-Key` header (400 `invalid_idempotency_key`).
pub fn key_from_headers(headers: &HeaderMap, sub: &str) -> Result<Option<ScopedKey>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-255 visible ASCII characters",
        )
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > IDEMPOTENCY_KEY_CHARS_MAX
        || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
    {
        return Err(invalid());
    }
    let key = std::str::from_utf8(bytes)
        .map_err(|_| invalid())?
        .to_owned();
    let mut store_key = Vec::with_capacity(sub.len() + 1 + key.len());
    store_key.extend_from_slice(sub.as_bytes());
    store_key.push(0);
    store_key.extend_from_slice(key.as_bytes());
    Ok(Some(ScopedKey { key, store_key }))
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
    /// 409 `idempotency_in_progress` when another request holds the key.
    pub fn claim(&self, key: &ScopedKey) -> Result<InFlightGuard, ApiError> {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if keys.len() >= IN_FLIGHT_KEYS_MAX {
            return Err(ApiError::unavailable(
                "overloaded",
                "too many idempotent requests in flight",
            ));
        }
        if !keys.insert(key.store_key.clone()) {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still in flight",
            ));
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

    fn headers(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            IDEMPOTENCY_HEADER,
            axum::http::HeaderValue::from_bytes(value).expect("valid header bytes"),
        );
        headers
    }

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(key_from_headers(&headers(b"abc-123"), "u")
            .unwrap()
            .is_some());
        assert!(key_from_headers(&HeaderMap::new(), "u").unwrap().is_none());
        for bad in [&b"has space"[..], &[b'x'; 256][..], b"tab\there"] {
            let error = key_from_headers(&headers(bad), "u").expect_err("bad key");
            assert_eq!(error.code, "invalid_idempotency_key");
        }
    }

    #[test]
    fn a_key_is_held_until_its_guard_drops() {
        let in_flight = InFlight::default();
        let key = key_from_headers(&headers(b"k"), "u").unwrap().unwrap();
        let guard = in_flight.claim(&key).expect("free");
        assert_eq!(
            in_flight.claim(&key).err().unwrap().code,
            "idempotency_in_progress"
        );
        drop(guard);
        assert!(in_flight.claim(&key).is_ok());
    }

    #[test]
    fn the_same_key_of_another_sub_is_another_key() {
        let a = key_from_headers(&headers(b"k"), "alice").unwrap().unwrap();
        let b = key_from_headers(&headers(b"k"), "bob").unwrap().unwrap();
        assert_ne!(a.store_key, b.store_key);
    }
}
