//! `history`: one ticket's events, as a timeline for people or, with
//! `--json`, exactly as `GET /v1/tickets/{id}/history` answers an auditor
//! (built by the application layer's own `History::to_json`).
//!
//! A ticket is named by its id or its 11-digit number. The log has no
//! index by number (the read models have one, but a copied folder may not
//! hold them, and they are not evidence), so a number is found by one scan
//! of the log for the `ticket_opened` that carries it: linear in the log
//! (`docs/benchmarks.md`, "docket-replay").

use std::io::Write;

use clap::Args;
use docket_app::history::History;
use docket_domain::access::CommentsShown;
use docket_domain::codec;
use docket_domain::types::{TicketId, TicketNumber};
use docket_domain::Event;
use docket_eventstore::{RecordedEvent, Store};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ReplayError;
use crate::{progress, timeline};

/// Events read per batch while scanning the log for a ticket number.
const SCAN_BATCH_EVENTS: usize = 4096;

/// What `ticket_opened` is called in the envelope (`Event::event_type`).
const TICKET_OPENED: &str = "ticket_opened";

/// An auditor sees internal comments (the API hides them from customers only).
const AUDITOR_SEES: CommentsShown = CommentsShown::All;

/// Print a ticket's history: a readable timeline (time, actor and role,
/// event, the changed fields, status after), or with --json exactly what
/// `GET /v1/tickets/{id}/history` answers.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The ticket's id (a UUID) or its 11-digit number. A number is found by
    /// scanning the whole log for the ticket_opened event that carries it
    /// (linear in the log's length: the read models that index numbers may
    /// be missing from a copied folder, and they are not evidence).
    #[arg(value_name = "TICKET-ID|NUMBER", value_parser = parse_ticket_ref)]
    pub ticket: TicketRef,
    /// The ticket as it stood at this instant (RFC 3339, e.g.
    /// 2026-11-22T09:30:00Z): its state then, and its events up to then,
    /// those recorded at exactly TIME included.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub as_of: Option<OffsetDateTime>,
    /// Print exactly the API's history JSON (`{ticket_id, events}`, with
    /// --as-of `{ticket_id, state, events}`) on one line.
    #[arg(long)]
    pub json: bool,
}

/// How the command line names a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketRef {
    Id(TicketId),
    Number(TicketNumber),
}

pub fn run(store: &Store, args: &HistoryArgs, mut out: impl Write) -> Result<(), ReplayError> {
    let ticket_id = match args.ticket {
        TicketRef::Id(ticket_id) => ticket_id,
        TicketRef::Number(number) => find_by_number(store, number)?,
    };
    // Read and decode the stream first: faults come back with positions.
    let entries = load(store, ticket_id)?;
    if entries.is_empty() {
        return Err(ReplayError::UnknownTicket { ticket_id });
    }
    if args.json {
        let history = History::load(store, ticket_id)
            .map_err(|error| ReplayError::History(error.to_string()))?;
        serde_json::to_writer(&mut out, &history.to_json(args.as_of, AUDITOR_SEES))
            .map_err(|e| ReplayError::Output(e.into()))?;
        writeln!(out).map_err(ReplayError::Output)?;
    } else {
        let links = timeline::Links::resolve(store, &entries)?;
        timeline::write(&mut out, ticket_id, &entries, &links, args.as_of)
            .map_err(ReplayError::Output)?;
    }
    out.flush().map_err(ReplayError::Output)
}

/// A stream's events with their decoded payloads, in version order.
pub fn load(
    store: &Store,
    ticket_id: TicketId,
) -> Result<Vec<(RecordedEvent, Event)>, ReplayError> {
    store
        .read_stream(&ticket_id.stream())?
        .into_iter()
        .map(|entry| {
            let event = decode(&entry)?;
            Ok((entry, event))
        })
        .collect()
}

pub fn decode(entry: &RecordedEvent) -> Result<Event, ReplayError> {
    codec::decode(&entry.event_type, entry.schema_version, &entry.payload).map_err(|error| {
        ReplayError::Undecodable {
            position: entry.position,
            detail: error.to_string(),
        }
    })
}

/// The ticket whose `ticket_opened` carries `number` (numbers are unique).
fn find_by_number(store: &Store, number: TicketNumber) -> Result<TicketId, ReplayError> {
    let head = store.head().position;
    let bar = progress::events(head, "looking up the number");
    let mut next = 1;
    while next <= head {
        let batch = store.read_from(next, SCAN_BATCH_EVENTS)?;
        for entry in batch
            .iter()
            .filter(|entry| entry.event_type == TICKET_OPENED)
        {
            if let Event::TicketOpened(opened) = decode(entry)? {
                if opened.number == number {
                    bar.finish_and_clear();
                    return Ok(opened.ticket_id);
                }
            }
        }
        if batch.is_empty() {
            break; // cannot happen below the head; never loop on it
        }
        next += batch.len() as u64;
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    Err(ReplayError::UnknownNumber {
        number,
        scanned: next - 1,
    })
}

fn parse_ticket_ref(text: &str) -> Result<TicketRef, String> {
    if let Some(number) = TicketNumber::parse(text) {
        return Ok(TicketRef::Number(number));
    }
    Uuid::parse_str(text)
        .map(|id| TicketRef::Id(TicketId(id)))
        .map_err(|_| {
            format!("`{text}` is neither a ticket id (a UUID) nor an 11-digit ticket number")
        })
}

/// RFC 3339, exactly what the API's `?as_of=` accepts.
fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-11-22T09:30:00Z ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_named_by_id_or_number() {
        let id = "0199f3a2-7c1e-7000-8000-000000000001";
        assert_eq!(
            parse_ticket_ref(id),
            Ok(TicketRef::Id(TicketId(
                Uuid::parse_str(id).expect("a uuid")
            )))
        );
        assert!(
            matches!(parse_ticket_ref("10000000042"), Ok(TicketRef::Number(n)) if n.value() == 10_000_000_042)
        );
        assert!(parse_ticket_ref("1000000004").is_err());
        assert!(parse_ticket_ref("ticket-1").is_err());
    }

    #[test]
    fn times_are_rfc_3339() {
        assert!(parse_time("2026-11-22T09:30:00Z").is_ok());
        assert!(parse_time("2026-11-22T10:30:00+01:00").is_ok());
        assert!(parse_time("2026-11-22").is_err());
        assert!(parse_time("yesterday").is_err());
    }
}
