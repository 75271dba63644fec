//! Read-model benchmark: full rebuild rate of the projections over a
//! realistic 1,000,000-event log, their memory and disk, and the memory of
//! read models holding 1,000,000 tickets, most of them closed.
//!
//! usage: cargo run --release -p docket-tests --bin projection_bench -- \
//!          [--events 1000000] [--closed-tickets 1000000] [--dir target/bench-projections]
//!
//! Writes the log through `docket_eventstore::Store` (events encoded by
//! `docket_domain::codec`), then rebuilds the read models from position 1 in
//! a child process of its own (so its RSS is the projection's alone) with
//! the offline commit size, and reports events/s, peak RSS and disk. Then
//! the same for a log of `--closed-tickets` tickets (open, one answer,
//! mostly closed). After each rebuild a fresh process opens the read models
//! as docketd does at start and looks tickets up by number and id ("serving":
//! what holding the data costs, apart from the rebuild's buffers). It also
//! times raw sled inserts in the same run: absolute figures on a shared
//! machine move between runs, the ratio does not.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use docket_domain::types::{OrgScope, Status, TicketNumber};
use docket_eventstore::Store;
use docket_projections::{CommitBound, RunConfig, Scope, Views};
use docket_tests::ticket_log::{write_log, LogSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Parser, Debug)]
#[command(about = "Rebuild rate, memory and disk of the Docket read models")]
struct Args {
    /// Events of the realistic log.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Tickets of the mostly-closed log (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    closed_tickets: u64,
    /// Folder for the logs and read models (reused if a log is there).
    #[arg(long, default_value = "target/bench-projections")]
    dir: PathBuf,
    /// A rebuild's commits: at most this many events...
    #[arg(long, default_value_t = RunConfig::OFFLINE.build_commit.events_max)]
    commit_events: usize,
    /// ... and at most this many changed ticket records.
    #[arg(long, default_value_t = RunConfig::OFFLINE.build_commit.tickets_max)]
    commit_tickets: usize,
    /// Internal: rebuild the read models of the log in DIR and report.
    #[arg(long, hide = true)]
    rebuild_only: Option<PathBuf>,
    /// Internal: open the read models in DIR as a server would and query
    /// `--lookups` tickets of its first `--root-tickets` numbers; report RSS.
    #[arg(long, hide = true)]
    serve_only: Option<PathBuf>,
    #[arg(long, hide = true, default_value_t = 0)]
    root_tickets: u64,
    /// Tickets looked up by number (and then by id) in the serving check.
    #[arg(long, default_value_t = 50_000)]
    lookups: u64,
}

// The allocator docketd and docket-replay ship with, so that the rebuild
// rate and memory seen here are theirs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let args = Args::parse();
    let commits = CommitBound {
        events_max: args.commit_events,
        tickets_max: args.commit_tickets,
        ..RunConfig::OFFLINE.build_commit
    };
    if let Some(dir) = &args.rebuild_only {
        rebuild(dir, commits).await;
        return;
    }
    if let Some(dir) = &args.serve_only {
        serve(dir, args.root_tickets, args.lookups);
        return;
    }
    machine();
    println!(
        "sled ceiling: {:.0} inserts/s (random 40-byte keys, 200-byte values, batches of 2000)",
        sled_ceiling(&args.dir)
    );

    let realistic = args.dir.join("realistic");
    let spec = LogSpec::realistic(args.events, 42);
    ensure_log(&realistic, spec.clone()).await;
    run_child(&realistic, commits, "realistic");
    serve_child(&realistic, spec.tickets, args.lookups, "realistic");

    if args.closed_tickets > 0 {
        let closed = args.dir.join("closed");
        let mut spec = LogSpec::realistic(0, 7);
        spec.tickets = args.closed_tickets;
        spec.days = 365;
        spec.comments_mean = 1;
        spec.closed_percent = 95;
        ensure_log(&closed, spec).await;
        run_child(&closed, commits, "mostly closed");
        serve_child(&closed, args.closed_tickets, args.lookups, "mostly closed");
    }
}

fn machine() {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: nproc {nproc}, CPU {cpu}, load average {}",
        load.trim()
    );
}

async fn ensure_log(dir: &Path, spec: LogSpec) {
    let log_dir = dir.join("log");
    let store = Store::open(&log_dir).expect("open the store");
    if store.head().position == 0 {
        let started = Instant::now();
        let events = write_log(&store, &spec, |n| eprintln!("  written {n} events"))
            .await
            .expect("write the log");
        let secs = started.elapsed().as_secs_f64();
        println!(
            "log {}: wrote {events} events ({} root tickets) in {secs:.1} s, {:.0} events/s",
            dir.display(),
            spec.tickets,
            events as f64 / secs
        );
    } else {
        println!(
            "log {}: reusing {} events",
            dir.display(),
            store.head().position
        );
    }
    store.close().expect("close the store");
}

/// Rebuilds in a child process so that its peak RSS is the projection's.
fn run_child(dir: &Path, commits: CommitBound, label: &str) {
    let _ = std::fs::remove_dir_all(dir.join("views"));
    let events = commits.events_max.to_string();
    let tickets = commits.tickets_max.to_string();
    run_self(
        dir,
        &[
            "--rebuild-only",
            "--commit-events",
            &events,
            "--commit-tickets",
            &tickets,
        ],
        label,
    );
}

/// Opens the read models just rebuilt in a fresh process, as docketd does
/// at start, so that its RSS is what serving them costs.
fn serve_child(dir: &Path, root_tickets: u64, lookups: u64, label: &str) {
    let roots = root_tickets.to_string();
    let lookups = lookups.to_string();
    run_self(
        dir,
        &[
            "--serve-only",
            "--root-tickets",
            &roots,
            "--lookups",
            &lookups,
        ],
        label,
    );
}

/// Runs this benchmark again with `flags` (the first one takes `dir`) and
/// prints its output lines under `label`.
fn run_self(dir: &Path, flags: &[&str], label: &str) {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe)
        .arg(flags[0])
        .arg(dir)
        .args(&flags[1..])
        .output()
        .expect("run the child");
    assert!(
        output.status.success(),
        "{} failed: {}",
        flags[0],
        String::from_utf8_lossy(&output.stderr)
    );
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        println!("{label}: {line}");
    }
}

/// The serving check: the resident set after opening the read models, and
/// after looking up `lookups` random root tickets by number and then by id
/// (the reads that touch closed tickets: search and the ticket view).
fn serve(dir: &Path, root_tickets: u64, lookups: u64) {
    let before = status_kb("VmRSS");
    let started = Instant::now();
    let views = Views::open(&dir.join("views")).expect("open the read models");
    let open_secs = started.elapsed().as_secs_f64();
    let opened = status_kb("VmRSS");
    let everyone = Scope {
        orgs: OrgScope::Platform,
        escalated_only: false,
    };
    let mut rng = StdRng::seed_from_u64(11);
    let (mut found, mut closed) = (0u64, 0u64);
    let started = Instant::now();
    for _ in 0..lookups {
        let sequence = rng.random_range(0..root_tickets.max(1));
        let number = TicketNumber::from_sequence(sequence).expect("a ticket number");
        let hits = views.search_number(number, &everyone).expect("search");
        for hit in hits {
            if let Some(view) = views.ticket(hit.ticket_id).expect("ticket view") {
                found += 1;
                closed += u64::from(view.state.status == Status::Closed);
            }
        }
    }
    let lookup_secs = started.elapsed().as_secs_f64();
    println!(
        "serving: RSS {} MiB at start, {} MiB after opening the read models ({open_secs:.1} s), {} MiB after {lookups} lookups by number and id ({found} found, {closed} closed; {:.0} lookups/s); peak {} MiB",
        before / 1024,
        opened / 1024,
        status_kb("VmRSS") / 1024,
        lookups as f64 / lookup_secs,
        status_kb("VmHWM") / 1024
    );
}

async fn rebuild(dir: &Path, commits: CommitBound) {
    let store = Store::open_for_scans(&dir.join("log")).expect("open the store");
    let head = store.head().position;
    let views_dir = dir.join("views");
    let views = Views::open(&views_dir).expect("open the read models");
    // The store's own share of the memory: read the whole log once through
    // a subscription (its sled page cache fills up as it would while
    // projecting), before projecting anything.
    let started = Instant::now();
    let mut subscription = store.subscribe(1);
    let mut read = 0u64;
    while read < head {
        read += subscription
            .next_batch(4_096)
            .await
            .expect("read the log")
            .len() as u64;
    }
    drop(subscription);
    let read_secs = started.elapsed().as_secs_f64();
    let rss_before = status_kb("VmRSS");
    println!(
        "log read alone: {read} events in {read_secs:.1} s, {:.0} events/s; RSS after it {} MiB (the store's page cache)",
        read as f64 / read_secs,
        rss_before / 1024
    );
    let started = Instant::now();
    let config = RunConfig {
        build_commit: commits,
        ..RunConfig::OFFLINE
    };
    let mut next_report = 0;
    let mut next_sample = 0;
    let mut rss_samples: Vec<(u64, u64)> = Vec::new();
    let position = views
        .rebuild_offline(&store, config, |position, target| {
            if position >= next_report {
                eprintln!("  rebuilt {position}/{target}");
                next_report = position + 200_000;
            }
            if position >= next_sample {
                rss_samples.push((position, status_kb("VmRSS")));
                next_sample = position + RSS_SAMPLE_EVERY;
            }
        })
        .await
        .expect("rebuild");
    let secs = started.elapsed().as_secs_f64();
    views.flush().expect("flush");
    let status = views.status();
    println!(
        "rebuilt {position} events in {secs:.1} s: {:.0} events/s (commits of at most {} events or {} changed tickets; {} applied, {} skipped)",
        position as f64 / secs,
        commits.events_max,
        commits.tickets_max,
        status.events_applied,
        status.events_skipped
    );
    let peak = status_kb("VmHWM");
    println!(
        "memory: peak RSS {} MiB, of which {} MiB above the log read alone (RSS {} MiB after the rebuild)",
        peak / 1024,
        peak.saturating_sub(rss_before) / 1024,
        status_kb("VmRSS") / 1024
    );
    if let Some(drift) = rss_drift(&rss_samples) {
        println!("{drift}");
    }
    println!(
        "disk: read models {} MiB on disk (sled size_on_disk {} MiB), log {} MiB, for {head} events",
        dir_bytes(&views_dir) >> 20,
        views.size_on_disk().unwrap_or(0) >> 20,
        dir_bytes(&dir.join("log")) >> 20,
    );
    store.close().expect("close the store");
}

/// Events between two samples of the resident set during a rebuild.
const RSS_SAMPLE_EVERY: u64 = 50_000;

/// The drift is fitted from this position on: before it the caches and
/// sled's page cache are still filling up.
const RSS_DRIFT_FROM: u64 = 1_000_000;

/// How the resident set moved from [`RSS_DRIFT_FROM`] to the end of the
/// rebuild: a least-squares slope over the samples, in MiB per million
/// events. `None` for a log too short to say.
fn rss_drift(samples: &[(u64, u64)]) -> Option<String> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(position, _)| *position >= RSS_DRIFT_FROM)
        .map(|&(position, kb)| (position as f64, kb as f64 / 1024.0))
        .collect();
    if points.len() < 5 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let covariance: f64 = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    let slope = covariance / variance * 1e6;
    let (low, high) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(low, high), (_, y)| {
            (low.min(*y), high.max(*y))
        });
    Some(format!(
        "memory drift: RSS {low:.0}-{high:.0} MiB from {RSS_DRIFT_FROM} events on, {slope:.1} MiB per 1M events (least squares over {} samples, one per {RSS_SAMPLE_EVERY} events)",
        points.len()
    ))
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Raw sled inserts/s on this machine now, in batches as the projection
/// writes them.
fn sled_ceiling(dir: &Path) -> f64 {
    let path = dir.join("sled-ceiling");
    let _ = std::fs::remove_dir_all(&path);
    let db = sled::Config::new()
        .path(&path)
        .cache_capacity(128 << 20)
        .open()
        .expect("open sled");
    let tree = db.open_tree("t").expect("open tree");
    let count = 300_000u64;
    let started = Instant::now();
    for chunk in 0..count / 2_000 {
        let mut batch = sled::Batch::default();
        for i in chunk * 2_000..(chunk + 1) * 2_000 {
            let mut key = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes().to_vec();
            key.resize(40, 7);
            batch.insert(key, vec![1u8; 200]);
        }
        tree.apply_batch(batch).expect("insert");
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    drop(tree);
    drop(db);
    let _ = std::fs::remove_dir_all(&path);
    rate
}
