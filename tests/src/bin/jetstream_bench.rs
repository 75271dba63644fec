//! The log's copy on JetStream (`docketd --nats`): how fast the replicator
//! copies a log to an empty stream, how fast a consumer reads it back, and
//! how fast the read models rebuild from it, beside a rebuild from the log
//! itself in the same run.
//!
//! usage: cargo run --release -p docket-tests --bin jetstream_bench -- \
//!          --log LOG_DIR [--skip-rebuild]
//!
//! LOG_DIR is a log written by `projection_bench` (e.g.
//! `target/bench-projections/realistic/log`). It starts its own
//! `nats-server -js` on a free port with a temp store folder, as the tests
//! do, unless `--nats URL` names one; compare with `natsbench` of `../shared/bench/limits` (pipelined
//! publish with `Nats-Msg-Id`, and consume).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use docket_eventstore::jetstream::{JetStreamLog, Replicator};
use docket_eventstore::Store;
use docket_projections::{FeedSource, RunConfig, Views};
use docket_tests::nats_support::NatsServer;

#[derive(Parser, Debug)]
#[command(about = "Copy, read and rebuild rates of the log's copy on JetStream")]
struct Args {
    /// The log folder to copy.
    #[arg(long)]
    log: PathBuf,
    /// Only copy and read the stream.
    #[arg(long)]
    skip_rebuild: bool,
    /// Use this (empty) nats-server instead of starting one; the stream
    /// stays there afterwards (for timing `docket-replay --nats` on it).
    #[arg(long)]
    nats: Option<String>,
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let mut started_here = None;
    let url = match &args.nats {
        Some(url) => url.clone(),
        None => started_here.insert(NatsServer::start()).url(),
    };
    let store = Store::open_for_scans(&args.log).expect("open the log");
    let head = store.head().position;
    let log = JetStreamLog::connect(&url)
        .await
        .expect("connect to nats-server");

    let started = Instant::now();
    let replicator = Replicator::start(store.clone(), log.clone());
    assert!(
        replicator
            .wait_published(head, Duration::from_secs(3600))
            .await,
        "the copy did not finish"
    );
    replicator.stop().await;
    report("copy to the stream", head, started.elapsed());

    let started = Instant::now();
    let mut feed = log.subscribe(1).await.expect("subscribe");
    let mut read = 0u64;
    let mut bytes = 0usize;
    while read < head {
        let batch = feed.next_stored_batch(4096).await.expect("read the stream");
        read += batch.len() as u64;
        bytes += batch.iter().map(|entry| entry.bytes().len()).sum::<usize>();
    }
    report("read the stream back", read, started.elapsed());
    println!(
        "  {:.0} bytes per entry, {:.1} MB",
        bytes as f64 / read as f64,
        bytes as f64 / 1e6
    );

    if !args.skip_rebuild {
        rebuild("rebuild from the stream", &log, head).await;
        rebuild("rebuild from the log", &store, head).await;
    }
    store.close().expect("close the log");
}

async fn rebuild<S: FeedSource>(what: &str, source: &S, head: u64) {
    let dir = tempfile::tempdir().expect("a temp folder");
    let views = Views::open(dir.path()).expect("open read models");
    let started = Instant::now();
    let done = views
        .rebuild_offline(source, RunConfig::OFFLINE, |_, _| {})
        .await
        .expect("rebuild");
    assert_eq!(done, head);
    report(what, done, started.elapsed());
}

fn report(what: &str, events: u64, took: Duration) {
    println!(
        "{what}: {events} events in {:.2} s, {:.0} events/s",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
}
