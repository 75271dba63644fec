//! Docket's read side: the projection runtime and the read models (ticket
//! views, inboxes, search, SLA clocks, KPIs), kept in their own sled
//! database and fed from the log in position order.
//!
//! It must never apply an event twice or skip one (the checkpoint is in the
//! same atomic batch as the changes), never panic on an event it does not
//! know (it skips and counts it), and never hold state that cannot be
//! rebuilt from the log: read models are derived data. It decides no rule:
//! status changes and SLA clocks come from `docket_domain`.
//!
//! The api opens [`Views`] at `<data-dir>/views`, starts the live
//! projection with [`Views::start`] on an [`EventFeed`] source (the store
//! now, JetStream later), waits with [`Views::wait_for_position`] for
//! `X-Min-Position`, and answers queries with the methods of [`Views`].

#![warn(missing_docs)]

mod cache;
mod dump;
mod error;
mod feed;
mod inbox;
mod keys;
mod kpi;
mod model;
mod pages;
mod queries;
mod record;
mod runtime;
mod search;
mod sla;
mod store;
mod text_modules;
mod view;

pub use error::{CursorProblem, ProjectionError};
pub use feed::{EventFeed, FeedSource};
pub use inbox::{
    InboxPage, InboxQuery, InboxSort, INBOX_LIMIT_DEFAULT, INBOX_LIMIT_MAX, INBOX_SCAN_MAX,
    RETAIN_LOG_NANOS,
};
pub use kpi::{KpiBucket, KpiGrouping, KpiQuery, KpiRow, RefundTotal, KPI_BUCKETS_MAX};
pub use runtime::{
    CommitBound, ProjectionStatus, RunConfig, Runner, Views, PROJECTION_NAME, READ_BATCH_MAX,
    READ_MODEL_FORMAT,
};
pub use search::SEARCH_ITEMS_MAX;
pub use sla::{BreachNotice, BreachReport, SlaItem, SlaQuery, SlaState, SLA_ITEMS_MAX};
pub use text_modules::TextModuleView;
pub use view::{
    AttachmentView, CommentView, EventMeta, Scope, TicketHead, TicketState, TicketSummary,
    TicketView,
};
