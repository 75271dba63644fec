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

/// What can go wrong under an edge, named after the situation.
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

    /// The key is not 1–255 visible ASCII characters.
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
    Lagging {
        /// The position asked for.
        position: u64,
        /// How long it was waited for.
        waited_s: u64,
    },

    /// A query's parameters break one of its rules (a bound, a pairing).
    #[error("{0}")]
    InvalidQuery(String),

    /// The log holds an event this build cannot read.
    #[error("undecodable {what} at position {position}: {problem}")]
    Undecodable {
        /// What the entry should have held ("event", "policy event").
        what: &'static str,
        /// Its log position.
        position: u64,
        /// Why it does not decode.
        problem: DomainError,
    },

    /// A command's answer could not be recorded or read back for its key.
    #[error("{0}")]
    IdempotencyRecord(String),

    /// The 11-digit ticket numbers are all used.
    #[error("ticket numbers are exhausted")]
    TicketNumbersExhausted,

    /// A store answer that the store's contract rules out.
    #[error("{0}")]
    Unexpected(&'static str),

    /// The log failed or refused.
    #[error("event store: {0}")]
    Store(#[from] StoreError),

    /// The read models failed or refused (a bad cursor, say).
    #[error("read model: {0}")]
    Projection(#[from] ProjectionError),

    /// Only a server started with `--test-clock` has a clock to set.
    #[error("the server runs on the real clock")]
    ClockNotTest,

    /// The test clock never goes back.
    #[error("time never goes back; the clock reads {}", crate::wire::rfc3339(*now))]
    ClockWouldGoBack {
        /// What the clock reads.
        now: OffsetDateTime,
    },

    /// Reporting SLA breaches failed; they are reported on the next tick.
    #[error("reporting SLA breaches: {0}")]
    BreachReport(String),

    /// An upload passed the attachment size limit.
    #[error("attachments are limited to {limit_bytes} bytes")]
    AttachmentTooLarge {
        /// The limit.
        limit_bytes: u64,
    },

    /// The attachment store failed (a disk error).
    #[error("attachment store {path}: {source}")]
    AttachmentStore {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The log names an attachment whose bytes are not in the store.
    #[error("the bytes of attachment {sha256} are missing from the store")]
    AttachmentMissing {
        /// Their SHA-256.
        sha256: String,
    },

    /// The mail settings (`--smtp-url`, `--mail-from`) are not usable.
    #[error("mail: {0}")]
    MailConfig(String),

    /// The notifier's folder or checkpoint could not be written.
    #[error("notifier {path}: {source}")]
    Notifier {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The data folder could not be created.
    #[error("cannot create the data folder {path}: {source}")]
    DataDirCreate {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// Another process (a docketd, a rebuild) holds the folder's lock.
    #[error("the data folder {path} is in use by another docketd (its lock file {lock} is held)")]
    DataDirInUse {
        /// The folder.
        path: PathBuf,
        /// Its lock file, held by the other process.
        lock: PathBuf,
    },

    /// The data folder's lock could not be taken (not because it is held).
    #[error("cannot lock the data folder {path}: {source}")]
    DataDirLock {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The secret file could not be read.
    #[error("cannot read the JWT secret file {path}: {source}")]
    SecretRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The data folder's secret could not be created.
    #[error("cannot create the JWT secret file {path}: {source}")]
    SecretCreate {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The secret file holds nothing but whitespace.
    #[error("the JWT secret in {path} is empty")]
    SecretEmpty {
        /// The file.
        path: PathBuf,
    },
}
