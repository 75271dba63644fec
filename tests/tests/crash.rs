//! Crash test: SIGKILL a process appending from 16 tasks at random moments,
//! reopen the same folder each round, and check that every acknowledged
//! append survived whole, at its positions, with no gap and no partial
//! multi-stream append, and that `verify` finds the store sound.
//!
//! `DOCKET_CRASH_SEED` replays a run (the seed is printed).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docket_eventstore::{RecordedEvent, Store, VerifyReport};
use docket_tests::store_support::{crash_test_seed, now_unix_nanos, parse_tagged_payload, Ack};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ROUNDS: u64 = 24;
/// The kill comes this long after the child starts: early kills land during
/// open and sled's recovery, later ones in the middle of group commits.
const KILL_AFTER_MS_MAX: u64 = 400;

#[test]
fn acknowledged_appends_survive_sigkill() {
    let seed = crash_test_seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut acks: Vec<Ack> = Vec::new();
    let mut rounds_with_acks = 0;
    for round in 0..ROUNDS {
        let kill_after = Duration::from_millis(rng.random_range(0..=KILL_AFTER_MS_MAX));
        let lines = run_and_kill(dir.path(), round, kill_after);
        let failures: Vec<&String> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
        assert!(
            failures.is_empty(),
            "round {round}: child reported {failures:?}"
        );
        let round_acks: Vec<Ack> = lines.iter().filter_map(|l| Ack::parse(l)).collect();
        rounds_with_acks += usize::from(!round_acks.is_empty());
        acks.extend(round_acks);
        check_store(dir.path(), &acks, round);
    }
    println!(
        "{ROUNDS} rounds, {} acknowledged appends, {rounds_with_acks} rounds with acks, {:.1} s",
        acks.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        rounds_with_acks >= ROUNDS as usize / 4,
        "too few rounds got to append"
    );
}

/// Starts the child, SIGKILLs it after `kill_after`, returns its complete
/// output lines (a line cut by the kill has no newline and is dropped).
fn run_and_kill(dir: &Path, round: u64, kill_after: Duration) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash_appender"))
        .arg(dir)
        .arg(round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start crash_appender");
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.ends_with(b"\n") => {
                    lines.push(String::from_utf8_lossy(&line).into_owned())
                }
                Ok(_) => break, // cut by the kill
            }
        }
        lines
    });
    std::thread::sleep(kill_after);
    child.kill().expect("SIGKILL the child"); // std sends SIGKILL on Unix
    child.wait().expect("reap the child");
    reader.join().expect("reader thread")
}

/// Everything acknowledged so far is in the store, exactly as acknowledged.
fn check_store(dir: &Path, acks: &[Ack], round: u64) {
    let store = Store::open(dir).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
    let report = store.verify(&mut |_| {}).expect("verify runs");
    let VerifyReport::Sound { events, head, .. } = report else {
        panic!("round {round}: verify found {report:?}");
    };
    assert_eq!(head, store.head());
    let log = store.read_from(1, usize::MAX).expect("read the log");
    assert_eq!(log.len() as u64, events);
    for (i, event) in log.iter().enumerate() {
        assert_eq!(
            event.position,
            i as u64 + 1,
            "round {round}: gap in the log"
        );
    }

    // Every request in the log (acknowledged or not) is whole and contiguous.
    let mut requests: HashMap<String, Vec<&RecordedEvent>> = HashMap::new();
    for event in &log {
        let (request, index, count) =
            parse_tagged_payload(&event.payload).expect("payloads are tagged");
        let events = requests.entry(request).or_default();
        assert_eq!(
            index as usize,
            events.len(),
            "round {round}: events of a request out of order"
        );
        assert!(index < count);
        events.push(event);
    }
    for (request, events) in &requests {
        let (_, _, count) = parse_tagged_payload(&events[0].payload).expect("tagged");
        assert_eq!(
            events.len(),
            count as usize,
            "round {round}: request {request} is partial"
        );
        let first = events[0].position;
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.position == first + i as u64),
            "round {round}: request {request} is not contiguous"
        );
    }

    // Every acknowledged append is there, at its positions and versions.
    let now = now_unix_nanos();
    for ack in acks {
        let events = requests
            .get(&ack.request)
            .unwrap_or_else(|| panic!("round {round}: acknowledged {} lost", ack.request));
        assert_eq!(
            (events[0].position, events[events.len() - 1].position),
            (ack.first_position, ack.last_position),
            "round {round}: {} moved",
            ack.request
        );
        for acked in &ack.streams {
            let mine: Vec<u64> = events
                .iter()
                .filter(|e| e.stream == acked.stream)
                .map(|e| e.version)
                .collect();
            assert_eq!(
                mine.len() as u64,
                acked.events,
                "round {round}: {}",
                ack.request
            );
            assert_eq!(
                mine.last().copied(),
                Some(acked.version_after),
                "round {round}: {}",
                ack.request
            );
        }
        if let Some(key) = &ack.key {
            let record = store
                .idempotency_record(key.as_bytes(), now)
                .expect("read idempotency")
                .unwrap_or_else(|| panic!("round {round}: idempotency record of {key} lost"));
            assert_eq!(
                (record.first_position, record.last_position),
                (ack.first_position, ack.last_position)
            );
        }
    }
    store.close().expect("close");
}
