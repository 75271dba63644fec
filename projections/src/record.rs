//! The stored form of one ticket: its view, its SLA clocks, what KPIs
//! already counted of it, and what the indexes hold for it (so a commit can
//! tell which index entries to replace without reading them).

use serde::{Deserialize, Serialize};

use docket_domain::sla::{ClockKind, SlaClocks};
use docket_domain::types::Status;

use crate::view::{CommentView, TicketHead, TicketState, TicketSummary, TicketView};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TicketRecord {
    pub head: TicketHead,
    pub state: TicketState,
    pub comments: Vec<CommentView>,
    pub clocks: SlaClocks,
    pub kpi: KpiMarks,
    /// As of the last commit.
    pub indexed: Indexed,
}

/// What the KPIs have counted of this ticket already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct KpiMarks {
    /// The first public agent/support comment was seen.
    pub first_responded: bool,
    /// The first-response clock's met/breached outcome is in a day row.
    pub first_response_counted: bool,
}

/// The index entries of the ticket as written at the last commit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Indexed {
    pub inbox: Option<IndexedInbox>,
    /// Pending clocks in the SLA table, in clock order.
    pub sla: Vec<IndexedClock>,
    /// The earliest pending due time (the summary's `due_at`), unix nanos.
    pub due_at: Option<i64>,
}

/// The sort keys the ticket's inbox entries were written with, and since
/// which position each entry stands (see `inbox::Slot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexedInbox {
    pub status: Status,
    pub escalated: bool,
    /// Unix nanos, as every time here. This name and the other unit-less
    /// ones of stored records stay as they are: `Views::dump` prints them
    /// (`{:?}`), and the dump of each format is frozen in its fixture.
    pub updated_at: i64,
    /// The earliest pending due time, unix nanos.
    pub due_at: Option<i64>,
    pub from: [u64; 4],
}

/// A pending clock as the SLA table holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexedClock {
    pub kind: ClockKind,
    /// Unix nanos (named without its unit: see `IndexedInbox::updated_at`).
    pub due_at: i64,
    /// Running (its breach, if any, is decided at query time), or breached
    /// and unanswered (already final, counted by KPIs).
    pub running: bool,
    /// FNV-1a of the stored value: a clock paused and resumed outside
    /// business hours keeps its due time but not its state, and the entry
    /// must show the state a rebuild would write.
    pub fingerprint: u64,
}

impl TicketRecord {
    pub(crate) fn view(&self) -> TicketView {
        TicketView {
            head: self.head.clone(),
            state: self.state.clone(),
            comments: self.comments.clone(),
        }
    }

    pub(crate) fn summary(&self) -> TicketSummary {
        TicketSummary::of(
            &self.head,
            &self.state,
            self.indexed.due_at.map(crate::keys::instant),
        )
    }
}
