//! Unit tests of the store through its public API (plus raw sled access where
//! a test must look under it). Past ~600 lines on purpose: one file of
//! tests that share the store-opening and request-building helpers.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::*;

const T0: i64 = 1_750_000_000_000_000_000;

fn new_event(tag: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "TestHappened".into(),
        schema_version: 1,
        recorded_at_unix_nanos: T0,
        actor: EnvelopeActor {
            sub: "agent-1".into(),
            role: "agent".into(),
            org: "acme".into(),
        },
        correlation_id: Uuid::from_u128(1),
        causation_id: None,
        idempotency_key: None,
        payload: tag.as_bytes().to_vec(),
    }
}

fn to_stream(stream: &str, expected: ExpectedVersion, tags: &[&str]) -> StreamAppend {
    StreamAppend {
        stream: stream.into(),
        expected,
        events: tags.iter().map(|t| new_event(t)).collect(),
    }
}

pub(crate) fn single(stream: &str, expected: ExpectedVersion, tags: &[&str]) -> AppendRequest {
    AppendRequest {
        streams: vec![to_stream(stream, expected, tags)],
        idempotency: None,
    }
}

fn keyed(stream: &str, key: &str, at: i64) -> AppendRequest {
    AppendRequest {
        streams: vec![to_stream(stream, ExpectedVersion::Any, &["k"])],
        idempotency: Some(NewIdempotencyRecord {
            key: key.as_bytes().to_vec(),
            fingerprint: [7; 32],
            response: b"201".to_vec(),
            recorded_at_unix_nanos: at,
        }),
    }
}

fn committed(outcome: AppendOutcome) -> (u64, u64, Vec<u64>) {
    match outcome {
        AppendOutcome::Committed {
            first_position,
            last_position,
            stream_versions,
        } => (first_position, last_position, stream_versions),
        AppendOutcome::Duplicate(record) => panic!("expected a commit, got duplicate {record:?}"),
    }
}

fn payloads(events: &[RecordedEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| String::from_utf8_lossy(&e.payload).into_owned())
        .collect()
}

fn assert_sound(store: &Store, events: u64, streams: u64) {
    match store.verify(&mut |_| {}).expect("verify runs") {
        VerifyReport::Sound {
            events: e,
            streams: s,
            head,
        } => {
            assert_eq!((e, s), (events, streams));
            assert_eq!(head, store.head());
        }
        fault => panic!("expected sound, got {fault:?}"),
    }
}

#[tokio::test]
async fn appended_events_read_back_with_positions_versions_and_envelope() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let request = single("ticket-a", ExpectedVersion::NoStream, &["a1", "a2", "a3"]);
    let sent = request.streams[0].events.clone();
    assert_eq!(
        committed(store.append(request).await.expect("append")),
        (1, 3, vec![3])
    );
    let outcome = store
        .append(single("ticket-b", ExpectedVersion::Any, &["b1", "b2"]))
        .await
        .expect("append");
    assert_eq!(committed(outcome), (4, 5, vec![2]));

    let a = store.read_stream("ticket-a").expect("read");
    assert_eq!(payloads(&a), ["a1", "a2", "a3"]);
    assert_eq!(
        a.iter()
            .map(|e| (e.position, e.version))
            .collect::<Vec<_>>(),
        [(1, 1), (2, 2), (3, 3)]
    );
    let first = &a[0];
    assert_eq!(
        (
            first.event_id,
            &first.event_type,
            first.schema_version,
            &first.actor,
            first.recorded_at_unix_nanos
        ),
        (sent[0].event_id, &sent[0].event_type, 1, &sent[0].actor, T0)
    );
    assert_eq!(store.stream_version("ticket-a").expect("version"), 3);
    assert_eq!(store.stream_version("ticket-b").expect("version"), 2);
    assert_eq!(store.stream_version("ticket-").expect("version"), 0);
    assert_eq!(
        payloads(&store.read_stream_range("ticket-a", 2, 1).expect("range")),
        ["a2"]
    );

    let all = store.read_from(0, 100).expect("read_from");
    assert_eq!(payloads(&all), ["a1", "a2", "a3", "b1", "b2"]);
    assert_eq!(payloads(&store.read_from(4, 1).expect("read_from")), ["b1"]);
    assert!(store.read_from(6, 10).expect("read_from").is_empty());
    assert_eq!(
        store.head(),
        Head {
            position: 5,
            hash: all[4].hash
        }
    );
    assert_eq!(*store.watch_head().borrow(), 5);
    assert_sound(&store, 5, 2);
}

#[tokio::test]
async fn expected_versions_are_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    store
        .append(single("s", ExpectedVersion::NoStream, &["1"]))
        .await
        .expect("append");
    let err = store
        .append(single("s", ExpectedVersion::NoStream, &["2"]))
        .await;
    assert!(matches!(
        err,
        Err(StoreError::VersionMismatch { ref stream, expected: ExpectedVersion::NoStream, actual: 1 }) if stream == "s"
    ));
    let err = store
        .append(single("s", ExpectedVersion::Exact(0), &["2"]))
        .await;
    assert!(matches!(
        err,
        Err(StoreError::VersionMismatch { actual: 1, .. })
    ));
    let ok = store
        .append(single("s", ExpectedVersion::Exact(1), &["2"]))
        .await
        .expect("append");
    assert_eq!(committed(ok), (2, 2, vec![2]));
    assert_eq!(
        store.head().position,
        2,
        "rejected appends take no position"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appenders_to_one_stream_lose_no_update() {
    const TASKS: usize = 16;
    const EACH: usize = 20;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u32;
            for i in 0..EACH {
                loop {
                    // Read-modify-write: the version read is the one expected.
                    let version = store.stream_version("counter").expect("version");
                    let tag = format!("{task}-{i}");
                    match store
                        .append(single("counter", ExpectedVersion::Exact(version), &[&tag]))
                        .await
                    {
                        Ok(outcome) => {
                            assert_eq!(committed(outcome).2, vec![version + 1]);
                            break;
                        }
                        Err(StoreError::VersionMismatch { .. }) => conflicts += 1,
                        Err(e) => panic!("append failed: {e}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.expect("task");
    }
    let events = store.read_stream("counter").expect("read");
    assert_eq!(events.len(), TASKS * EACH);
    let mut tags = payloads(&events);
    tags.sort();
    tags.dedup();
    assert_eq!(
        tags.len(),
        TASKS * EACH,
        "every update present exactly once"
    );
    assert!(conflicts > 0, "16 racing appenders must have conflicted");
    assert_sound(&store, (TASKS * EACH) as u64, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creators_of_one_stream_have_one_winner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let attempts = (0..32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append(single(
                    "ticket-x",
                    ExpectedVersion::NoStream,
                    &[&i.to_string()],
                ))
                .await
        })
    });
    let mut wins = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.expect("task") {
            Ok(_) => wins += 1,
            Err(StoreError::VersionMismatch { actual: 1, .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.head().position, 1);
}

#[tokio::test]
async fn a_multi_stream_append_lands_whole_or_not_at_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    store
        .append(single("parent", ExpectedVersion::NoStream, &["p1"]))
        .await
        .expect("append");

    let refused = AppendRequest {
        streams: vec![
            to_stream("parent", ExpectedVersion::Exact(1), &["p2"]),
            to_stream("child", ExpectedVersion::Exact(5), &["c1"]),
        ],
        idempotency: None,
    };
    assert!(matches!(
        store.append(refused).await,
        Err(StoreError::VersionMismatch { ref stream, actual: 0, .. }) if stream == "child"
    ));
    assert_eq!(store.head().position, 1);
    assert_eq!(store.stream_version("parent").expect("version"), 1);

    let accepted = AppendRequest {
        streams: vec![
            to_stream("child", ExpectedVersion::NoStream, &["c1", "c2"]),
            to_stream("parent", ExpectedVersion::Exact(1), &["p2"]),
        ],
        idempotency: None,
    };
    let outcome = store.append(accepted).await.expect("append");
    assert_eq!(committed(outcome), (2, 4, vec![2, 2]));
    assert_eq!(
        payloads(&store.read_from(2, 3).expect("read")),
        ["c1", "c2", "p2"]
    );
    assert_sound(&store, 4, 2);
}

#[tokio::test]
async fn invalid_requests_are_refused_before_the_writer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let empty = AppendRequest {
        streams: vec![],
        idempotency: None,
    };
    let no_events = single("s", ExpectedVersion::Any, &[]);
    let twice = AppendRequest {
        streams: vec![
            to_stream("s", ExpectedVersion::Any, &["1"]),
            to_stream("s", ExpectedVersion::Any, &["2"]),
        ],
        idempotency: None,
    };
    let long_name = single(
        &"x".repeat(STREAM_NAME_BYTES_MAX + 1),
        ExpectedVersion::Any,
        &["1"],
    );
    for request in [empty, no_events, twice, long_name] {
        assert!(matches!(
            store.append(request).await,
            Err(StoreError::InvalidRequest(_))
        ));
    }
    assert_eq!(store.head().position, 0);
}

#[tokio::test]
async fn a_recorded_idempotency_key_returns_its_record_until_it_expires() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let ttl = IDEMPOTENCY_TTL.as_nanos() as i64;
    assert_eq!(
        committed(store.append(keyed("s", "key-1", T0)).await.expect("append")),
        (1, 1, vec![1])
    );

    let expected = IdempotencyRecord {
        fingerprint: [7; 32],
        response: b"201".to_vec(),
        first_position: 1,
        last_position: 1,
        recorded_at_unix_nanos: T0,
    };
    let retry = store
        .append(keyed("s", "key-1", T0 + 1_000))
        .await
        .expect("append");
    assert_eq!(retry, AppendOutcome::Duplicate(expected.clone()));
    assert_eq!(store.head().position, 1, "a duplicate appends nothing");
    assert_eq!(
        store
            .idempotency_record(b"key-1", T0 + ttl - 1)
            .expect("read"),
        Some(expected)
    );
    assert_eq!(
        store.idempotency_record(b"key-1", T0 + ttl).expect("read"),
        None
    );
    assert_eq!(store.idempotency_record(b"key-2", T0).expect("read"), None);

    // After the TTL the key is free again and is recorded anew.
    let again = store
        .append(keyed("s", "key-1", T0 + ttl))
        .await
        .expect("append");
    assert_eq!(committed(again), (2, 2, vec![2]));
    let record = store
        .idempotency_record(b"key-1", T0 + ttl)
        .expect("read")
        .expect("recorded");
    assert_eq!(
        (record.first_position, record.recorded_at_unix_nanos),
        (2, T0 + ttl)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_twice_in_one_group_commits_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    // Many concurrent sends land in few groups; whichever way they are
    // grouped, exactly one commits and the others see its record.
    let sends = (0..16).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.append(keyed("s", "same-key", T0)).await })
    });
    let mut commits = Vec::new();
    let mut duplicates = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        match send.await.expect("task").expect("append") {
            AppendOutcome::Committed { first_position, .. } => commits.push(first_position),
            AppendOutcome::Duplicate(record) => duplicates.push(record.first_position),
        }
    }
    assert_eq!(commits.len(), 1);
    assert!(duplicates.iter().all(|&p| p == commits[0]));
    assert_eq!(store.head().position, 1);
}

#[tokio::test]
async fn expired_idempotency_records_are_pruned_by_later_commits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let ttl = IDEMPOTENCY_TTL.as_nanos() as i64;
    for i in 0..10 {
        store
            .append(keyed("s", &format!("old-{i}"), T0 + i))
            .await
            .expect("append");
    }
    store
        .append(keyed("s", "young", T0 + ttl / 2))
        .await
        .expect("append");
    let db = store.db();
    assert_eq!(db.scan_prefix(b"I").count(), 11);
    // A commit whose clock is past the TTL of the old keys prunes them.
    store
        .append(keyed("s", "late", T0 + ttl + 100))
        .await
        .expect("append");
    let left: Vec<_> = db
        .scan_prefix(b"I")
        .keys()
        .map(|k| String::from_utf8_lossy(&k.expect("key")[1..]).into_owned())
        .collect();
    assert_eq!(left, ["late", "young"]);
    assert_eq!(db.scan_prefix(b"E").count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_catches_up_then_follows_live_commits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    for i in 0..5 {
        store
            .append(single("s", ExpectedVersion::Any, &[&format!("e{i}")]))
            .await
            .expect("append");
    }
    let mut subscription = store.subscribe(2);
    let caught_up = subscription.next_batch(3).await.expect("batch");
    assert_eq!(payloads(&caught_up), ["e1", "e2", "e3"]);
    assert_eq!(
        payloads(&subscription.next_batch(100).await.expect("batch")),
        ["e4"]
    );

    let writer = store.clone();
    let live = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        for i in 5..8 {
            writer
                .append(single("t", ExpectedVersion::Any, &[&format!("e{i}")]))
                .await
                .expect("append");
        }
    });
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let batch = tokio::time::timeout(Duration::from_secs(10), subscription.next_batch(100))
            .await
            .expect("live events arrive")
            .expect("batch");
        seen.extend(payloads(&batch));
    }
    assert_eq!(seen, ["e5", "e6", "e7"]);
    assert_eq!(subscription.next_position(), 9);
    live.await.expect("task");

    let mut from_zero = store.subscribe(0);
    assert_eq!(from_zero.next_batch(1).await.expect("batch")[0].position, 1);

    // Once the writer stops, a caught-up subscription ends.
    let pending = tokio::spawn(async move { subscription.next_batch(1).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.close().expect("close");
    let ended = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("ends");
    assert!(matches!(ended.expect("task"), Err(StoreError::Closed)));
}

#[tokio::test]
async fn reopening_keeps_head_hash_and_continues_the_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    for i in 0..20 {
        let stream = format!("ticket-{}", i % 3);
        store
            .append(single(&stream, ExpectedVersion::Any, &["x", "y"]))
            .await
            .expect("append");
    }
    let head = store.head();
    assert_eq!(head.position, 40);
    store.close().expect("close");

    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.head(), head);
    assert_eq!(store.stream_version("ticket-0").expect("version"), 14);
    let outcome = store
        .append(single("ticket-0", ExpectedVersion::Exact(14), &["z"]))
        .await
        .expect("append");
    assert_eq!(committed(outcome), (41, 41, vec![15]));
    assert_sound(&store, 41, 3);
    drop(store); // dropping without close also stops the writer and unlocks

    let store = Store::open(dir.path()).expect("reopen after drop");
    assert_eq!(store.head().position, 41);
}

#[tokio::test]
async fn a_second_open_of_the_folder_is_refused_as_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::InUse { .. })
    ));
    store.close().expect("close");
    Store::open(dir.path()).expect("open after close");
}

#[tokio::test]
async fn sequence_numbers_only_grow_across_reopens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let mut first = Vec::new();
    for _ in 0..5 {
        first.push(store.next_sequence().await.expect("sequence"));
    }
    assert_eq!(first, [1, 2, 3, 4, 5]);
    store.close().expect("close");
    let store = Store::open(dir.path()).expect("reopen");
    let next = store.next_sequence().await.expect("sequence");
    assert!(
        next > 5,
        "numbers reserved before the reopen are skipped, never reused"
    );
    assert_eq!(store.next_sequence().await.expect("sequence"), next + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_across_block_reservations_get_distinct_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let callers = 3 * crate::SEQUENCE_BLOCK as usize;
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.next_sequence().await.expect("sequence") })
        })
        .collect();
    let mut numbers = Vec::with_capacity(callers);
    for task in tasks {
        numbers.push(task.await.expect("task"));
    }
    numbers.sort_unstable();
    let expected: Vec<u64> = (1..=callers as u64).collect();
    assert_eq!(numbers, expected, "each number once, none skipped");
}

#[tokio::test]
async fn appends_after_close_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let other = store.clone();
    store.close().expect("close");
    assert!(matches!(
        other
            .append(single("s", ExpectedVersion::Any, &["1"]))
            .await,
        Err(StoreError::Closed)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_counts_a_larger_log_and_reports_progress() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for task in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let stream = format!("ticket-{task}-{}", i % 5);
                store
                    .append(single(&stream, ExpectedVersion::Any, &["a", "b"]))
                    .await
                    .expect("append");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let mut last_progress = 0;
    let report = store.verify(&mut |p| last_progress = p).expect("verify");
    assert!(matches!(
        report,
        VerifyReport::Sound {
            events: 400,
            streams: 40,
            ..
        }
    ));
    assert_eq!(last_progress, 400);
    let stats = store.stats();
    assert_eq!((stats.appends, stats.events), (200, 400));
    assert!(stats.commits >= 1 && stats.commits <= 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parallel_proof_and_the_exact_walk_agree_on_a_sound_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    for i in 0..300u64 {
        let streams = (0..1 + i % 3)
            .map(|s| {
                to_stream(
                    &format!("ticket-{}", (i + s * 7) % 23),
                    ExpectedVersion::Any,
                    &["e"; 4],
                )
            })
            .collect();
        store
            .append(AppendRequest {
                streams,
                idempotency: None,
            })
            .await
            .expect("append");
    }
    let db = store.db();
    let watermark = Head::default();
    let published = || store.head();
    // Force many ranges on a small log: the merge across ranges is the part
    // that a single range would not exercise.
    for ranges in [1, 2, 7] {
        let fast =
            crate::verify_fast::prove_sound_in(db, watermark, &published, &mut |_| {}, ranges)
                .expect("runs");
        let exact =
            crate::verify::verify_exact(db, watermark, &published, &mut |_| {}).expect("runs");
        assert!(
            matches!(
                exact,
                VerifyReport::Sound {
                    events: 2400,
                    streams: 23,
                    ..
                }
            ),
            "{exact:?}"
        );
        assert_eq!(fast, Some(exact), "ranges = {ranges}");
    }
    // One index entry pointing elsewhere: the proof fails, so the exact walk
    // runs and names the entry.
    let stream_key = crate::keys::stream_key("ticket-0", 1);
    let moved = db.get(&stream_key).expect("get").expect("indexed");
    db.insert(&stream_key, &2400u64.to_be_bytes())
        .expect("insert");
    let fast = crate::verify_fast::prove_sound_in(db, watermark, &published, &mut |_| {}, 3)
        .expect("runs");
    assert_eq!(fast, None);
    let position = u64::from_be_bytes(moved.as_ref().try_into().expect("8 bytes"));
    assert!(matches!(
        store.verify(&mut |_| {}).expect("runs"),
        VerifyReport::Fault { position: p, reason: FaultReason::IndexMismatch { .. } } if p == position
    ));
}

/// What a crash in the middle of a group commit leaves (writes are plain
/// inserts, the head record last): the group's keys without its head
/// record. Made here by committing the group, then putting back the head
/// record and the watermark from before it.
#[tokio::test]
async fn opening_removes_a_group_commit_torn_by_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    store
        .append(single("ticket-a", ExpectedVersion::NoStream, &["a1", "a2"]))
        .await
        .expect("append");
    let durable = store.head();
    store.close().expect("close");
    let watermark_before = std::fs::read(dir.path().join("WATERMARK")).expect("watermark");

    let request_b = || AppendRequest {
        streams: vec![
            to_stream("ticket-b", ExpectedVersion::NoStream, &["b1"]),
            to_stream("ticket-a", ExpectedVersion::Exact(2), &["a3"]),
        ],
        ..keyed("unused", "key-b", T0)
    };
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(
        committed(store.append(request_b()).await.expect("append")).0,
        3
    );
    store.close().expect("close");

    {
        let db = crate::open::open_sled(dir.path(), crate::SLED_CACHE_BYTES).expect("raw sled");
        assert!(db.get(crate::keys::PENDING_KEYS).expect("get").is_some());
        let head = crate::record::encode_head(durable.position, &durable.hash);
        db.insert(crate::keys::HEAD, &head[..]).expect("insert");
        db.flush().expect("flush");
    }
    std::fs::write(dir.path().join("WATERMARK"), watermark_before).expect("watermark");

    let store = Store::open(dir.path()).expect("open removes the torn tail");
    assert_eq!(store.head(), durable);
    assert_eq!(store.read_stream("ticket-b").expect("read"), vec![]);
    assert_eq!(
        payloads(&store.read_stream("ticket-a").expect("read")),
        ["a1", "a2"]
    );
    assert!(store
        .idempotency_record(b"key-b", T0)
        .expect("read")
        .is_none());
    let db = store.db();
    assert!(db.get(crate::keys::log_key(3)).expect("get").is_none());
    assert!(db.get(crate::keys::PENDING_KEYS).expect("get").is_none());
    assert!(db
        .get(crate::keys::idempotency_key(b"key-b"))
        .expect("get")
        .is_none());
    assert!(db
        .get(crate::keys::expiry_key(T0, b"key-b"))
        .expect("get")
        .is_none());
    assert_eq!(
        db.scan_prefix(crate::keys::stream_prefix("ticket-b"))
            .count(),
        0
    );
    assert_sound(&store, 2, 1);

    // The retry of the torn request commits: its key was never recorded.
    assert_eq!(
        committed(store.append(request_b()).await.expect("append")),
        (3, 4, vec![1, 3])
    );
    assert_sound(&store, 4, 2);
}

/// A head record behind the watermark is not a torn commit: the entries
/// after it were durable once, so opening refuses instead of removing them.
#[tokio::test]
async fn entries_after_the_head_up_to_the_watermark_are_refused_not_removed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    store
        .append(single("ticket-a", ExpectedVersion::NoStream, &["a1"]))
        .await
        .expect("append");
    let first = store.head();
    store
        .append(keyed("ticket-a", "key-2", T0))
        .await
        .expect("append");
    store.close().expect("close");
    {
        let db = crate::open::open_sled(dir.path(), crate::SLED_CACHE_BYTES).expect("raw sled");
        let head = crate::record::encode_head(first.position, &first.hash);
        db.insert(crate::keys::HEAD, &head[..]).expect("insert");
        db.flush().expect("flush");
    }
    match Store::open(dir.path()) {
        Err(StoreError::Corrupt {
            position: 2,
            reason:
                FaultReason::HeadMismatch {
                    head_position: Some(1),
                    last_position: 2,
                },
        }) => {}
        other => panic!("expected a head mismatch at 2, got {:?}", other.map(|_| ())),
    }
    let db = crate::open::open_sled(dir.path(), crate::SLED_CACHE_BYTES).expect("raw sled");
    assert!(db.get(crate::keys::log_key(2)).expect("get").is_some());
    assert!(db
        .get(crate::keys::idempotency_key(b"key-2"))
        .expect("get")
        .is_some());
}

/// Copies a closed store's folder (sled's files, `LOCK`, `WATERMARK`).
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn all_keys(dir: &std::path::Path) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    keys_in(&crate::open::open_sled(dir, crate::SLED_CACHE_BYTES).expect("raw sled"))
}

fn keys_in(db: &sled::Db) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    db.iter()
        .map(|kv| {
            let (k, v) = kv.expect("read");
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

/// sled recovers the writer's inserts as a prefix of their order; every
/// such prefix of a group commit must open as the store before the group.
/// The group's writes are recovered as the keys it changed, put in the
/// order `writer.rs` writes them.
#[tokio::test]
async fn every_prefix_of_a_group_commit_opens_as_the_store_before_it() {
    let root = tempfile::tempdir().expect("temp dir");
    let (base, full) = (root.path().join("base"), root.path().join("full"));
    let store = Store::open(&base).expect("open");
    store
        .append(single("ticket-a", ExpectedVersion::NoStream, &["a1"]))
        .await
        .expect("append");
    store
        .append(keyed("ticket-a", "key-0", T0))
        .await
        .expect("append");
    let before = store.head();
    store.close().expect("close");

    copy_folder(&base, &full);
    let store = Store::open(&full).expect("open copy");
    let group = AppendRequest {
        streams: vec![
            to_stream("ticket-b", ExpectedVersion::NoStream, &["b1", "b2"]),
            to_stream("ticket-a", ExpectedVersion::Exact(2), &["a3"]),
        ],
        ..keyed("unused", "key-1", T0)
    };
    store.append(group).await.expect("append");
    let after = store.head();
    store.close().expect("close");

    let (old, new) = (all_keys(&base), all_keys(&full));
    assert!(
        old.keys().all(|k| new.contains_key(k)),
        "the group removed nothing"
    );
    let changed: Vec<(Vec<u8>, Vec<u8>)> = new
        .into_iter()
        .filter(|(k, v)| old.get(k) != Some(v))
        .collect();
    let with_prefix = |prefix: u8| -> Vec<(Vec<u8>, Vec<u8>)> {
        changed
            .iter()
            .filter(|(k, _)| k[0] == prefix)
            .cloned()
            .collect()
    };
    // P, then each entry followed by its index key, then the idempotency
    // record and its expiry key, then the head record.
    let index = with_prefix(crate::keys::STREAM);
    let mut writes = with_prefix(crate::keys::PENDING_KEYS[0]);
    for entry in with_prefix(crate::keys::LOG) {
        let position = crate::keys::parse_log_key(&entry.0).expect("log key");
        let its_index = index
            .iter()
            .find(|(_, v)| v[..] == position.to_be_bytes())
            .expect("every entry has its index key")
            .clone();
        writes.push(entry);
        writes.push(its_index);
    }
    writes.extend(with_prefix(crate::keys::IDEMPOTENCY));
    writes.extend(with_prefix(crate::keys::IDEMPOTENCY_EXPIRY));
    writes.extend(with_prefix(crate::keys::HEAD[0]));
    assert_eq!(writes.len(), changed.len(), "every changed key is placed");
    assert_eq!(writes.len(), 1 + 2 * 3 + 2 + 1);

    for cut in 0..=writes.len() {
        let trial = root.path().join(format!("cut-{cut}"));
        copy_folder(&base, &trial);
        {
            let db = crate::open::open_sled(&trial, crate::SLED_CACHE_BYTES).expect("raw sled");
            for (k, v) in &writes[..cut] {
                db.insert(k, v.clone()).expect("insert");
            }
            db.flush().expect("flush");
        }
        let store = Store::open(&trial).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        if cut == writes.len() {
            assert_eq!(store.head(), after);
            assert_sound(&store, 5, 2);
            continue;
        }
        assert_eq!(store.head(), before, "cut {cut}");
        assert_eq!(
            store.read_stream("ticket-b").expect("read"),
            vec![],
            "cut {cut}"
        );
        assert_eq!(store.stream_version("ticket-a").expect("version"), 2);
        assert!(store
            .idempotency_record(b"key-1", T0)
            .expect("read")
            .is_none());
        assert!(store
            .idempotency_record(b"key-0", T0)
            .expect("read")
            .is_some());
        // `P` names the last group that recorded keys: the torn one's is
        // removed, and the one it overwrote is no longer needed.
        let without_pending = |mut keys: std::collections::BTreeMap<Vec<u8>, Vec<u8>>| {
            keys.remove(crate::keys::PENDING_KEYS);
            keys
        };
        assert_eq!(
            without_pending(keys_in(store.db())),
            without_pending(old.clone()),
            "cut {cut}: the folder holds exactly the store before the group"
        );
        assert_sound(&store, 2, 1);
    }
}
