//! The integrity check, exact version: one walk of the log, one walk of
//! the index, on one thread, naming the first fault. `verify_fast.rs` first
//! tries to prove the log sound on all cores; this walk runs only when that
//! proof fails, to say where and why.
//!
//! Walk 1, the log from position 1 up to the head published when `verify`
//! started (later commits are not checked): every position present (no
//! gap), every entry decodes, records its own position, chains to the
//! previous hash, continues its stream's versions, and has its index entry
//! pointing back at it. Then the head record must name the last entry and
//! its hash, with nothing after it.
//!
//! Walk 2, the index: since walk 1 proved that versions `1..=n` of every
//! stream are indexed correctly, an index entry is wrong exactly when its
//! version is above its stream's `n` (or its key is malformed); it is
//! reported at the position it points to.
//!
//! The log must also reach the position of the `WATERMARK` file and hold
//! its hash there.
//!
//! The report is the fault with the lowest position. Walk 1 stops at its
//! first fault `p`; walk 2 then only reports entries pointing below `p`,
//! which can be judged with what walk 1 proved.
//!
//! Per stream, walk 1 keeps a 16-byte BLAKE3 digest of the name and the last
//! version (~40 bytes with the table): 1M streams cost ~40 MB, and no
//! allocation per event.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::{FaultReason, StoreError};
use crate::keys;
use crate::record::{self, GENESIS_HASH};
use crate::types::{Head, VerifyReport};
use crate::{STREAM_NAME_BYTES_MAX, VERIFY_PROGRESS_EVERY};

/// `published` gives the durable head now; it is read at the start and at
/// the end to tell concurrent commits from faults. `watermark` (read before
/// the head) is what the `WATERMARK` file says was durable.
pub(crate) fn verify(
    db: &sled::Db,
    watermark: Head,
    published: &dyn Fn() -> Head,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, StoreError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    match crate::verify_fast::prove_sound(db, watermark, published, progress, cores)? {
        Some(sound) => Ok(sound),
        None => verify_exact(db, watermark, published, progress),
    }
}

/// The exact walk: the fault with the lowest position, or sound.
pub(crate) fn verify_exact(
    db: &sled::Db,
    watermark: Head,
    published: &dyn Fn() -> Head,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, StoreError> {
    let start = published();
    let walked = walk_log(db, start, watermark, progress)?;
    let quiet = published() == start;
    let mut fault = walked.fault.clone();
    if fault.is_none() && quiet {
        fault = check_head_record(db, &walked)?;
    }
    let below = fault.as_ref().map_or(u64::MAX, |f| f.0);
    if let Some(dangling) = walk_index(db, &walked, below, quiet)? {
        if fault.as_ref().is_none_or(|f| dangling.0 < f.0) {
            fault = Some(dangling);
        }
    }
    Ok(match fault {
        Some((position, reason)) => VerifyReport::Fault { position, reason },
        None => VerifyReport::Sound {
            events: walked.last,
            streams: walked.streams.len() as u64,
            head: Head {
                position: walked.last,
                hash: walked.last_hash,
            },
        },
    })
}

type Fault = (u64, FaultReason);

/// A 128-bit digest of a stream name: collisions are not a concern.
pub(crate) type StreamDigest = u128;

struct Walked {
    /// Last position proven sound.
    last: u64,
    last_hash: [u8; 32],
    /// Last proven version of each stream.
    streams: HashMap<StreamDigest, u64, BuildHasherDefault<DigestHasher>>,
    /// A log key past the start head, if the walk saw one.
    beyond: Option<u64>,
    fault: Option<Fault>,
}

fn walk_log(
    db: &sled::Db,
    start: Head,
    watermark: Head,
    progress: &mut dyn FnMut(u64),
) -> Result<Walked, StoreError> {
    let mut walked = Walked {
        last: 0,
        last_hash: GENESIS_HASH,
        streams: HashMap::default(),
        beyond: None,
        fault: None,
    };
    for entry in db.scan_prefix([keys::LOG]) {
        let (key, value) = entry?;
        let expected = walked.last + 1;
        let Some(position) = keys::parse_log_key(&key) else {
            walked.fault = Some((expected, FaultReason::MalformedLogKey));
            break;
        };
        if position > start.position {
            walked.beyond = Some(position);
            break;
        }
        if position != expected {
            walked.fault = Some((expected, FaultReason::Gap));
            break;
        }
        if let Err(reason) = check_entry(db, &mut walked, position, &value)? {
            walked.fault = Some((position, reason));
            break;
        }
        if position == watermark.position && walked.last_hash != watermark.hash {
            walked.fault = Some((position, FaultReason::WatermarkMismatch));
            break;
        }
        if position % VERIFY_PROGRESS_EVERY == 0 {
            progress(position);
        }
    }
    if walked.fault.is_none() && walked.last < watermark.position {
        // sled dropped entries that were durable.
        walked.fault = Some((
            walked.last + 1,
            FaultReason::Truncated {
                watermark: watermark.position,
            },
        ));
    }
    if walked.fault.is_none() && walked.last < start.position {
        // The published head names entries that are not there.
        walked.fault = Some((
            walked.last + 1,
            FaultReason::HeadMismatch {
                head_position: Some(start.position),
                last_position: walked.last,
            },
        ));
    }
    progress(walked.last);
    Ok(walked)
}

/// `Ok(Err(reason))` for a fault at `position`; `Err` for a sled error.
fn check_entry(
    db: &sled::Db,
    walked: &mut Walked,
    position: u64,
    value: &[u8],
) -> Result<Result<(), FaultReason>, StoreError> {
    let stored = match record::decode_stored(value) {
        Ok(stored) => stored,
        Err(e) => {
            return Ok(Err(FaultReason::Undecodable {
                detail: e.to_string(),
            }))
        }
    };
    let envelope = &stored.envelope;
    if envelope.position != position {
        return Ok(Err(FaultReason::PositionMismatch {
            recorded: envelope.position,
        }));
    }
    if record::chain_hash(&walked.last_hash, stored.hashed) != stored.hash {
        return Ok(Err(FaultReason::BrokenChain));
    }
    let stream = envelope.stream;
    if stream.is_empty() || stream.len() > STREAM_NAME_BYTES_MAX {
        return Ok(Err(FaultReason::Undecodable {
            detail: format!("stream name of {} bytes", stream.len()),
        }));
    }
    let last_version = walked.streams.entry(digest(stream.as_bytes())).or_insert(0);
    if envelope.version != *last_version + 1 {
        return Ok(Err(FaultReason::VersionNotContiguous {
            stream: stream.to_owned(),
            expected: *last_version + 1,
            found: envelope.version,
        }));
    }
    match db.get(keys::stream_key(stream, envelope.version))? {
        None => {
            return Ok(Err(FaultReason::IndexMissing {
                stream: stream.to_owned(),
                version: envelope.version,
            }))
        }
        Some(indexed) => {
            let points_to = keys::parse_position_value(&indexed);
            if points_to != Some(position) {
                return Ok(Err(FaultReason::IndexMismatch {
                    stream: stream.to_owned(),
                    version: envelope.version,
                    points_to,
                }));
            }
        }
    }
    *last_version = envelope.version;
    walked.last = position;
    walked.last_hash = stored.hash;
    Ok(Ok(()))
}

/// The head record must name the last entry and its hash, and no entry may
/// follow it. Faults are placed at the first position the head gets wrong.
fn check_head_record(db: &sled::Db, walked: &Walked) -> Result<Option<Fault>, StoreError> {
    let last = walked.last;
    let head = db.get(keys::HEAD)?;
    let decoded = head.as_deref().and_then(record::decode_head);
    let mismatch = |position, head_position| {
        Some((
            position,
            FaultReason::HeadMismatch {
                head_position,
                last_position: last,
            },
        ))
    };
    Ok(match (head, decoded) {
        (None, _) if last == 0 && walked.beyond.is_none() => None,
        (None, _) | (Some(_), None) => mismatch(last.max(1), None),
        (Some(_), Some((position, hash))) => {
            if position != last {
                mismatch(position.min(last) + 1, Some(position))
            } else if hash != walked.last_hash {
                mismatch(last.max(1), Some(position))
            } else if walked.beyond.is_some() {
                mismatch(last + 1, Some(position))
            } else {
                None
            }
        }
    })
}

/// The lowest position (below `below`) that a wrong index entry points at.
/// With commits running (`quiet` false), entries past the walked log may be
/// theirs and are not judged.
fn walk_index(
    db: &sled::Db,
    walked: &Walked,
    below: u64,
    quiet: bool,
) -> Result<Option<Fault>, StoreError> {
    let mut found: Option<Fault> = None;
    let mut current: Option<(Vec<u8>, u64)> = None; // (name, proven versions)
    for entry in db.scan_prefix([keys::STREAM]) {
        let (key, value) = entry?;
        let points_to = keys::parse_position_value(&value);
        let Some((name, version)) = keys::parse_stream_key(&key) else {
            let position = points_to.unwrap_or(walked.last + 1);
            let stream = String::from_utf8_lossy(&key).into_owned();
            consider(&mut found, below, (position, dangling(stream, 0)));
            continue;
        };
        let proven = match &current {
            Some((current_name, proven)) if current_name.as_slice() == name => *proven,
            _ => {
                let proven = walked.streams.get(&digest(name)).copied().unwrap_or(0);
                current = Some((name.to_vec(), proven));
                proven
            }
        };
        if version <= proven {
            continue; // proven by walk 1
        }
        let position = points_to.unwrap_or(walked.last + 1);
        if position > walked.last && !quiet {
            continue; // may belong to a commit made during the walk
        }
        let stream = String::from_utf8_lossy(name).into_owned();
        consider(&mut found, below, (position, dangling(stream, version)));
    }
    Ok(found)
}

fn consider(found: &mut Option<Fault>, below: u64, candidate: Fault) {
    if candidate.0 < below && found.as_ref().is_none_or(|f| candidate.0 < f.0) {
        *found = Some(candidate);
    }
}

fn dangling(stream: String, version: u64) -> FaultReason {
    FaultReason::IndexDangling { stream, version }
}

pub(crate) fn digest(name: &[u8]) -> StreamDigest {
    let hash = blake3::hash(name);
    let bytes: [u8; 16] = hash.as_bytes()[..16]
        .try_into()
        .expect("a BLAKE3 hash has 32 bytes");
    u128::from_le_bytes(bytes)
}

/// The keys are already uniform digests: fold them, do not hash them again.
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = (value as u64) ^ ((value >> 64) as u64);
    }
}
