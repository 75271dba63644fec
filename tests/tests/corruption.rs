//! Corruption tests: damage a copy of a store and check that the store
//! never panics, and that `verify` names the damage precisely.
//!
//! Two kinds of damage:
//! - bytes flipped in sled's own files (`db`, `conf`, `snap.*`): sled checks
//!   its messages with CRCs and may refuse to open, drop a torn tail, or
//!   (for bytes it no longer reads) not notice. Opening must never panic;
//!   when the copy opens, either `verify` reports a fault, or the store is
//!   sound *and* is an exact prefix of the original (its head hash is the
//!   original's hash at that position, so every byte before it is the
//!   original's: the hash chain commits to all of it).
//! - log entries rewritten through sled directly (the store's key layout is
//!   documented in `docket_eventstore`'s crate doc): `verify` must report
//!   exactly the damaged position and why.

use std::path::Path;

use docket_eventstore::record::{self, GENESIS_HASH};
use docket_eventstore::{
    AppendRequest, ExpectedVersion, FaultReason, Head, RecordedEvent, Store, StreamAppend,
    VerifyReport,
};
use docket_tests::store_support::{event, tagged_payload};

const STREAMS: u64 = 20;
const TASKS: u64 = 8;
const APPENDS_PER_TASK: u64 = 50;
const EVENTS_PER_APPEND: u32 = 2;
const EVENTS: u64 = TASKS * APPENDS_PER_TASK * EVENTS_PER_APPEND as u64;

struct Original {
    head: Head,
    /// `log[p - 1]` is the entry at position `p`.
    log: Vec<RecordedEvent>,
}

/// 800 events in 20 streams, appended by 8 concurrent tasks (so in groups).
fn build(dir: &Path) -> Original {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let store = Store::open(dir).expect("open");
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for k in 0..APPENDS_PER_TASK {
                    let request = format!("t{task}-k{k}");
                    let events = (0..EVENTS_PER_APPEND)
                        .map(|i| event(tagged_payload(&request, i, EVENTS_PER_APPEND, 200), 1))
                        .collect();
                    let append = AppendRequest {
                        streams: vec![StreamAppend {
                            stream: format!("ticket-{}", (task * 7 + k) % STREAMS),
                            expected: ExpectedVersion::Any,
                            events,
                        }],
                        idempotency: None,
                    };
                    store.append(append).await.expect("append");
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
    });
    let log = store.read_from(1, usize::MAX).expect("read");
    let head = store.head();
    assert_eq!(head.position, EVENTS);
    store.close().expect("close");
    Original { head, log }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn flipped_bytes_in_sled_files_are_refused_or_detected_and_never_panic() {
    let original_dir = tempfile::tempdir().expect("temp dir");
    let original = build(original_dir.path());
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut outcomes = Vec::new();
    let mut case = 0;
    for file in damageable_files(original_dir.path()) {
        let len = std::fs::metadata(original_dir.path().join(&file))
            .expect("stat")
            .len();
        // A spread of offsets: the start (headers), fixed points, and
        // fractions of the file (live and superseded data, the tail).
        let mut offsets: Vec<u64> = vec![0, 1, 7, 20, 64, 100, 1_000, 4_096, 20_000];
        offsets.extend([10, 25, 50, 75, 90, 99].map(|pct| len * pct / 100));
        offsets.extend([len.saturating_sub(100), len.saturating_sub(1)]);
        offsets.retain(|&o| o < len);
        offsets.sort_unstable();
        offsets.dedup();
        for offset in offsets {
            case += 1;
            let copy = scratch.path().join(format!("case-{case}"));
            copy_dir(original_dir.path(), &copy);
            flip_byte(&copy.join(&file), offset);
            // A panic here (sled's or ours) fails the test.
            let outcome = judge(&copy, &original);
            println!("{file}@{offset}/{len}: {outcome:?}");
            outcomes.push((file.clone(), outcome));
            std::fs::remove_dir_all(&copy).ok();
        }
    }
    for (file, outcome) in &outcomes {
        match file.as_str() {
            // The watermark has two slots: one flip leaves a valid one, and
            // either slot's position is reached by the intact log.
            "WATERMARK" => assert_eq!(*outcome, Outcome::Identical, "{file}"),
            // sled's files: sled refuses, sled truncates (and the watermark
            // written at close refuses the shorter log), verify finds the
            // damage, or the byte was one sled no longer reads. Never a
            // shorter or different log that passes as sound.
            _ => assert!(
                matches!(
                    outcome,
                    Outcome::Refused(_) | Outcome::Fault(..) | Outcome::Identical
                ),
                "{file}: {outcome:?}"
            ),
        }
    }
    // Which early offsets sled still reads depends on how it laid out and
    // cleaned its segments, but the tail of its log is always live.
    let noticed = outcomes
        .iter()
        .filter(|(file, o)| file == "db" && matches!(o, Outcome::Refused(_) | Outcome::Fault(..)))
        .count();
    assert!(
        noticed >= 1,
        "a flip in the tail of sled's log must be noticed"
    );
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// `Store::open` returned an error.
    Refused(String),
    /// It opened; `verify` failed to run (a read error).
    VerifyError(String),
    Fault(u64, FaultReason),
    /// Sound and byte-identical to the original.
    Identical,
}

fn damageable_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n == "db" || n == "conf" || n == "WATERMARK" || n.starts_with("snap."))
        .collect();
    names.sort();
    names
}

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset as usize] ^= 0xFF;
    std::fs::write(path, bytes).expect("write");
}

/// Opens the damaged copy and classifies what the store says. A store that
/// says sound must be the original, byte for byte.
fn judge(copy: &Path, original: &Original) -> Outcome {
    let store = match Store::open(copy) {
        Err(e) => return Outcome::Refused(e.to_string()),
        Ok(store) => store,
    };
    match store.verify(&mut |_| {}) {
        Err(e) => Outcome::VerifyError(e.to_string()),
        Ok(VerifyReport::Fault { position, reason }) => Outcome::Fault(position, reason),
        Ok(VerifyReport::Sound { head, .. }) => {
            assert_eq!(head, original.head, "a sound store is the whole original");
            let log = store.read_from(1, usize::MAX).expect("a sound store reads");
            assert_eq!(log, original.log);
            Outcome::Identical
        }
    }
}

/// The position every rewrite below damages: in the middle of the log.
const P: u64 = 400;

/// Rewrites a copy of the store through sled, then opens it as a store and
/// verifies: the fault report (or the open error).
fn rewrite_and_verify(
    original: &Path,
    scratch: &Path,
    name: &str,
    damage: impl FnOnce(&sled::Db),
) -> Result<VerifyReport, String> {
    let copy = scratch.join(name);
    copy_dir(original, &copy);
    {
        let db = sled::Config::new()
            .path(&copy)
            .open()
            .expect("open the copy with sled");
        damage(&db);
        db.flush().expect("flush");
    }
    let store = Store::open(&copy).map_err(|e| e.to_string())?;
    let report = store.verify(&mut |_| {}).map_err(|e| e.to_string());
    drop(store);
    report
}

fn log_key(position: u64) -> Vec<u8> {
    let mut key = vec![b'L'];
    key.extend_from_slice(&position.to_be_bytes());
    key
}

fn index_key(stream: &str, version: u64) -> Vec<u8> {
    let mut key = vec![b'S'];
    key.extend_from_slice(&(stream.len() as u16).to_be_bytes());
    key.extend_from_slice(stream.as_bytes());
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn get(db: &sled::Db, key: &[u8]) -> Vec<u8> {
    db.get(key)
        .expect("sled get")
        .expect("key present")
        .to_vec()
}

fn fault(position: u64, reason: FaultReason) -> Result<VerifyReport, String> {
    Ok(VerifyReport::Fault { position, reason })
}

#[test]
fn entries_rewritten_through_sled_are_reported_at_their_position() {
    let original_dir = tempfile::tempdir().expect("temp dir");
    let original = build(original_dir.path());
    let scratch = tempfile::tempdir().expect("temp dir");
    let at_p = original.log[P as usize - 1].clone();
    let before_p = original.log[P as usize - 2].hash;
    let from = original_dir.path();
    let dir = scratch.path();

    // Sanity: an untouched copy is sound.
    let untouched = rewrite_and_verify(from, dir, "untouched", |_| {});
    assert!(
        matches!(untouched, Ok(VerifyReport::Sound { events: EVENTS, .. })),
        "{untouched:?}"
    );

    let flipped = rewrite_and_verify(from, dir, "payload-byte", |db| {
        let mut value = get(db, &log_key(P));
        let last_payload_byte = value.len() - 32 - 1; // the payload is the last field
        value[last_payload_byte] ^= 0x01;
        db.insert(log_key(P), value).expect("insert");
    });
    assert_eq!(flipped, fault(P, FaultReason::BrokenChain));

    let deleted = rewrite_and_verify(from, dir, "deleted", |db| {
        db.remove(log_key(P)).expect("remove");
    });
    assert_eq!(deleted, fault(P, FaultReason::Gap));

    let swapped = rewrite_and_verify(from, dir, "swapped", |db| {
        let (a, b) = (get(db, &log_key(P)), get(db, &log_key(P + 1)));
        db.insert(log_key(P), b).expect("insert");
        db.insert(log_key(P + 1), a).expect("insert");
    });
    assert_eq!(
        swapped,
        fault(P, FaultReason::PositionMismatch { recorded: P + 1 })
    );

    let torn = rewrite_and_verify(from, dir, "torn", |db| {
        let value = get(db, &log_key(P));
        db.insert(log_key(P), &value[..value.len() / 2])
            .expect("insert");
    });
    assert!(
        matches!(
            torn,
            Ok(VerifyReport::Fault {
                position: P,
                reason: FaultReason::Undecodable { .. }
            })
        ),
        "{torn:?}"
    );

    // A changed field with its hash recomputed over the new bytes but not
    // chained to the previous entry.
    let forged = RecordedEvent {
        actor: docket_eventstore::EnvelopeActor {
            sub: "mallory".into(),
            ..at_p.actor.clone()
        },
        ..at_p.clone()
    };
    let unchained = record::encode(&forged, &GENESIS_HASH);
    let reencoded = rewrite_and_verify(from, dir, "re-encoded", |db| {
        db.insert(log_key(P), unchained).expect("insert");
    });
    assert_eq!(reencoded, fault(P, FaultReason::BrokenChain));

    // Chained correctly to P - 1, the forgery holds at P, and the chain
    // breaks at P + 1, whose hash covers the original entry's hash.
    let chained = record::encode(&forged, &before_p);
    let rechained = rewrite_and_verify(from, dir, "re-chained", |db| {
        db.insert(log_key(P), chained).expect("insert");
    });
    assert_eq!(rechained, fault(P + 1, FaultReason::BrokenChain));

    let (stream, version) = (at_p.stream.clone(), at_p.version);
    let unindexed = rewrite_and_verify(from, dir, "index-missing", |db| {
        db.remove(index_key(&stream, version)).expect("remove");
    });
    assert_eq!(
        unindexed,
        fault(
            P,
            FaultReason::IndexMissing {
                stream: stream.clone(),
                version
            }
        )
    );

    let misindexed = rewrite_and_verify(from, dir, "index-elsewhere", |db| {
        db.insert(index_key(&stream, version), &(P + 1).to_be_bytes())
            .expect("insert");
    });
    assert_eq!(
        misindexed,
        fault(
            P,
            FaultReason::IndexMismatch {
                stream: stream.clone(),
                version,
                points_to: Some(P + 1)
            }
        )
    );

    let dangling = rewrite_and_verify(from, dir, "index-dangling", |db| {
        db.insert(index_key(&stream, 9_999), &P.to_be_bytes())
            .expect("insert");
    });
    assert_eq!(
        dangling,
        fault(
            P,
            FaultReason::IndexDangling {
                stream: stream.clone(),
                version: 9_999
            }
        )
    );

    // A head record rolled back to P: the entry after it gives it away.
    let head_back = rewrite_and_verify(from, dir, "head-rolled-back", |db| {
        let mut head = vec![1u8];
        head.extend_from_slice(&P.to_be_bytes());
        head.extend_from_slice(&at_p.hash);
        db.insert(b"M", head).expect("insert");
    });
    let refused = head_back.expect_err("open refuses a head with entries after it");
    assert!(
        refused.contains(&format!("position {}", P + 1)),
        "{refused}"
    );

    // The log cut at P (the way sled drops a tail after a bad CRC), with a
    // consistent head record: only the watermark tells.
    let cut = rewrite_and_verify(from, dir, "tail-cut", |db| {
        for position in P + 1..=EVENTS {
            db.remove(log_key(position)).expect("remove");
        }
        for event in &original.log[P as usize..] {
            db.remove(index_key(&event.stream, event.version))
                .expect("remove");
        }
        let mut head = vec![1u8];
        head.extend_from_slice(&P.to_be_bytes());
        head.extend_from_slice(&at_p.hash);
        db.insert(b"M", head).expect("insert");
    });
    let refused = cut.expect_err("open refuses a log shorter than the watermark");
    assert!(
        refused.contains(&format!("position {}", P + 1)) && refused.contains("truncated"),
        "{refused}"
    );
}
