//! The api crate's one error enum, for everything that fails outside a
//! request: start-up (data folder, secret, event log, read models,
//! listening), serving, setting the test clock and reporting SLA breaches.
//! A request's own errors are `ApiError`s (`problem.rs`), the one place
//! that speaks HTTP.

use std::path::PathBuf;

use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot create the data folder {path}: {source}")]
    DataDirCreate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the data folder {path} is in use by another docketd (its lock file {lock} is held)")]
    DataDirInUse { path: PathBuf, lock: PathBuf },
    #[error("cannot lock the data folder {path}: {source}")]
    DataDirLock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the JWT secret file {path}: {source}")]
    SecretRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the JWT secret file {path}: {source}")]
    SecretCreate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the JWT secret in {path} is empty")]
    SecretEmpty { path: PathBuf },
    #[error("cannot open the event log: {0}")]
    Store(#[from] docket_eventstore::StoreError),
    #[error("cannot open the read models: {0}")]
    Views(#[from] docket_projections::ProjectionError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    /// Reporting SLA breaches failed; they are reported on the next tick.
    #[error("reporting SLA breaches: {0}")]
    BreachReport(String),
    /// Only a server started with `--test-clock` has a clock to set.
    #[error("the server runs on the real clock")]
    ClockNotTest,
    /// The test clock never goes back.
    #[error("time never goes back; the clock reads {now}")]
    ClockWouldGoBack { now: OffsetDateTime },
}
