//! `docket-replay`: the auditors' tool. It reads a Docket data folder's
//! event log (or, with `--nats`, the log's copy on JetStream) and prints a
//! ticket's history (as of any instant), checks the log's integrity (hash
//! chain, positions, stream versions, index, head), exports the log as
//! JSON Lines, and rebuilds the read models from it.
//!
//! It must never modify the data folder it reads (`rebuild` writes the read
//! models and nothing else): sled writes when it opens a folder, so every
//! subcommand opens a private copy of the log (see `source`). Its JSON is
//! the application layer's own (`docket_app::history`; export lines are
//! tested byte for byte against `docket_app::wire::event_json`), so what it
//! prints and what the server answers cannot drift apart. It depends on no
//! HTTP code.
//!
//! Exit codes: 0 sound or done; 1 a fault, or an error with the folder or
//! the data; 2 a usage error.

mod error;
mod export;
mod history;
mod progress;
mod rebuild;
mod source;
mod timeline;
mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

// As in docketd: sled allocates and frees per node it reads, which makes
// glibc's malloc/free a large share of a verify (`docs/benchmarks.md`,
// "docket-replay").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::error::ReplayError;
use crate::source::{DataFolder, Source};

const ABOUT: &str = "Docket's auditors' tool: ticket histories, log integrity, export, rebuild";

const LONG_ABOUT: &str = "\
Docket's auditors' tool: ticket histories (as of any instant), the event log's \
integrity check, an export of the log as JSON Lines, and a rebuild of the read \
models from the log.

It reads the data folder of a stopped docketd, or a copy of one, or (--nats URL) \
the log's copy on NATS JetStream that a docketd started with --nats keeps, up to \
where the stream ends when it starts, while the server runs. It never \
modifies that folder (rebuild writes the read models, nothing else): sled writes when it opens a database, so docket-replay \
copies <data-dir>/log (sled's conf, db, blobs/ and snap.* files, not LOCK) to a \
private temporary folder, opens the copy, and removes it on exit. The folder is \
made under $TMPDIR when it is set, else in /dev/shm when the log fits in half of \
its free space and of the available memory, else under /tmp; it needs as much \
free space as the log. If a running docketd holds the \
folder, the copy is a point-in-time copy of a log being written (you are warned): \
stop the server or use a file-system snapshot for a definitive answer.

Exit codes: 0 sound or done; 1 a fault, or an error with the folder or the data; \
2 a usage error.";

#[derive(Debug, Parser)]
#[command(name = "docket-replay", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// The data folder of a stopped docketd, or a copy of one (only `rebuild`
    /// writes to it, and only its read models).
    #[arg(long, env = "DOCKET_DATA_DIR", global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Read the log's copy on NATS JetStream (`docketd --nats`) instead of
    /// a data folder; `rebuild` then writes the read models of --data-dir.
    #[arg(long, env = "DOCKET_NATS_URL", global = true, value_name = "URL")]
    nats: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    History(history::HistoryArgs),
    Verify(verify::VerifyArgs),
    Export(export::ExportArgs),
    Rebuild(rebuild::RebuildArgs),
}

/// Where the log is read from.
enum LogSource<'a> {
    DataFolder(&'a Path),
    Stream(&'a str),
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let is_rebuild = matches!(cli.command, Command::Rebuild(_));
    // A source named on the command line wins over the other one's
    // environment twin (a shell that exports DOCKET_DATA_DIR for docketd
    // can still run `docket-replay --nats URL verify`).
    if !is_rebuild {
        let from_flag = |id| matches.value_source(id) == Some(ValueSource::CommandLine);
        match (from_flag("nats"), from_flag("data_dir")) {
            (true, false) => cli.data_dir = None,
            (false, true) => cli.nats = None,
            _ => {}
        }
    }
    let source = match (&cli.nats, &cli.data_dir) {
        (Some(url), Some(_)) if is_rebuild => LogSource::Stream(url),
        (Some(_), Some(_)) => usage_error(
            ErrorKind::ArgumentConflict,
            "give one source: --data-dir DIR or --nats URL (with both, only rebuild: it reads the stream and writes DIR's read models)",
        ),
        (Some(_), None) if is_rebuild => usage_error(
            ErrorKind::MissingRequiredArgument,
            "rebuild writes a data folder's read models: give --data-dir DIR as well",
        ),
        (Some(url), None) => LogSource::Stream(url),
        (None, Some(dir)) => LogSource::DataFolder(dir),
        (None, None) => usage_error(
            ErrorKind::MissingRequiredArgument,
            "the source is required: --data-dir DIR (or DOCKET_DATA_DIR), or --nats URL (or DOCKET_NATS_URL)",
        ),
    };
    if let Command::Export(args) = &cli.command {
        if let Err(message) = args.check() {
            usage_error(ErrorKind::ArgumentConflict, &message);
        }
    }
    match run(&cli.command, source, cli.data_dir.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is the reader being done, not a failure.
        Err(ReplayError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "docket-replay: {error}");
            ExitCode::from(1)
        }
    }
}

fn run(
    command: &Command,
    source: LogSource<'_>,
    data_dir: Option<&Path>,
) -> Result<(), ReplayError> {
    // `rebuild` writes the read models: it holds the folder as a server
    // does. The others only read, from a copy, and may run beside a server.
    let destination = match (command, data_dir) {
        (Command::Rebuild(_), Some(dir)) => {
            let folder = DataFolder::find(dir)?;
            let held = rebuild::lock(&folder)?;
            Some((folder, held))
        }
        _ => None,
    };
    let source_kind = match (&source, data_dir) {
        (LogSource::DataFolder(dir), _) => SourceKind::Folder(dir.to_path_buf()),
        (LogSource::Stream(_), _) => SourceKind::Stream,
    };
    let source = match source {
        LogSource::Stream(url) => Source::from_stream(url)?,
        LogSource::DataFolder(dir) => match &destination {
            Some((folder, _)) => folder.open_copy()?,
            None => {
                let folder = DataFolder::find(dir)?;
                folder.warn_if_in_use();
                folder.open_copy()?
            }
        },
    };
    let store = source.store();
    let stdout = std::io::stdout().lock();
    let ran = match (command, &destination) {
        (Command::History(args), _) => history::run(store, args, stdout),
        (Command::Verify(args), _) => {
            let attachments = match source_kind {
                SourceKind::Folder(root) => verify::Attachments::InFolder(root),
                SourceKind::Stream => verify::Attachments::NotChecked,
            };
            verify::run(store, args, &attachments, stdout)
        }
        (Command::Export(args), _) => export::run(store, args, stdout),
        (Command::Rebuild(args), Some((folder, _))) => rebuild::run(store, folder, args, stdout),
        (Command::Rebuild(_), None) => Err(ReplayError::Lock(
            "rebuild needs the data folder whose read models it writes".to_owned(),
        )),
    };
    source.discard();
    ran
}

/// Where the log was read from, for what lives beside it (attachments).
enum SourceKind {
    Folder(std::path::PathBuf),
    Stream,
}

/// Prints a usage error the way clap does and exits 2.
fn usage_error(kind: ErrorKind, message: &str) -> ! {
    Cli::command().error(kind, message).exit()
}
