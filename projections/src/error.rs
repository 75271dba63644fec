//! The crate's one error enum.

use std::time::Duration;

/// What went wrong in a projection or a read-model query, named after the
/// situation. `api` maps these to HTTP (`InvalidCursor` → 400
/// `invalid_cursor`, `Lagging` → 503 `projection_lagging`, `InvalidQuery` →
/// 422, everything else → 500).
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The read models' sled database failed.
    #[error("read-model storage: {0}")]
    Sled(#[from] sled::Error),

    /// The event store failed (reading the log or a stream).
    #[error("event store: {0}")]
    Store(#[from] docket_eventstore::StoreError),

    /// The event feed failed (other than the store, e.g. a JetStream consumer).
    #[error("event feed: {0}")]
    Feed(String),

    /// Bytes under a read-model key are not what this crate writes.
    #[error("corrupt read-model record {what}: {reason}")]
    Corrupt {
        /// Which kind of record (`"catalog"`, `"sla entry"`, ...).
        what: &'static str,
        /// What is wrong with its bytes.
        reason: String,
    },

    /// The feed skipped positions: the log is gapless, so this is a broken
    /// feed, never a situation to paper over.
    #[error("the event feed jumped from position {expected} to {got}")]
    Gap {
        /// The position that should have come next.
        expected: u64,
        /// The position that came.
        got: u64,
    },

    /// A cursor that is malformed, belongs to another query, or points at a
    /// snapshot whose superseded index entries are already pruned.
    #[error("invalid cursor: {problem}")]
    InvalidCursor {
        /// Which of those it is.
        problem: CursorProblem,
    },

    /// A query the read models cannot answer as asked (`from` after `to`,
    /// too many buckets, ...).
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    /// The read models had not applied `position` within `timeout`.
    #[error(
        "read models at position {applied}, position {position} not applied within {timeout:?}"
    )]
    Lagging {
        /// The position asked for (`X-Min-Position`).
        position: u64,
        /// The last position applied when the wait ended.
        applied: u64,
        /// How long the caller waited.
        timeout: Duration,
    },

    /// The projection runner stopped (after an error, or on shutdown).
    #[error("the projection runner is stopped")]
    Stopped,

    /// A rebuild is already running.
    #[error("a rebuild is already running")]
    RebuildRunning,

    /// A runner (live, catch-up or offline rebuild) already applies events
    /// to these read models; only one may.
    #[error("the read models are already being projected")]
    RunnerActive,
}

/// Why a cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorProblem {
    /// Not a cursor this crate wrote.
    Malformed,
    /// Written for another inbox, sort, scope or filter.
    OtherQuery,
    /// Its snapshot is older than the retained history of the index (or the
    /// read models were rebuilt since).
    Expired,
}

impl std::fmt::Display for CursorProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CursorProblem::Malformed => "not a cursor of this server",
            CursorProblem::OtherQuery => "the cursor belongs to another query",
            CursorProblem::Expired => "the cursor has expired; start again from the first page",
        })
    }
}

impl ProjectionError {
    pub(crate) fn corrupt(what: &'static str, reason: impl std::fmt::Display) -> ProjectionError {
        ProjectionError::Corrupt {
            what,
            reason: reason.to_string(),
        }
    }
}
