//! The fast proof that a log is sound, on all cores; `verify.rs` keeps the
//! exact walk that names the first fault, and runs only when this proof
//! fails (or a commit lands meanwhile).
//!
//! Why: the exact walk does one sled `get` per event for the index and runs
//! on one thread, which stays well under issue 6's verify target however
//! warm sled's cache is (`docs/benchmarks.md`, "Event store commit path").
//!
//! How: the log up to the head is cut into position ranges, each walked by
//! its own thread (every entry's hash only needs the *stored* hash of the
//! entry before, so ranges are independent); one more thread walks the
//! index. Per stream, both sides fold the pairs (version, position) into a
//! keyed 128-bit sum, which does not depend on order; the log side is merged
//! range by range (checking that each range continues its streams'
//! versions). Sound means: every range contiguous, decodable, at its own
//! position and chained; each stream's versions 1..n contiguous; the index
//! has, per stream, versions 1..n pointing under the head with the same sum
//! as the log; the head record and the watermark agree. The sums are keyed
//! per run (`RandomState`), so index damage cannot be crafted to cancel out;
//! an accidental match has probability ~2^-128.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::StoreError;
use crate::keys;
use crate::record::{self, GENESIS_HASH, HASH_BYTES};
use crate::types::{Head, VerifyReport};
use crate::verify::{digest, DigestHasher, StreamDigest};
use crate::STREAM_NAME_BYTES_MAX;

/// Below this many events one range is enough.
const EVENTS_PER_RANGE_MIN: u64 = 65_536;

/// How often the calling thread reports progress while the walkers run.
const PROGRESS_POLL: Duration = Duration::from_millis(50);

type StreamMap<V> = HashMap<StreamDigest, V, BuildHasherDefault<DigestHasher>>;

/// `Some(Sound)` if the log up to the head published at the start is proven
/// sound; `None` if anything disagrees (the exact walk will say what).
pub(crate) fn prove_sound(
    db: &sled::Db,
    watermark: Head,
    published: &dyn Fn() -> Head,
    progress: &mut dyn FnMut(u64),
    cores: u64,
) -> Result<Option<VerifyReport>, StoreError> {
    let events = published().position;
    let ranges = cores.clamp(1, (events / EVENTS_PER_RANGE_MIN).max(1));
    prove_sound_in(db, watermark, published, progress, ranges)
}

/// `prove_sound` with exactly `ranges` ranges (fewer if the log is shorter).
pub(crate) fn prove_sound_in(
    db: &sled::Db,
    watermark: Head,
    published: &dyn Fn() -> Head,
    progress: &mut dyn FnMut(u64),
    ranges: u64,
) -> Result<Option<VerifyReport>, StoreError> {
    let start = published();
    let keys = Keys(RandomState::new(), RandomState::new());
    let walked = AtomicU64::new(0);
    let (log, index) = std::thread::scope(|scope| {
        let log: Vec<_> = split(start.position, ranges)
            .into_iter()
            .map(|(first, last)| {
                let (keys, walked) = (&keys, &walked);
                scope.spawn(move || walk_range(db, first, last, watermark, keys, walked))
            })
            .collect();
        let index = scope.spawn(|| walk_index(db, start.position, &keys));
        while !log.iter().all(|h| h.is_finished()) {
            progress(walked.load(Ordering::Relaxed));
            std::thread::sleep(PROGRESS_POLL);
        }
        let log: Vec<_> = log.into_iter().map(join).collect();
        (log, join(index))
    });
    let (Some(streams), Some(index)) = (merge(log)?, index?) else {
        return Ok(None);
    };
    if streams.len() != index.len()
        || streams
            .iter()
            .any(|(name, summary)| index.get(name) != Some(summary))
    {
        return Ok(None);
    }
    let head = match start.position {
        0 => Head {
            position: 0,
            hash: GENESIS_HASH,
        },
        _ => start,
    };
    if !head_record_and_bounds_agree(db, head, watermark)? || published() != start {
        return Ok(None);
    }
    progress(start.position);
    Ok(Some(VerifyReport::Sound {
        events: start.position,
        streams: streams.len() as u64,
        head,
    }))
}

/// Per stream: last version and the keyed sum of (version, position).
type Summary = (u64, u128);

/// Two independently keyed SipHashes make one 128-bit term per pair.
struct Keys(RandomState, RandomState);

impl Keys {
    fn term(&self, version: u64, position: u64) -> u128 {
        let high = self.0.hash_one((version, position));
        let low = self.1.hash_one((version, position));
        (u128::from(high) << 64) | u128::from(low)
    }
}

/// What one range proved: `None` if anything in it is wrong.
struct Range {
    /// Per stream: first version in the range, last, sum.
    streams: StreamMap<(u64, u64, u128)>,
}

fn split(head: u64, ranges: u64) -> Vec<(u64, u64)> {
    if head == 0 {
        return Vec::new();
    }
    let size = head.div_ceil(ranges);
    (0..ranges)
        .map(|i| (i * size + 1, ((i + 1) * size).min(head)))
        .filter(|(first, last)| first <= last)
        .collect()
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    // A walker that panicked (sled does on some corrupt pages) passes the
    // panic on to `Store::verify`, which turns it into an error.
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn walk_range(
    db: &sled::Db,
    first: u64,
    last: u64,
    watermark: Head,
    keys: &Keys,
    walked: &AtomicU64,
) -> Result<Option<Range>, StoreError> {
    let mut prev_hash = GENESIS_HASH;
    if first > 1 {
        // The previous range proves this stored hash right.
        let Some(bytes) = db.get(keys::log_key(first - 1))? else {
            return Ok(None);
        };
        let Ok(stored) = record::decode_stored(&bytes) else {
            return Ok(None);
        };
        prev_hash = stored.hash;
    }
    let mut range = Range {
        streams: StreamMap::default(),
    };
    let mut expected = first;
    for entry in db.range(keys::log_key(first)..=keys::log_key(last)) {
        let (key, value) = entry?;
        if keys::parse_log_key(&key) != Some(expected) {
            return Ok(None);
        }
        let Some(hash) = check_entry(&value, expected, &prev_hash, keys, &mut range) else {
            return Ok(None);
        };
        if expected == watermark.position && hash != watermark.hash {
            return Ok(None);
        }
        prev_hash = hash;
        expected += 1;
        if expected.is_multiple_of(4096) {
            walked.fetch_add(4096, Ordering::Relaxed);
        }
    }
    Ok((expected == last + 1).then_some(range))
}

/// The entry's hash if it is sound and continues its stream in the range.
fn check_entry(
    value: &[u8],
    position: u64,
    prev_hash: &[u8; HASH_BYTES],
    keys: &Keys,
    range: &mut Range,
) -> Option<[u8; HASH_BYTES]> {
    let stored = record::decode_stored(value).ok()?;
    let envelope = &stored.envelope;
    let stream = envelope.stream;
    if envelope.position != position
        || stream.is_empty()
        || stream.len() > STREAM_NAME_BYTES_MAX
        || record::chain_hash(prev_hash, stored.hashed) != stored.hash
    {
        return None;
    }
    let term = keys.term(envelope.version, position);
    match range.streams.entry(digest(stream.as_bytes())) {
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert((envelope.version, envelope.version, term));
        }
        std::collections::hash_map::Entry::Occupied(mut slot) => {
            let (_, last, sum) = slot.get_mut();
            if envelope.version != *last + 1 {
                return None;
            }
            *last = envelope.version;
            *sum = sum.wrapping_add(term);
        }
    }
    Some(stored.hash)
}

/// Joins the ranges in order: every stream must continue its versions from
/// one range to the next, from version 1.
fn merge(
    ranges: Vec<Result<Option<Range>, StoreError>>,
) -> Result<Option<StreamMap<Summary>>, StoreError> {
    let mut streams: StreamMap<Summary> = StreamMap::default();
    for range in ranges {
        let Some(range) = range? else {
            return Ok(None);
        };
        for (name, (first, last, sum)) in range.streams {
            let (version, total) = streams.entry(name).or_insert((0, 0));
            if first != *version + 1 {
                return Ok(None);
            }
            *version = last;
            *total = total.wrapping_add(sum);
        }
    }
    Ok(Some(streams))
}

/// Per stream of the index: versions 1..n, each pointing at a position in
/// `1..=head`, and their sum.
fn walk_index(
    db: &sled::Db,
    head: u64,
    keys: &Keys,
) -> Result<Option<StreamMap<Summary>>, StoreError> {
    let mut streams: StreamMap<Summary> = StreamMap::default();
    let mut current: Option<(Vec<u8>, Summary)> = None;
    for entry in db.scan_prefix([keys::STREAM]) {
        let (key, value) = entry?;
        let Some((name, version)) = keys::parse_stream_key(&key) else {
            return Ok(None);
        };
        let Some(position) = keys::parse_position_value(&value) else {
            return Ok(None);
        };
        if position == 0 || position > head {
            return Ok(None);
        }
        let same_stream = current.as_ref().is_some_and(|(n, _)| n.as_slice() == name);
        if !same_stream {
            if let Some((done, summary)) = current.take() {
                if streams.insert(digest(&done), summary).is_some() {
                    return Ok(None);
                }
            }
            current = Some((name.to_vec(), (0, 0)));
        }
        let (_, (last, sum)) = current.as_mut().expect("set just above");
        if version != *last + 1 {
            return Ok(None);
        }
        *last = version;
        *sum = sum.wrapping_add(keys.term(version, position));
    }
    if let Some((done, summary)) = current {
        if streams.insert(digest(&done), summary).is_some() {
            return Ok(None);
        }
    }
    Ok(Some(streams))
}

/// The head record names `head`, no log key lies outside `1..=head`, and
/// the watermark is not past the head.
fn head_record_and_bounds_agree(
    db: &sled::Db,
    head: Head,
    watermark: Head,
) -> Result<bool, StoreError> {
    let record = db.get(keys::HEAD)?;
    let record_agrees = match record.as_deref().map(record::decode_head) {
        None => head.position == 0,
        Some(Some((position, hash))) => position == head.position && hash == head.hash,
        Some(None) => false,
    };
    let before_first = db
        .range(vec![keys::LOG]..keys::log_key(1).to_vec())
        .next()
        .is_some();
    let after_last = db
        .range(keys::log_key(head.position).to_vec()..vec![keys::LOG + 1])
        .nth(usize::from(head.position > 0))
        .is_some();
    Ok(record_agrees && !before_first && !after_last && watermark.position <= head.position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_log_exactly_once() {
        assert_eq!(split(0, 4), vec![]);
        assert_eq!(split(10, 3), vec![(1, 4), (5, 8), (9, 10)]);
        assert_eq!(split(2, 4), vec![(1, 1), (2, 2)]);
        let ranges = split(1_000_003, 7);
        assert_eq!(ranges.first().map(|r| r.0), Some(1));
        assert_eq!(ranges.last().map(|r| r.1), Some(1_000_003));
        assert!(ranges.windows(2).all(|w| w[0].1 + 1 == w[1].0));
    }
}
