//! The application layer's one error enum. It names situations, never HTTP:
//! the domain's refusals, the store's and the read models' failures, and the
//! few situations of the command loop and the data folder. Each edge maps
//! them to its own answers (the JSON API to problem+json in `docket-api`'s
//! `problem` module).

use std::path::PathBuf;

use docket_domain::DomainError;
use docket_eventstore::StoreError;
use docket_projections::ProjectionError;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A rule of the contract refused the command or query.
    #[error(transparent)]
    Domain(#[from] DomainError),

    /// The ticket's version is not the one the caller's `If-Match` named.
    #[error("the ticket's version is not the one given in If-Match")]
    VersionMismatch,

    /// The stream moved on under every one of `DECIDE_ATTEMPTS_MAX` decisions.
    #[error("the ticket changed too often while the command was decided; retry")]
    Contended,

    #[error("Idempotency-Key must be 1-255 visible ASCII characters")]
    InvalidIdempotencyKey,

    /// The key's recorded request differs from this one.
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,

    /// The key's first request is still being decided or committed.
    #[error("a request with this Idempotency-Key is still in flight")]
    IdempotencyInProgress,

    /// `IN_FLIGHT_KEYS_MAX` idempotent requests are already in flight.
    #[error("too many idempotent requests in flight")]
    Overloaded,

    /// A read waited `waited_s` seconds for `position` and gave up.
    #[error("the read model had not applied position {position} within {waited_s} s")]
    Lagging { position: u64, waited_s: u64 },

    /// A query's parameters break one of its rules (a bound, a pairing).
    #[error("{0}")]
    InvalidQuery(String),

    /// The log holds an event this build cannot read.
    #[error("undecodable {what} at position {position}: {problem}")]
    Undecodable {
        what: &'static str,
        position: u64,
        problem: DomainError,
    },

    /// A command's answer could not be recorded or read back for its key.
    #[error("{0}")]
    IdempotencyRecord(String),

    #[error("ticket numbers are exhausted")]
    TicketNumbersExhausted,

    /// A store answer that the store's contract rules out.
    #[error("{0}")]
    Unexpected(&'static str),

    #[error("event store: {0}")]
    Store(#[from] StoreError),

    #[error("read model: {0}")]
    Projection(#[from] ProjectionError),

    /// Only a server started with `--test-clock` has a clock to set.
    #[error("the server runs on the real clock")]
    ClockNotTest,

    /// The test clock never goes back.
    #[error("time never goes back; the clock reads {}", crate::wire::rfc3339(*now))]
    ClockWouldGoBack { now: OffsetDateTime },

    /// Reporting SLA breaches failed; they are reported on the next tick.
    #[error("reporting SLA breaches: {0}")]
    BreachReport(String),

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
}
