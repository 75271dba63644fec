//! Child process of the projection crash test: opens a store and read
//! models and projects until the read models have caught up with the
//! store's head (or rebuilds them from zero), printing its progress.
//!
//! usage: projector LOG_DIR VIEWS_DIR [--rebuild] [--commit-events N] [--dump FILE] [--nats URL]
//!
//! With `--nats`, it reads the log's copy on JetStream (as a projection
//! worker in another process would) instead of the store at LOG_DIR.
//!
//! Lines: `OPEN applied head` once opened, `AT position` after each commit,
//! `DONE position` when caught up, `FAIL reason` on an error (exit 1).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use docket_eventstore::jetstream::JetStreamLog;
use docket_eventstore::Store;
use docket_projections::{CommitBound, FeedSource, RunConfig, Views};

/// Changed tickets per commit of a rebuild, unless `--commit-tickets` says.
const REBUILD_COMMIT_TICKETS: usize = 300;
/// Ticket records per chunk a rebuild's commit is handed over in: a kill
/// can land between chunks of one commit.
const REBUILD_CHUNK_TICKETS: usize = 64;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(log_dir), Some(views_dir)) = (args.get(1), args.get(2)) else {
        eprintln!(
            "usage: projector LOG_DIR VIEWS_DIR [--rebuild] [--commit-events N] [--commit-tickets N] [--dump FILE] [--nats URL]"
        );
        return ExitCode::from(2);
    };
    let rebuild = args.iter().any(|a| a == "--rebuild");
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let commit_events = flag("--commit-events")
        .and_then(|n| n.parse().ok())
        .unwrap_or(RunConfig::SERVING.commit_events_max);
    // A rebuild commits at least as often as the served copy does, and
    // every few hundred changed tickets: the crash tests' small logs then
    // see several of its background commits to be killed in.
    let config = RunConfig {
        commit_events_max: commit_events,
        build_commit: CommitBound {
            events_max: commit_events,
            tickets_max: flag("--commit-tickets")
                .and_then(|n| n.parse().ok())
                .unwrap_or(REBUILD_COMMIT_TICKETS),
            chunk_tickets: REBUILD_CHUNK_TICKETS,
        },
        ..RunConfig::SERVING
    };
    let views_dir = PathBuf::from(views_dir);
    let dump = flag("--dump");
    let outcome = match flag("--nats") {
        Some(url) => match JetStreamLog::connect(&url).await {
            Ok(log) => match log.head().await {
                Ok(head) => run(&log, head, &views_dir, rebuild, config, dump).await,
                Err(e) => Err(format!("read the stream's head: {e}")),
            },
            Err(e) => Err(format!("connect to {url}: {e}")),
        },
        None => match Store::open(&PathBuf::from(log_dir)) {
            Ok(store) => {
                let head = store.head().position;
                let outcome = run(&store, head, &views_dir, rebuild, config, dump).await;
                outcome.and_then(|()| store.close().map_err(|e| format!("close store: {e}")))
            }
            Err(e) => Err(format!("open store: {e}")),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            emit(&format!("FAIL {reason}\n"));
            ExitCode::from(1)
        }
    }
}

async fn run<S: FeedSource>(
    source: &S,
    head: u64,
    views_dir: &Path,
    rebuild: bool,
    config: RunConfig,
    dump: Option<String>,
) -> Result<(), String> {
    let views = Views::open(views_dir).map_err(|e| format!("open views: {e}"))?;
    emit(&format!("OPEN {} {head}\n", views.applied_position()));
    let done = if rebuild {
        views
            .rebuild_offline(source, config, |position, _| {
                emit(&format!("AT {position}\n"))
            })
            .await
    } else {
        views
            .catch_up(source, head, config, |position| {
                emit(&format!("AT {position}\n"))
            })
            .await
    }
    .map_err(|e| format!("project: {e}"))?;
    emit(&format!("DONE {done}\n"));
    if let Some(path) = dump {
        let text = views.dump().map_err(|e| format!("dump: {e}"))?;
        std::fs::write(&path, text).map_err(|e| format!("write {path}: {e}"))?;
    }
    views.flush().map_err(|e| format!("flush: {e}"))?;
    Ok(())
}

fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}
