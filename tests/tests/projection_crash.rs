//! Exactly-once test of the projections: SIGKILL the projector at random
//! moments while it catches up with a log that grows between rounds, restart
//! it, and at the end compare every read model with a rebuild from zero
//! (the canonical dump). An event applied twice or lost anywhere shows up
//! as a difference: in a count, a sample, a comment list, an index entry.
//!
//! `DOCKET_CRASH_SEED` replays a run (the seed is printed).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docket_eventstore::jetstream::{JetStreamLog, Replicator};
use docket_eventstore::Store;
use docket_tests::nats_support::NatsServer;
use docket_tests::store_support::crash_test_seed;
use docket_tests::ticket_log::{write_log, LogSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ROUNDS: u64 = 12;
/// Rounds of the JetStream-fed variant.
const JETSTREAM_ROUNDS: u64 = 8;
/// Root tickets added to the log before each round (~6.7 events each).
const TICKETS_PER_ROUND: u64 = 400;
/// Small commits: many commit boundaries for the kills to fall between.
const COMMIT_EVENTS: &str = "300";

#[test]
fn every_event_is_applied_exactly_once_across_sigkills() {
    exactly_once_across_sigkills(None, ROUNDS);
}

/// The same with the projector fed from the log's copy on JetStream, as a
/// projection worker in another process is: the read models it leaves
/// must equal a rebuild from the log itself.
#[test]
fn a_worker_fed_from_jetstream_applies_every_event_exactly_once_across_sigkills() {
    let nats = NatsServer::start();
    exactly_once_across_sigkills(Some(&nats), JETSTREAM_ROUNDS);
}

fn exactly_once_across_sigkills(nats: Option<&NatsServer>, rounds: u64) {
    let seed = crash_test_seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let log_dir = dir.path().join("log");
    let views_dir = dir.path().join("views");
    let runtime = log_writer_runtime();

    let started = Instant::now();
    let mut killed_mid_catch_up = 0;
    let url = nats.map(NatsServer::url);
    let feed: Vec<&str> = match &url {
        Some(url) => vec!["--nats", url],
        None => Vec::new(),
    };
    for round in 0..rounds {
        let head = runtime.block_on(grow_log(&log_dir, round, seed));
        if let Some(url) = &url {
            runtime.block_on(copy_to_stream(&log_dir, url));
        }
        // Kill after a random number of commits (0: while opening) plus a
        // random delay, so kills land before, inside and between commits.
        let kill = Kill {
            after_commits: rng.random_range(0..=12),
            delay: Duration::from_millis(rng.random_range(0..=25)),
        };
        let lines = run_projector(&log_dir, &views_dir, &feed, Some(kill));
        let failures: Vec<&String> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
        assert!(failures.is_empty(), "round {round}: {failures:?}");
        let done = lines.iter().any(|l| l.starts_with("DONE"));
        killed_mid_catch_up += usize::from(!done);
        let commits = lines.iter().filter(|l| l.starts_with("AT ")).count();
        let opened_at = lines
            .iter()
            .find_map(|l| l.strip_prefix("OPEN "))
            .map(str::trim)
            .unwrap_or("-");
        println!(
            "round {round}: head {head}, opened at {opened_at}, killed {kill:?}, {commits} commits seen, {}",
            if done { "finished before the kill" } else { "killed mid catch-up" }
        );
    }
    // Finish the catch-up, then rebuild from zero elsewhere and compare.
    let recovered = dump_to_the_end(
        &log_dir,
        &views_dir,
        &feed,
        &dir.path().join("recovered.dump"),
    );
    let fresh_dir = dir.path().join("views-fresh");
    let rebuilt = dump_to_the_end(
        &log_dir,
        &fresh_dir,
        &["--rebuild"],
        &dir.path().join("rebuilt.dump"),
    );
    assert!(
        recovered.contains("\ncheckpoint position="),
        "no checkpoint in the dump"
    );
    if recovered != rebuilt {
        let first = recovered
            .lines()
            .zip(rebuilt.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("recovered: {a}\nrebuilt:   {b}"));
        panic!(
            "the recovered read models differ from a rebuild ({} vs {} lines); first difference:\n{}",
            recovered.lines().count(),
            rebuilt.lines().count(),
            first.unwrap_or_else(|| "one is a prefix of the other".to_owned())
        );
    }
    println!(
        "{rounds} rounds, {killed_mid_catch_up} killed mid catch-up, {} dump lines, {:.1} s",
        recovered.lines().count(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        killed_mid_catch_up >= rounds as usize / 2,
        "too few kills landed during the catch-up"
    );
}

/// A rebuild writes its new copy one insert at a time, in the background,
/// not in atomic batches: a SIGKILL anywhere in it must leave the served
/// copy exactly as it was (the half-built copy is dropped at the next
/// open), and a later rebuild must still complete.
#[test]
fn a_rebuild_killed_midway_leaves_the_served_copy_as_it_was() {
    let seed = crash_test_seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let log_dir = dir.path().join("log");
    let views_dir = dir.path().join("views");
    let runtime = log_writer_runtime();
    for round in 0..3 {
        runtime.block_on(grow_log(&log_dir, round, seed));
    }
    let served = dump_to_the_end(&log_dir, &views_dir, &[], &dir.path().join("served.dump"));

    let mut killed_mid_rebuild = 0;
    for round in 0..6 {
        let kill = Kill {
            after_commits: rng.random_range(1..=15),
            delay: Duration::from_millis(rng.random_range(0..=25)),
        };
        let lines = run_projector(&log_dir, &views_dir, &["--rebuild"], Some(kill));
        let failures: Vec<&String> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
        assert!(failures.is_empty(), "round {round}: {failures:?}");
        let done = lines.iter().any(|l| l.starts_with("DONE"));
        killed_mid_rebuild += usize::from(!done);
        println!(
            "round {round}: killed {kill:?}, {}",
            if done {
                "finished before the kill"
            } else {
                "killed mid rebuild"
            }
        );
        let after = dump_to_the_end(
            &log_dir,
            &views_dir,
            &[],
            &dir.path().join(format!("after-{round}.dump")),
        );
        assert!(
            after == served,
            "round {round}: the served read models changed ({} vs {} lines)",
            after.lines().count(),
            served.lines().count()
        );
    }
    let rebuilt = dump_to_the_end(
        &log_dir,
        &views_dir,
        &["--rebuild"],
        &dir.path().join("rebuilt.dump"),
    );
    assert!(rebuilt == served, "a rebuild after the kills differs");
    assert!(
        killed_mid_rebuild >= 3,
        "too few kills landed during a rebuild ({killed_mid_rebuild} of 6)"
    );
}

/// The runtime `grow_log` runs on.
fn log_writer_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Appends another batch of tickets; returns the new head.
async fn grow_log(log_dir: &Path, round: u64, seed: u64) -> u64 {
    let store = Store::open(log_dir).expect("open store");
    let mut spec = LogSpec::realistic(TICKETS_PER_ROUND * 67 / 10, seed + round);
    spec.tickets = TICKETS_PER_ROUND;
    spec.orgs = 6;
    spec.days = 3;
    spec.lanes = 16;
    spec.start_unix_nanos += i64::try_from(round).expect("small") * 3 * 86_400 * 1_000_000_000;
    spec.first_sequence = round * 1_000_000;
    spec.policies = round.is_multiple_of(4);
    write_log(&store, &spec, |_| {}).await.expect("write log");
    let head = store.head().position;
    store.close().expect("close store");
    head
}

/// Copies the log at `log_dir` to its stream on JetStream.
async fn copy_to_stream(log_dir: &Path, url: &str) {
    let store = Store::open(log_dir).expect("open store");
    let log = JetStreamLog::connect(url).await.expect("connect to NATS");
    let replicator = Replicator::start(store.clone(), log);
    let head = store.head().position;
    assert!(
        replicator
            .wait_published(head, Duration::from_secs(60))
            .await,
        "the stream did not reach position {head}"
    );
    replicator.stop().await;
    store.close().expect("close store");
}

/// Runs the projector (with `flags`) to the end of the log, uninterrupted,
/// and returns the dump of the read models it leaves, written to `out`.
fn dump_to_the_end(log_dir: &Path, views_dir: &Path, flags: &[&str], out: &Path) -> String {
    let mut args = flags.to_vec();
    args.extend(["--dump", path(out)]);
    let lines = run_projector(log_dir, views_dir, &args, None);
    assert!(lines.iter().any(|l| l.starts_with("DONE")), "{lines:?}");
    std::fs::read_to_string(out).expect("the projector's dump")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// When to SIGKILL the projector.
#[derive(Debug, Clone, Copy)]
struct Kill {
    after_commits: usize,
    delay: Duration,
}

/// Runs the projector (SIGKILLing it as `kill` says, if given); returns its
/// complete output lines.
fn run_projector(
    log_dir: &Path,
    views_dir: &Path,
    extra: &[&str],
    kill: Option<Kill>,
) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_projector"))
        .arg(log_dir)
        .arg(views_dir)
        .args(["--commit-events", COMMIT_EVENTS])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start projector");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.ends_with(b"\n") => {
                    if tx
                        .send(String::from_utf8_lossy(&line).into_owned())
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(_) => break, // cut by the kill
            }
        }
    });
    let mut lines = Vec::new();
    let mut commits = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(wait) {
            Ok(line) => line,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("the projector hung: {lines:?}");
            }
        };
        commits += usize::from(line.starts_with("AT "));
        let opened = line.starts_with("OPEN ");
        lines.push(line);
        if let Some(kill) = kill {
            if (opened && kill.after_commits == 0) || (commits > 0 && commits == kill.after_commits)
            {
                std::thread::sleep(kill.delay);
                let _ = child.kill(); // SIGKILL; it may have finished already
                break;
            }
        }
    }
    let status = child.wait().expect("reap the projector");
    reader.join().expect("reader thread");
    lines.extend(rx.try_iter());
    if kill.is_none() {
        assert!(status.success(), "projector failed: {status}");
    }
    lines
}
