//! Key layout of the one sled tree. Big-endian numbers so that sled's byte
//! order is numeric order.

pub(crate) const LOG: u8 = b'L';
pub(crate) const STREAM: u8 = b'S';
pub(crate) const IDEMPOTENCY: u8 = b'I';
pub(crate) const IDEMPOTENCY_EXPIRY: u8 = b'E';
pub(crate) const HEAD: &[u8] = b"M";
pub(crate) const SEQUENCE: &[u8] = b"Q";
/// The idempotency keys of the last group commit that recorded any.
pub(crate) const PENDING_KEYS: &[u8] = b"P";

pub(crate) const LOG_KEY_BYTES: usize = 9;

pub(crate) fn log_key(position: u64) -> [u8; LOG_KEY_BYTES] {
    let mut key = [0u8; LOG_KEY_BYTES];
    key[0] = LOG;
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

/// `None` if the key is not `L` + 8 bytes.
pub(crate) fn parse_log_key(key: &[u8]) -> Option<u64> {
    match key {
        [LOG, rest @ ..] => Some(u64::from_be_bytes(rest.try_into().ok()?)),
        _ => None,
    }
}

/// `S` + name length (u16 BE) + name: the length prefix keeps `ticket-1`
/// from being a key prefix of `ticket-10`.
pub(crate) fn stream_prefix(stream: &str) -> Vec<u8> {
    let len = u16::try_from(stream.len())
        .expect("stream names are checked against STREAM_NAME_BYTES_MAX");
    let mut key = Vec::with_capacity(3 + stream.len() + 8);
    key.push(STREAM);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(stream.as_bytes());
    key
}

pub(crate) fn stream_key(stream: &str, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// `(name bytes, version)`, or `None` if the key is malformed.
pub(crate) fn parse_stream_key(key: &[u8]) -> Option<(&[u8], u64)> {
    let [STREAM, l0, l1, rest @ ..] = key else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    if rest.len() != len + 8 {
        return None;
    }
    let (name, version) = rest.split_at(len);
    Some((name, u64::from_be_bytes(version.try_into().ok()?)))
}

pub(crate) fn parse_position_value(value: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(value.try_into().ok()?))
}

pub(crate) fn idempotency_key(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + key.len());
    out.push(IDEMPOTENCY);
    out.extend_from_slice(key);
    out
}

/// `E` + time + key. The sign bit is flipped so that negative times sort
/// before positive ones.
pub(crate) fn expiry_key(recorded_at_unix_nanos: i64, key: &[u8]) -> Vec<u8> {
    let mut out = expiry_time_prefix(recorded_at_unix_nanos);
    out.extend_from_slice(key);
    out
}

pub(crate) fn expiry_time_prefix(recorded_at_unix_nanos: i64) -> Vec<u8> {
    let ordered = (recorded_at_unix_nanos as u64) ^ (1 << 63);
    let mut out = Vec::with_capacity(9);
    out.push(IDEMPOTENCY_EXPIRY);
    out.extend_from_slice(&ordered.to_be_bytes());
    out
}

/// `(recorded time, idempotency key)`, or `None` if malformed.
pub(crate) fn parse_expiry_key(key: &[u8]) -> Option<(i64, &[u8])> {
    let [IDEMPOTENCY_EXPIRY, rest @ ..] = key else {
        return None;
    };
    if rest.len() < 8 {
        return None;
    }
    let (time, idempotency) = rest.split_at(8);
    let ordered = u64::from_be_bytes(time.try_into().ok()?);
    Some(((ordered ^ (1 << 63)) as i64, idempotency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_of_prefix_names_do_not_collide() {
        let short = stream_prefix("ticket-1");
        let long = stream_key("ticket-10", 1);
        assert!(!long.starts_with(&short));
        assert_eq!(parse_stream_key(&long), Some((&b"ticket-10"[..], 1)));
    }

    #[test]
    fn expiry_keys_sort_by_time() {
        let a = expiry_key(-5, b"z");
        let b = expiry_key(3, b"a");
        assert!(a < b);
        assert_eq!(parse_expiry_key(&a), Some((-5, &b"z"[..])));
    }

    #[test]
    fn log_keys_round_trip_and_reject_bad_lengths() {
        assert_eq!(parse_log_key(&log_key(42)), Some(42));
        assert_eq!(parse_log_key(b"L123"), None);
    }
}
