//! Event store benchmark: durable appends/s and append latency with N
//! concurrent appenders, beside the raw group-commit rate of the same disk
//! taken in the same run.
//!
//! usage: cargo run --release -p docket-tests --bin store_bench -- \
//!          [--appenders 1,16,64,256] [--secs 5] [--size 300] [--dir target/bench-data]
//!
//! For each N: N tokio tasks each append one ~`size`-byte event at a time
//! to their own stream (`ExpectedVersion::Exact`, as a command does) until
//! `secs` pass; then, back to back on the same disk, the raw rate for the
//! average batch B the writer achieved: write B x `size` bytes to a file and
//! `fdatasync` it, in a loop (what a group commit of B appends costs the
//! disk at the least). The ratio store/raw is the figure to watch; absolute
//! numbers on a shared machine move between runs.
//!
//! `--cpu idle,spin`: each pair runs twice, as is and with one core
//! kept busy by a spinning thread. On this VM a process that sleeps in
//! `fdatasync` with the CPU otherwise idle waits for the next host tick to
//! be woken, so the idle raw loop measures the VM's wake-up, not the disk;
//! the spin rows are the fair disk baseline (`docs/benchmarks.md`, "Event
//! store commit path").

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use docket_eventstore::{AppendOutcome, AppendRequest, ExpectedVersion, Store, StreamAppend};
use docket_tests::store_support::{event, now_unix_nanos, tagged_payload};
use hdrhistogram::Histogram;

#[derive(Parser, Debug)]
#[command(about = "Durable appends/s and latency of docket-eventstore vs raw fdatasync")]
struct Args {
    /// Concurrent appenders, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    appenders: Vec<usize>,
    /// Seconds per run (store, then raw).
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Payload bytes per event.
    #[arg(long, default_value_t = 300)]
    size: usize,
    /// Folder for the stores and raw files (removed after each run).
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
    /// CPU conditions, each a full set of runs: `idle`, `spin` (one core
    /// kept busy during both the store and the raw run).
    #[arg(long, value_delimiter = ',', default_value = "idle,spin")]
    cpu: Vec<String>,
    /// Events of the store built to time `verify` and reopening (0: skip).
    #[arg(long, default_value_t = 500_000)]
    verify_events: u64,
    /// Only time opening and verifying this existing store, then exit.
    #[arg(long)]
    verify_existing: Option<PathBuf>,
    /// Keep the store built for `--verify-events` in this folder.
    #[arg(long)]
    keep_verify_store: Option<PathBuf>,
}

struct StoreRun {
    /// Per commit, microseconds: stage, apply_batch, flush, fdatasync.
    phases_us: [f64; 4],
    appends_per_s: f64,
    latency_us: Histogram<u64>,
    commits_per_s: f64,
    avg_batch: f64,
}

struct RawRun {
    appends_per_s: f64,
    sync_us: Histogram<u64>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(dir) = &args.verify_existing {
        let t = Instant::now();
        let store = Store::open(dir)?;
        println!("# open: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        let events = store.head().position;
        drop(store);
        // sled's floor: a bare scan of the log and index keys of the same
        // folder (no decode, no hash), in a fresh process-level open.
        {
            let db = sled::Config::new()
                .path(dir)
                .cache_capacity(256 << 20)
                .open()?;
            let t = Instant::now();
            let mut bytes = 0usize;
            for prefix in [b"L", b"S"] {
                for entry in db.scan_prefix(prefix) {
                    let (k, v) = entry?;
                    bytes += k.len() + v.len();
                }
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "# bare sled scan of L and S: {secs:.2} s = {:.0} events/s ({bytes} bytes)",
                events as f64 / secs
            );
        }
        let store = Store::open(dir)?;
        for pass in ["cold", "warm"] {
            let t = Instant::now();
            let report = store.verify(&mut |_| {})?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "# verify ({pass} sled cache): {events} events in {secs:.2} s = {:.0} events/s ({report:?})",
                events as f64 / secs
            );
        }
        return Ok(store.close()?);
    }
    std::fs::create_dir_all(&args.dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let secs = Duration::from_secs_f64(args.secs);
    println!(
        "# store_bench size={}B secs={} nproc={} load={}",
        args.size,
        args.secs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "{:>5} {:>9} {:>11} {:>8} {:>8} {:>8} {:>10} {:>9} | {:>6} {:>11} {:>11} {:>11} | {:>9} {:>9} | per commit us: stage/apply/flush/fdatasync",
        "cpu", "appenders", "appends/s", "p50_us", "p99_us", "p999_us", "commits/s", "avg_batch",
        "raw_B", "raw_appds/s", "raw_p50_us", "raw_p99_us", "rate/raw", "p50/raw",
    );
    for cpu in &args.cpu {
        let spin = match cpu.as_str() {
            "idle" => false,
            "spin" => true,
            other => return Err(format!("unknown --cpu {other}: idle or spin").into()),
        };
        for &appenders in &args.appenders {
            let dir = args
                .dir
                .join(format!("store-{}-{appenders}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let spinner = Spinner::start(spin);
            let store = runtime.block_on(run_store(&dir, appenders, args.size, secs))?;
            std::fs::remove_dir_all(&dir)?;
            let batch = store.avg_batch.round().max(1.0) as usize;
            let raw = run_raw(&args.dir, batch, args.size, secs)?;
            drop(spinner);
            let p50 = store.latency_us.value_at_quantile(0.5);
            let raw_p50 = raw.sync_us.value_at_quantile(0.5);
            let [stage, apply, flush, sync] = store.phases_us;
            println!(
                "{:>5} {:>9} {:>11.0} {:>8} {:>8} {:>8} {:>10.0} {:>9.1} | {:>6} {:>11.0} {:>11} {:>11} | {:>9.2} {:>9.2} | {stage:.0}/{apply:.0}/{flush:.0}/{sync:.0}",
                cpu,
                appenders,
                store.appends_per_s,
                p50,
                store.latency_us.value_at_quantile(0.99),
                store.latency_us.value_at_quantile(0.999),
                store.commits_per_s,
                store.avg_batch,
                batch,
                raw.appends_per_s,
                raw_p50,
                raw.sync_us.value_at_quantile(0.99),
                store.appends_per_s / raw.appends_per_s,
                p50 as f64 / raw_p50.max(1) as f64,
            );
        }
    }
    if args.verify_events > 0 {
        let dir = match &args.keep_verify_store {
            Some(dir) => dir.clone(),
            None => args.dir.join(format!("verify-{}", std::process::id())),
        };
        let _ = std::fs::remove_dir_all(&dir);
        runtime.block_on(run_verify(&dir, args.verify_events, args.size))?;
        if args.keep_verify_store.is_none() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    Ok(())
}

/// Builds a store of `events` events in 1,000 streams (256-event appends),
/// then times reopening (at 1/10 of the events and at all of them: it must
/// not grow with the log) and `verify`.
async fn run_verify(
    dir: &Path,
    events: u64,
    size: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    const PER_APPEND: u64 = 256;
    const STREAMS: u64 = 1_000;
    let mut open_ms = Vec::new();
    let mut store = Store::open(dir)?;
    let mut written = 0u64;
    for checkpoint in [events / 10, events] {
        while written < checkpoint {
            let n = PER_APPEND.min(checkpoint - written);
            let stream = format!("ticket-verify-{:04}", (written / PER_APPEND) % STREAMS);
            let batch = (0..n)
                .map(|i| {
                    event(
                        tagged_payload(&stream, i as u32, n as u32, size),
                        now_unix_nanos(),
                    )
                })
                .collect();
            let request = AppendRequest {
                streams: vec![StreamAppend {
                    stream,
                    expected: ExpectedVersion::Any,
                    events: batch,
                }],
                idempotency: None,
            };
            store.append(request).await?;
            written += n;
        }
        store.close()?;
        let t = Instant::now();
        store = Store::open(dir)?;
        open_ms.push((
            written,
            "written since the last open",
            t.elapsed().as_secs_f64() * 1e3,
        ));
        store.close()?;
        let t = Instant::now();
        store = Store::open(dir)?;
        open_ms.push((
            written,
            "nothing written since the last open",
            t.elapsed().as_secs_f64() * 1e3,
        ));
    }
    let t = Instant::now();
    let report = store.verify(&mut |_| {})?;
    let secs = t.elapsed().as_secs_f64();
    store.close()?;
    println!(
        "# verify: {events} events in {secs:.2} s = {:.0} events/s ({report:?})",
        events as f64 / secs
    );
    for (n, what, ms) in open_ms {
        println!("# reopen with {n} events, {what}: {ms:.1} ms");
    }
    Ok(())
}

async fn run_store(
    dir: &Path,
    appenders: usize,
    size: usize,
    secs: Duration,
) -> Result<StoreRun, Box<dyn std::error::Error>> {
    let store = Store::open(dir)?;
    let before = store.stats();
    let started = Instant::now();
    let deadline = started + secs;
    let mut tasks = Vec::with_capacity(appenders);
    for task in 0..appenders {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut latency_us = histogram();
            let stream = format!("ticket-bench-{task:05}");
            let mut version = 0;
            let mut k = 0u32;
            while Instant::now() < deadline {
                let request = AppendRequest {
                    streams: vec![StreamAppend {
                        stream: stream.clone(),
                        expected: ExpectedVersion::Exact(version),
                        events: vec![event(tagged_payload(&stream, k, 1, size), now_unix_nanos())],
                    }],
                    idempotency: None,
                };
                let sent = Instant::now();
                let outcome = store.append(request).await?;
                latency_us.record(sent.elapsed().as_micros() as u64).ok();
                let AppendOutcome::Committed {
                    stream_versions, ..
                } = outcome
                else {
                    return Err("unexpected duplicate".into());
                };
                version = stream_versions[0];
                k += 1;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(latency_us)
        }));
    }
    let mut latency_us = histogram();
    for task in tasks {
        latency_us.add(task.await?.map_err(|e| e.to_string())?)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = store.stats();
    store.close()?;
    let appends = after.appends - before.appends;
    let commits = (after.commits - before.commits).max(1);
    let per_commit = |after: u64, before: u64| (after - before) as f64 / commits as f64 / 1e3;
    Ok(StoreRun {
        phases_us: [
            per_commit(after.stage_nanos, before.stage_nanos),
            per_commit(after.apply_nanos, before.apply_nanos),
            per_commit(after.flush_nanos, before.flush_nanos),
            per_commit(after.sync_nanos, before.sync_nanos),
        ],
        appends_per_s: appends as f64 / elapsed,
        latency_us,
        commits_per_s: commits as f64 / elapsed,
        avg_batch: appends as f64 / commits as f64,
    })
}

/// `batch` x `size` bytes written then one `fdatasync`, in a loop, to a
/// growing file (as sled's log grows).
fn run_raw(dir: &Path, batch: usize, size: usize, secs: Duration) -> std::io::Result<RawRun> {
    let path = dir.join(format!("raw-{}-{batch}.log", std::process::id()));
    let mut file: File = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let bytes = vec![0x5Au8; batch * size];
    let mut sync_us = histogram();
    let mut syncs = 0u64;
    let started = Instant::now();
    while started.elapsed() < secs {
        let t = Instant::now();
        file.write_all(&bytes)?;
        file.sync_data()?;
        sync_us.record(t.elapsed().as_micros() as u64).ok();
        syncs += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(RawRun {
        appends_per_s: (syncs * batch as u64) as f64 / elapsed,
        sync_us,
    })
}

/// A thread spinning on one core until dropped (when `on`).
struct Spinner {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start(on: bool) -> Spinner {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = on.then(|| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        });
        Spinner { stop, thread }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}
