//! Docket's application layer: the one home under every edge.
//!
//! The JSON API and the console (`docket-api`) and the auditors' tool
//! (`docket-replay`) call it; it calls `domain`, `eventstore` and
//! `projections`. It holds the command service (load a stream, authorize,
//! `If-Match`, decide, append with idempotency), the queries with their read
//! rules, histories and `as_of`, the data folder (layout, lock, secret), the
//! read side as a server runs it, the server's clock, and the wire JSON of
//! events and policies.
//!
//! It never speaks HTTP: its errors are situations ([`AppError`]), and each
//! edge maps them to its own answers. It decides no rule itself: the domain
//! does, and it only calls the domain's checks in the contract's order.

#![warn(missing_docs)]

pub mod attachments;
pub mod clock;
pub mod commands;
pub mod datadir;
pub mod error;
pub mod history;
pub mod idempotency;
pub mod notifier;
pub mod reads;
pub mod text_modules;
pub mod views;
pub mod wire;

pub use error::AppError;

/// Decodes one of the log's entries (`what` names it in the error).
pub(crate) fn decode(
    entry: &docket_eventstore::RecordedEvent,
    what: &'static str,
) -> Result<docket_domain::Event, AppError> {
    docket_domain::codec::decode(&entry.event_type, entry.schema_version, &entry.payload).map_err(
        |problem| AppError::Undecodable {
            what,
            position: entry.position,
            problem,
        },
    )
}
