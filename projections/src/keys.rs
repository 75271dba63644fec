//! Key layout of the read models: one sled tree per read-model generation,
//! every table a one-byte prefix, so that one `apply_batch` (sled batches are
//! atomic on one tree) writes a whole commit including its checkpoint.
//!
//! | prefix | key after the prefix | value |
//! |---|---|---|
//! | `M` | `checkpoint` | [`crate::runtime::Checkpoint`] |
//! | `P` | org | the org's policy in force |
//! | `O` | org | nothing: the orgs that have tickets |
//! | `T` | ticket id | the ticket record (view, SLA clocks, index bookkeeping) |
//! | `N` | ticket number / 256 | the numbers of that block: `(number % 256, ticket id)` |
//! | `R` | order number, ticket id | org |
//! | `I` | scope, status, sort, lower bound | a page of inbox entries (see `pages`): sort key, ticket id, from position → entry |
//! | `X` | until position, inbox space, entry suffix | nothing: superseded inbox entries to prune |
//! | `S` | org, lower bound | a page of pending SLA clocks: due time, ticket id, clock kind → clock |
//! | `K` | org, UTC day | KPI counters of the day, per reason category |
//! | `Q` | org, UTC day, commit position | the KPI samples that commit added to the day, per reason category |
//! | `D` | org, name | a text module ([`crate::TextModuleView`]) |
//!
//! Integers are big-endian, signed ones with the sign bit flipped so that
//! byte order is numeric order; strings are a u16 length then UTF-8 bytes.

use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) const META: u8 = b'M';
pub(crate) const POLICY: u8 = b'P';
pub(crate) const ORG: u8 = b'O';
pub(crate) const TICKET: u8 = b'T';
pub(crate) const NUMBER: u8 = b'N';
pub(crate) const ORDER: u8 = b'R';
pub(crate) const INBOX: u8 = b'I';
pub(crate) const RETIRE: u8 = b'X';
pub(crate) const SLA: u8 = b'S';
pub(crate) const KPI_DAY: u8 = b'K';
pub(crate) const KPI_SAMPLES: u8 = b'Q';
pub(crate) const TEXT_MODULE: u8 = b'D';

pub(crate) const CHECKPOINT_KEY: &[u8] = b"Mcheckpoint";

/// A key under construction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key(Vec<u8>);

impl Key {
    pub(crate) fn new(table: u8) -> Key {
        let mut bytes = Vec::with_capacity(48);
        bytes.push(table);
        Key(bytes)
    }

    /// A key part without a table byte (a suffix within an index space).
    pub(crate) fn part() -> Key {
        Key(Vec::with_capacity(40))
    }

    pub(crate) fn u8(mut self, value: u8) -> Key {
        self.0.push(value);
        self
    }

    pub(crate) fn u64(mut self, value: u64) -> Key {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn i64(mut self, value: i64) -> Key {
        self.0.extend_from_slice(&flip(value).to_be_bytes());
        self
    }

    pub(crate) fn i32(mut self, value: i32) -> Key {
        self.0
            .extend_from_slice(&((value as u32) ^ (1 << 31)).to_be_bytes());
        self
    }

    pub(crate) fn str(mut self, value: &str) -> Key {
        // Every string keyed here is bounded far below 64 KiB (org ids 63
        // bytes, categories and order numbers 64 chars); clamp rather than
        // trust it, so a key is always parseable.
        let bytes = &value.as_bytes()[..value.len().min(u16::MAX as usize)];
        self.0
            .extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    pub(crate) fn uuid(mut self, value: Uuid) -> Key {
        self.0.extend_from_slice(value.as_bytes());
        self
    }

    pub(crate) fn bytes(mut self, value: &[u8]) -> Key {
        self.0.extend_from_slice(value);
        self
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Key> for sled::IVec {
    fn from(key: Key) -> sled::IVec {
        sled::IVec::from(key.0)
    }
}

impl From<Key> for Vec<u8> {
    fn from(key: Key) -> Vec<u8> {
        key.0
    }
}

/// Reads the parts of a key back, in the order they were written.
pub(crate) struct KeyReader<'a>(&'a [u8]);

impl<'a> KeyReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> KeyReader<'a> {
        KeyReader(bytes)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_be_bytes)
    }

    pub(crate) fn i64(&mut self) -> Option<i64> {
        self.u64().map(unflip)
    }

    pub(crate) fn i32(&mut self) -> Option<i32> {
        let raw: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some((u32::from_be_bytes(raw) ^ (1 << 31)) as i32)
    }

    pub(crate) fn str(&mut self) -> Option<&'a str> {
        let len: [u8; 2] = self.take(2)?.try_into().ok()?;
        let bytes = self.take(usize::from(u16::from_be_bytes(len)))?;
        std::str::from_utf8(bytes).ok()
    }

    pub(crate) fn uuid(&mut self) -> Option<Uuid> {
        Uuid::from_slice(self.take(16)?).ok()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.0
    }
}

fn flip(value: i64) -> u64 {
    (value as u64) ^ (1 << 63)
}

fn unflip(value: u64) -> i64 {
    (value ^ (1 << 63)) as i64
}

/// Unix nanoseconds, the time unit of every key and record here. Saturates
/// outside the i64 range (years 1677..2262), which no event reaches.
pub(crate) fn nanos(at: OffsetDateTime) -> i64 {
    let value = at.unix_timestamp_nanos();
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// The instant of unix nanoseconds; every i64 is a valid `OffsetDateTime`.
pub(crate) fn instant(unix_nanos: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nanos))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The exclusive upper bound of all keys starting with `prefix`, if any.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Lower-case hex, for cursors.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_integers_sort_as_numbers() {
        let values = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        let keys: Vec<Key> = values.iter().map(|v| Key::new(b'x').i64(*v)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for (value, key) in values.iter().zip(&keys) {
            let mut reader = KeyReader::new(&key.as_bytes()[1..]);
            assert_eq!(reader.i64(), Some(*value));
        }
        let days = [i32::MIN, -3, 0, 20_000, i32::MAX];
        let keys: Vec<Key> = days.iter().map(|v| Key::new(b'x').i32(*v)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn parts_read_back() {
        let id = Uuid::from_u128(42);
        let key = Key::new(b'x').str("acme").u8(3).uuid(id).u64(9);
        let mut reader = KeyReader::new(&key.as_bytes()[1..]);
        assert_eq!(reader.str(), Some("acme"));
        assert_eq!(reader.u8(), Some(3));
        assert_eq!(reader.uuid(), Some(id));
        assert_eq!(reader.u64(), Some(9));
        assert!(reader.rest().is_empty());
        assert_eq!(reader.u8(), None);
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes.to_vec()));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("AB"), None);
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
