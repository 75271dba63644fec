//! `verify`: the event store's integrity check (`Store::verify`) with
//! progress and a summary, and the comparison with a head recorded earlier.
//!
//! The check walks the log once: every position from 1 to the head present,
//! every entry decodes and records its own position, its hash is
//! `blake3(previous hash || entry)`, each stream's versions follow on, the
//! index points at each entry and at nothing else, and the head record
//! names the last entry. A sound chain proves the log is internally
//! consistent; only a head hash recorded earlier (`--expect-head`) proves it
//! is the same log (see `docs/audit.md`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::Digest;

use clap::Args;
use docket_app::wire::hex;
use docket_eventstore::record::{GENESIS_HASH, HASH_BYTES};
use docket_eventstore::{Head, Store, VerifyReport};

use crate::error::ReplayError;
use crate::progress;

/// Check the log's integrity: hash chain, gapless positions, stream
/// versions, index and head record. Exit 1 with the position and reason of
/// the first fault.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A head recorded earlier: `HASH` (the head must still be exactly it),
    /// or `POS:HASH` as the summary prints it (the entry at POS must still
    /// have this hash, which proves positions 1..=POS unchanged; the log may
    /// have grown since). Exit 1 if it differs.
    #[arg(long, value_name = "[POS:]HASH", value_parser = parse_expected_head)]
    pub expect_head: Option<ExpectedHead>,
}

/// A head recorded earlier, in hex as the summary prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedHead {
    /// `None`: the head itself, wherever it is now.
    pub position: Option<u64>,
    pub hash: [u8; HASH_BYTES],
}

/// Where the attachments the log names are to be checked.
pub enum Attachments {
    /// In the data folder at this root (`attachments/<2 hex>/<sha256>`).
    InFolder(PathBuf),
    /// Not checked: the log came from the JetStream stream.
    NotChecked,
}

/// Events read per batch while looking for attachments.
const ATTACHMENT_SCAN_BATCH: usize = 4096;

pub fn run(
    store: &Store,
    args: &VerifyArgs,
    attachments: &Attachments,
    mut out: impl Write,
) -> Result<(), ReplayError> {
    let bar = progress::events(store.head().position, "verifying");
    let started = Instant::now();
    let report = store.verify(&mut |position| bar.set_position(position));
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let (events, streams, head) = match report? {
        VerifyReport::Fault { position, reason } => {
            return Err(ReplayError::Fault { position, reason })
        }
        VerifyReport::Sound {
            events,
            streams,
            head,
        } => (events, streams, head),
    };
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        format!(" ({:.0} events/s)", events as f64 / seconds)
    } else {
        String::new()
    };
    let hash = hex(&head.hash);
    writeln!(
        out,
        "sound: hash chain, positions, stream versions, index and head record agree\n\
         events:     {events}\n\
         streams:    {streams}\n\
         head:       {position}\n\
         head hash:  {hash}\n\
         checked in: {seconds:.2} s{rate}\n\
         to compare later: docket-replay verify --expect-head {position}:{hash}",
        position = head.position,
    )
    .map_err(ReplayError::Output)?;
    if let Some(expected) = &args.expect_head {
        compare_head(store, head, expected)?;
        writeln!(out, "expected head: matches").map_err(ReplayError::Output)?;
    }
    match attachments {
        Attachments::InFolder(root) => {
            let checked = check_attachments(store, root)?;
            writeln!(out, "attachments: {checked} named by the log, each present with its SHA-256")
                .map_err(ReplayError::Output)?;
        }
        Attachments::NotChecked => writeln!(
            out,
            "attachments: not checked (the log was read from NATS; their bytes are in the data folder)"
        )
        .map_err(ReplayError::Output)?,
    }
    out.flush().map_err(ReplayError::Output)
}

/// Every attachment an `attachment_added` event names must be stored with
/// the SHA-256 (and size) it records: the first that is not is a fault,
/// `attachment_missing` or `attachment_altered`, with the event's position.
fn check_attachments(store: &Store, root: &Path) -> Result<u64, ReplayError> {
    let folder = docket_app::attachments::attachments_dir(root);
    let mut checked = 0u64;
    let mut from = 1u64;
    loop {
        let batch = store.read_from(from, ATTACHMENT_SCAN_BATCH)?;
        let Some(last) = batch.last() else {
            return Ok(checked);
        };
        from = last.position + 1;
        for entry in batch.iter().filter(|e| e.event_type == "attachment_added") {
            let event = docket_domain::codec::decode(
                &entry.event_type,
                entry.schema_version,
                &entry.payload,
            )
            .map_err(|error| ReplayError::Undecodable {
                position: entry.position,
                detail: error.to_string(),
            })?;
            let docket_domain::Event::AttachmentAdded(added) = event else {
                continue;
            };
            let path = docket_app::attachments::stored_path(&folder, &added.sha256);
            let fault = |fault, detail: String| ReplayError::Attachment {
                position: entry.position,
                fault,
                sha256: added.sha256.clone(),
                detail,
            };
            let mut file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(error) => {
                    return Err(fault(
                        "attachment_missing",
                        format!("{}: {error}", path.display()),
                    ))
                }
            };
            let mut hasher = sha2::Sha256::new();
            let size =
                std::io::copy(&mut file, &mut hasher).map_err(|source| ReplayError::Read {
                    path: path.clone(),
                    source,
                })?;
            let found = hex(&hasher.finalize());
            if found != added.sha256 || size != added.size {
                return Err(fault(
                    "attachment_altered",
                    format!("{} holds {size} bytes with SHA-256 {found}", path.display()),
                ));
            }
            checked += 1;
        }
    }
}

/// `Ok` if the log still holds the recorded head. Runs after a sound
/// verify, so the hash at a position vouches for every entry before it.
fn compare_head(store: &Store, head: Head, expected: &ExpectedHead) -> Result<(), ReplayError> {
    let Some(position) = expected.position else {
        if head.hash == expected.hash {
            return Ok(());
        }
        return Err(ReplayError::HeadDiffers(format!(
            "the head hash differs: expected {}, found {} (head at position {}); the log was \
             rewritten, or it grew since the hash was recorded (record POS:HASH to allow growth)",
            hex(&expected.hash),
            hex(&head.hash),
            head.position
        )));
    };
    if position > head.position {
        return Err(ReplayError::HeadDiffers(format!(
            "the log ends at position {}, before the recorded head at position {position}: \
             entries were removed, or this is another log",
            head.position
        )));
    }
    let found = match position {
        0 => GENESIS_HASH,
        _ => {
            let entry = store.read_from(position, 1)?;
            let first = entry.first().ok_or(ReplayError::Fault {
                position,
                reason: docket_eventstore::FaultReason::Gap,
            })?;
            first.hash
        }
    };
    if found == expected.hash {
        return Ok(());
    }
    Err(ReplayError::HeadDiffers(format!(
        "the entry at position {position} has hash {}, the recorded head says {}: the log up to \
         position {position} is not the one recorded (it was rewritten from some point on)",
        hex(&found),
        hex(&expected.hash)
    )))
}

/// `HASH` or `POS:HASH`, the hash as 64 hex digits.
fn parse_expected_head(text: &str) -> Result<ExpectedHead, String> {
    let (position, hash) = match text.split_once(':') {
        None => (None, text),
        Some((position, hash)) => {
            let position = position
                .parse::<u64>()
                .map_err(|_| format!("`{position}` is not a log position"))?;
            (Some(position), hash)
        }
    };
    let hash = parse_hash(hash)
        .ok_or_else(|| format!("`{hash}` is not a head hash: {} hex digits", HASH_BYTES * 2))?;
    Ok(ExpectedHead { position, hash })
}

fn parse_hash(text: &str) -> Option<[u8; HASH_BYTES]> {
    // `from_str_radix` alone would take a sign ("+a").
    if text.len() != HASH_BYTES * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut hash = [0u8; HASH_BYTES];
    for (byte, pair) in hash.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_heads_are_a_hash_or_a_position_and_a_hash() {
        let hash = "ab".repeat(32);
        assert_eq!(
            parse_expected_head(&hash),
            Ok(ExpectedHead {
                position: None,
                hash: [0xab; 32]
            })
        );
        assert_eq!(
            parse_expected_head(&format!("42:{}", hash.to_uppercase())),
            Ok(ExpectedHead {
                position: Some(42),
                hash: [0xab; 32]
            })
        );
        assert!(parse_expected_head(&hash[..62]).is_err());
        assert!(parse_expected_head(&format!("x:{hash}")).is_err());
        assert!(parse_expected_head(&format!("{}zz", &hash[..62])).is_err());
        assert!(parse_expected_head(&format!("+a{}", &hash[2..])).is_err());
    }
}
