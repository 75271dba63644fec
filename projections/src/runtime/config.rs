//! How big the projection's commits get: [`RunConfig`] for the copy that is
//! served and [`CommitBound`] for a copy being built beside it.
//!
//! Kept apart from the loops that read them because the two callers want
//! opposite things: a serving process keeps commits small (each holds a lock
//! readers wait on), an offline tool makes them as big as memory allows (a
//! ticket's record is written once per commit its events fall into).

use std::time::Duration;

/// How big commits get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunConfig {
    /// A commit of the served copy holds at most about this many events
    /// (one feed batch more at most). sled's `apply_batch` holds a
    /// process-wide write lock, so a server keeps commits modest; offline
    /// tools make them big.
    pub commit_events_max: usize,
    /// At the head of the log, how long the live projection waits for more
    /// events before committing what it has: under load a commit then
    /// covers several of the log's group commits (each projection commit
    /// costs a sled batch), at the price of this much read-your-writes lag.
    pub live_linger: Duration,
    /// When a copy being built (a rebuild) commits. Its commits take no
    /// lock readers wait on (nothing reads the copy yet), so they are as
    /// big as memory allows: a ticket's record is written once per commit
    /// its events fall into.
    pub build_commit: CommitBound,
}

/// A commit is due once `events_max` events were folded or `tickets_max`
/// ticket records changed since the last one, whichever comes first. The
/// records bound is what bounds a rebuild's memory: how many records a
/// given number of events changes depends on how long the log's tickets
/// live, so an events bound alone would not (`docs/benchmarks.md`,
/// "Rebuild").
///
/// A copy being built hands each commit to its writer in chunks of
/// `chunk_tickets` ticket records while it prepares the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitBound {
    /// A commit is due once this many events were folded since the last.
    pub events_max: usize,
    /// A commit is due once this many ticket records changed since the
    /// last: what the copy holds in memory between commits.
    pub tickets_max: usize,
    /// Ticket records per chunk handed to the background writer while the
    /// rest of the commit is prepared.
    pub chunk_tickets: usize,
}

impl RunConfig {
    /// For a serving process. Catch-up commits stay small because each
    /// holds sled's process-wide write lock, which queries and the store's
    /// writer wait on; at the head the projection lingers a little so that
    /// one commit covers several of the log's group commits. A rebuild
    /// beside the served copy takes no lock readers wait on but shares the
    /// server's memory, so it commits at a lower records bound than
    /// [`RunConfig::OFFLINE`].
    pub const SERVING: RunConfig = RunConfig {
        commit_events_max: 2_000,
        live_linger: Duration::from_millis(2),
        build_commit: CommitBound {
            events_max: 500_000,
            tickets_max: 16_384,
            chunk_tickets: 4_096,
        },
    };
    /// For tools with the data folder to themselves (rebuild, benchmarks):
    /// a ticket's events mostly fall into one commit, so its record and
    /// index entries are written once or twice, not once per event.
    pub const OFFLINE: RunConfig = RunConfig {
        commit_events_max: 100_000,
        live_linger: Duration::ZERO,
        build_commit: CommitBound {
            events_max: 500_000,
            tickets_max: 49_152,
            chunk_tickets: 4_096,
        },
    };
}
