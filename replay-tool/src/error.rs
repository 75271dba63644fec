//! The tool's one error enum. Every variant exits 1 (a fault, or an error
//! with the data or the folder); usage errors never get here, clap answers
//! them with exit 2.

use std::fmt;
use std::path::PathBuf;

use docket_domain::types::{TicketId, TicketNumber};
use docket_eventstore::{FaultReason, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the data folder {path} does not exist")]
    MissingFolder { path: PathBuf },
    #[error("{path} is not a Docket data folder: {why}")]
    NotADataFolder { path: PathBuf, why: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot copy the log to the private folder {path}: {source}")]
    Copy {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Stored data is not what the store wrote (found by `verify`, or by a
    /// read that ran into it).
    #[error("fault at position {position}: {}", Explained { position: *position, reason })]
    Fault { position: u64, reason: FaultReason },
    /// An attachment the log names is not stored as it was recorded: the
    /// contract's faults `attachment_missing` and `attachment_altered`.
    #[error("fault at position {position}: {fault}: attachment {sha256} ({detail})")]
    Attachment {
        /// The `attachment_added` event's position.
        position: u64,
        /// `attachment_missing` or `attachment_altered`.
        fault: &'static str,
        /// The SHA-256 the event records.
        sha256: String,
        /// What was found instead.
        detail: String,
    },
    #[error("event store error: {0}")]
    Store(StoreError),
    #[error("no ticket {ticket_id} in the log")]
    UnknownTicket { ticket_id: TicketId },
    #[error("no ticket numbered {number} in the log (scanned {scanned} events)")]
    UnknownNumber { number: TicketNumber, scanned: u64 },
    #[error("the event at position {position} does not decode: {detail}")]
    Undecodable { position: u64, detail: String },
    #[error(
        "{count} exported events have payloads this docket-replay cannot decode (written \
         with `data: null`, as the API does); the first is at position {first_position}: \
         {detail}. The log may be newer than this tool, or damaged: run `docket-replay verify`"
    )]
    UndecodablePayloads {
        count: u64,
        first_position: u64,
        detail: String,
    },
    #[error("{0}")]
    HeadDiffers(String),
    #[error(
        "the data folder {path} is in use by a running docketd (its docketd.lock is held): \
         stop the server before rebuilding its read models"
    )]
    InUse { path: PathBuf },
    #[error("cannot lock the data folder: {0}")]
    Lock(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("read models: {0}")]
    Projection(#[from] docket_projections::ProjectionError),
    /// The API's history loader refused the stream (its detail).
    #[error("cannot load the history: {0}")]
    History(String),
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

impl From<StoreError> for ReplayError {
    fn from(error: StoreError) -> ReplayError {
        match error {
            StoreError::Corrupt { position, reason } => ReplayError::Fault { position, reason },
            other => ReplayError::Store(other),
        }
    }
}

/// A fault reason with what it means for an auditor where the store's own
/// words are terse.
struct Explained<'a> {
    position: u64,
    reason: &'a FaultReason,
}

impl fmt::Display for Explained<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let position = self.position;
        match self.reason {
            FaultReason::BrokenChain => write!(
                f,
                "hash chain broken: the stored hash of entry {position} is not \
                 blake3(hash of entry {} || entry {position}); entry {position} was altered, \
                 or entry {} was altered and given a recomputed hash",
                position.saturating_sub(1),
                position.saturating_sub(1),
            ),
            FaultReason::Gap => write!(
                f,
                "missing log entry (gap): no entry at {position} although the log goes on"
            ),
            FaultReason::PositionMismatch { recorded } => write!(
                f,
                "the entry stored at {position} records position {recorded} (entries moved or swapped)"
            ),
            other => other.fmt(f),
        }
    }
}
