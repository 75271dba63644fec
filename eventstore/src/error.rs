//! The store's one error enum, and the reasons `verify` gives for a fault.

use std::fmt;
use std::path::PathBuf;

use crate::types::ExpectedVersion;

/// Everything that can go wrong in the store, named after the situation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: the stream is not at the expected version.
    /// Nothing of the request was appended.
    #[error("stream {stream}: expected version {expected}, found {actual}")]
    VersionMismatch {
        /// The first stream of the request that was not as expected.
        stream: String,
        /// What the request expected of it.
        expected: ExpectedVersion,
        /// The version it is at (0 = no stream).
        actual: u64,
    },
    /// The request breaks a limit or a shape rule; nothing was appended.
    #[error("invalid append request: {0}")]
    InvalidRequest(String),
    /// Another process (or another `Store` in this one) holds the folder.
    #[error("the event store at {dir} is in use by another process (its LOCK file is locked)")]
    InUse {
        /// The store's folder.
        dir: PathBuf,
    },
    /// A file operation outside sled failed (the lock, the watermark, an
    /// `fdatasync`).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// sled returned an error.
    #[error("sled error: {0}")]
    Sled(#[from] sled::Error),
    /// sled panicked (it may, on a corrupt file); the panic was caught.
    #[error("sled panicked while {during}: {message}")]
    SledPanicked {
        /// What the store was doing (`"opening"`, `"verifying"`).
        during: &'static str,
        /// The panic's message.
        message: String,
    },
    /// Stored bytes are not what the store wrote.
    #[error("corrupt store at position {position}: {reason}")]
    Corrupt {
        /// The log position of the bad entry.
        position: u64,
        /// What is wrong with it.
        reason: FaultReason,
    },
    /// The group commit holding this request failed to write or sync: the
    /// request may or may not be on disk; it was not acknowledged.
    #[error("commit failed, nothing acknowledged: {detail}")]
    CommitFailed {
        /// The underlying error, as text.
        detail: String,
    },
    /// A commit failed earlier: sled's memory may hold a batch the disk does
    /// not, so the store refuses to read or write until it is reopened.
    #[error("the store is poisoned by a failed commit; reopen it")]
    Poisoned,
    /// The log's replica on NATS JetStream failed or disagrees with the log.
    #[error("JetStream: {0}")]
    JetStream(String),
    /// The store was closed (or its writer stopped).
    #[error("the store is closed")]
    Closed,
}

/// Why `verify` (or a read) found stored data wrong. The position it goes
/// with is carried beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultReason {
    /// No log entry at this position, though a later one exists or the head
    /// record points past it.
    Gap,
    /// A key under the log prefix that is not 1 + 8 bytes.
    MalformedLogKey,
    /// The entry's bytes do not decode (torn, truncated, unknown format,
    /// trailing bytes).
    Undecodable {
        /// What the decoder said.
        detail: String,
    },
    /// The position inside the record is not the position of its key.
    PositionMismatch {
        /// The position the record holds.
        recorded: u64,
    },
    /// The stored hash is not `blake3(previous hash || stored bytes)`.
    BrokenChain,
    /// The entry's version does not follow its stream's previous version.
    VersionNotContiguous {
        /// The entry's stream.
        stream: String,
        /// The version that should come next in the stream.
        expected: u64,
        /// The version the entry holds.
        found: u64,
    },
    /// The entry has no index entry.
    IndexMissing {
        /// The entry's stream.
        stream: String,
        /// The entry's version in it.
        version: u64,
    },
    /// The entry's index entry points elsewhere (or holds bad bytes).
    IndexMismatch {
        /// The entry's stream.
        stream: String,
        /// The entry's version in it.
        version: u64,
        /// The position the index entry holds; `None` if it is not 8 bytes.
        points_to: Option<u64>,
    },
    /// An index entry that points at this position, which does not hold that
    /// stream and version.
    IndexDangling {
        /// The stream the index entry names.
        stream: String,
        /// The version the index entry names.
        version: u64,
    },
    /// The head record is missing, undecodable, or disagrees with the last
    /// entry of the log.
    HeadMismatch {
        /// The position the head record names; `None` if it is missing or bad.
        head_position: Option<u64>,
        /// The position of the log's last entry.
        last_position: u64,
    },
    /// The log ends before the position the `WATERMARK` file says was
    /// durable: sled dropped its tail (it stops recovery at the first bad
    /// CRC).
    Truncated {
        /// The position the watermark says is durable.
        watermark: u64,
    },
    /// The entry at the watermark's position is not the one it recorded.
    WatermarkMismatch,
    /// Neither slot of the `WATERMARK` file is valid.
    WatermarkUnreadable,
}

impl fmt::Display for FaultReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultReason::Gap => f.write_str("missing log entry (gap)"),
            FaultReason::MalformedLogKey => f.write_str("malformed log key"),
            FaultReason::Undecodable { detail } => write!(f, "undecodable entry: {detail}"),
            FaultReason::PositionMismatch { recorded } => {
                write!(f, "entry records position {recorded}")
            }
            FaultReason::BrokenChain => f.write_str("hash chain broken"),
            FaultReason::VersionNotContiguous {
                stream,
                expected,
                found,
            } => write!(f, "stream {stream}: version {found}, expected {expected}"),
            FaultReason::IndexMissing { stream, version } => {
                write!(f, "no index entry for {stream} version {version}")
            }
            FaultReason::IndexMismatch {
                stream,
                version,
                points_to,
            } => match points_to {
                Some(p) => write!(f, "index entry {stream}@{version} points to {p}"),
                None => write!(f, "index entry {stream}@{version} is malformed"),
            },
            FaultReason::IndexDangling { stream, version } => {
                write!(f, "index entry {stream}@{version} points here, wrongly")
            }
            FaultReason::HeadMismatch {
                head_position,
                last_position,
            } => match head_position {
                Some(h) => write!(f, "head record says {h}, log ends at {last_position}"),
                None => write!(f, "head record missing or bad, log ends at {last_position}"),
            },
            FaultReason::Truncated { watermark } => {
                write!(
                    f,
                    "log truncated: it ends before the durable watermark {watermark}"
                )
            }
            FaultReason::WatermarkMismatch => {
                f.write_str("entry differs from the one the watermark recorded")
            }
            FaultReason::WatermarkUnreadable => f.write_str("WATERMARK file unreadable"),
        }
    }
}
