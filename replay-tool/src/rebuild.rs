//! `rebuild`: the read models (`<data-dir>/views`) made again from position
//! 1 of the log, with progress and a rate, by the projections crate's own
//! offline rebuild (a fresh generation, served once complete; a crash
//! leaves the old one served).
//!
//! The one subcommand that writes: only the read models, never the log
//! (read from a private copy, like every subcommand). It holds the data
//! folder's `docketd.lock` while it runs, so it refuses a folder a server
//! is using, and a server cannot start on the folder meanwhile.

use std::io::Write;
use std::time::Instant;

use clap::builder::PossibleValuesParser;
use clap::Args;
use docket_app::datadir::{self, DataDir};
use docket_app::AppError;
use docket_eventstore::Store;
use docket_projections::{RunConfig, Views, PROJECTION_NAME};

use crate::error::ReplayError;
use crate::progress;
use crate::source::DataFolder;

/// Workers of the rebuild's runtime: decoding runs on one core while
/// applying runs on the other (see `docket_projections::runtime`).
const REBUILD_WORKERS: usize = 2;

/// Rebuild the read models (`<data-dir>/views`: ticket views, inboxes, search,
/// SLA clocks, KPIs) from the log, from position 1. The server must be
/// stopped. Only the read models are written.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The projection to rebuild (default: all of them; Docket has one).
    #[arg(long, value_name = "NAME", value_parser = PossibleValuesParser::new([PROJECTION_NAME]))]
    pub projection: Option<String>,
}

/// Takes the data folder's lock, as a server does: refused if one runs.
pub fn lock(folder: &DataFolder) -> Result<DataDir, ReplayError> {
    DataDir::open(folder.root()).map_err(|error| match error {
        AppError::DataDirInUse { path, .. } => ReplayError::InUse { path },
        other => ReplayError::Lock(other.to_string()),
    })
}

pub fn run(
    store: &Store,
    folder: &DataFolder,
    _args: &RebuildArgs,
    mut out: impl Write,
) -> Result<(), ReplayError> {
    let views_dir = datadir::views_dir(folder.root());
    let views = Views::open(&views_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(REBUILD_WORKERS)
        .enable_all()
        .build()
        .map_err(ReplayError::Runtime)?;
    let bar = progress::events(store.head().position, "rebuilding");
    let started = Instant::now();
    let position = runtime.block_on(views.rebuild_offline(
        store,
        RunConfig::OFFLINE,
        |position, _| bar.set_position(position),
    ))?;
    views.flush()?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let status = views.status();
    let rate = if seconds > 0.0 {
        format!(" ({:.0} events/s)", position as f64 / seconds)
    } else {
        String::new()
    };
    writeln!(
        out,
        "rebuilt {name} in {views}: up to position {position}, {applied} events applied, \
         {skipped} skipped, generation {generation}\n\
         took {seconds:.2} s{rate}",
        name = status.name,
        views = views_dir.display(),
        applied = status.events_applied,
        skipped = status.events_skipped,
        generation = status.generation,
    )
    .map_err(ReplayError::Output)?;
    out.flush().map_err(ReplayError::Output)
}
