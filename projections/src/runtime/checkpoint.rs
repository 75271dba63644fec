//! The checkpoint: the last log position applied to a generation and what
//! its commits counted, stored under `Mcheckpoint` in that generation's tree.
//!
//! It is written in the same commit as the changes it covers (one atomic
//! sled batch for the served copy), which is what makes the projection
//! exactly-once: after a crash the runner resumes right after it. Its
//! `format` says whether a stored generation can be read at all.

use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::keys::CHECKPOINT_KEY;
use crate::store;

/// Bumped whenever the stored shape of the read models changes: a
/// generation of another format is not read but rebuilt. 2: KPI samples
/// moved out of the day's value into per-commit values (`kpi.rs`). 3:
/// tickets keep their contact and sales channel (views, summaries, inbox
/// entries), comments their text module, policies `notify_email`, and text
/// modules have a table of their own. 4: ticket views keep their
/// attachments.
pub const READ_MODEL_FORMAT: u32 = 4;

/// The last applied position and what the commits counted, stored under
/// `Mcheckpoint` in the same batch as the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// [`READ_MODEL_FORMAT`] of the code that wrote the generation.
    pub format: u32,
    /// The last log position applied.
    pub position: u64,
    /// Events folded into the read models so far.
    pub events_applied: u64,
    /// Events skipped so far: unknown type, undecodable, or of a ticket
    /// never opened.
    pub events_skipped: u64,
    /// Inbox cursors with an older snapshot are refused (see `inbox`).
    pub cursor_floor: u64,
}

impl Default for Checkpoint {
    fn default() -> Self {
        Checkpoint {
            format: READ_MODEL_FORMAT,
            position: 0,
            events_applied: 0,
            events_skipped: 0,
            cursor_floor: 0,
        }
    }
}

impl Checkpoint {
    /// The checkpoint stored in `tree`, or the one of an empty generation.
    pub(crate) fn read(tree: &sled::Tree) -> Result<Checkpoint, ProjectionError> {
        match tree.get(CHECKPOINT_KEY)? {
            Some(bytes) => store::decode("checkpoint", &bytes),
            None => Ok(Checkpoint::default()),
        }
    }
}
