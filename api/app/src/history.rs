//! A ticket's history straight from the log: its events in version order,
//! and its state as it stood at any instant (a fold up to that time).

use docket_domain::access::CommentsShown;
use docket_domain::ticket::{self, Ticket};
use docket_domain::types::TicketId;
use docket_domain::Event;
use docket_eventstore::{RecordedEvent, Store};
use docket_projections::{EventMeta, TicketView};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::clock::{from_unix_nanos, unix_nanos};
use crate::error::AppError;
use crate::wire::{event_json, StreamField};

/// A ticket's stream, decoded, with the ticket folded from it.
pub struct History {
    /// The ticket whose stream it is.
    pub ticket_id: TicketId,
    /// The ticket as its whole stream leaves it.
    pub ticket: Ticket,
    entries: Vec<(RecordedEvent, Event)>,
}

impl History {
    /// Reads and decodes the ticket's whole stream.
    pub fn load(store: &Store, ticket_id: TicketId) -> Result<History, AppError> {
        let recorded = store.read_stream(&ticket_id.stream())?;
        let mut entries = Vec::with_capacity(recorded.len());
        for entry in recorded {
            let event = crate::decode(&entry, "event")?;
            entries.push((entry, event));
        }
        let ticket = ticket::fold(entries.iter().map(|(_, event)| event));
        Ok(History {
            ticket_id,
            ticket,
            entries,
        })
    }

    /// The events recorded at or before `as_of` (all of them without it),
    /// with the comment events `shown`, in version order.
    pub fn events(
        &self,
        as_of: Option<OffsetDateTime>,
        shown: CommentsShown,
    ) -> impl Iterator<Item = &(RecordedEvent, Event)> {
        self.until(as_of)
            .filter(move |(_, event)| shows(shown, event))
    }

    /// The ticket view as it stood at `as_of` (events recorded at exactly
    /// `as_of` included); `None` before its open.
    pub fn view_as_of(&self, as_of: OffsetDateTime) -> Option<TicketView> {
        TicketView::replay(
            self.until(Some(as_of))
                .map(|(entry, event)| (meta(entry), event)),
        )
    }

    /// The contract's JSON: `{ticket_id, events}`, or with `as_of`
    /// `{ticket_id, state, events}`.
    pub fn to_json(&self, as_of: Option<OffsetDateTime>, shown: CommentsShown) -> Value {
        let events: Vec<Value> = self
            .events(as_of, shown)
            .map(|(entry, event)| event_json(entry, Some(event), StreamField::Omitted))
            .collect();
        match as_of {
            None => json!({ "ticket_id": self.ticket_id, "events": events }),
            Some(as_of) => {
                let state = match self.view_as_of(as_of) {
                    Some(view) => view.to_json(shown),
                    None => Value::Null,
                };
                json!({ "ticket_id": self.ticket_id, "state": state, "events": events })
            }
        }
    }

    fn until(
        &self,
        as_of: Option<OffsetDateTime>,
    ) -> impl Iterator<Item = &(RecordedEvent, Event)> {
        let until_unix_nanos = as_of.map(unix_nanos);
        self.entries.iter().filter(move |(entry, _)| {
            until_unix_nanos.is_none_or(|t| entry.recorded_at_unix_nanos <= t)
        })
    }
}

fn meta(entry: &RecordedEvent) -> EventMeta {
    EventMeta {
        position: entry.position,
        version: entry.version,
        recorded_at: from_unix_nanos(entry.recorded_at_unix_nanos),
    }
}

fn shows(shown: CommentsShown, event: &Event) -> bool {
    match event {
        Event::CommentAdded(comment) => shown.shows(comment.visibility),
        _ => true,
    }
}
