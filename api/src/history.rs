//! A ticket's history straight from the log: its events in version order,
//! and its state as it stood at any instant (a fold up to that time).

use docket_domain::codec;
use docket_domain::ticket::{self, Ticket};
use docket_domain::types::{TicketId, Visibility};
use docket_domain::Event;
use docket_eventstore::{RecordedEvent, Store};
use docket_projections::{EventMeta, TicketView};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::clock::{from_unix_nanos, unix_nanos};
use crate::commands::store_error;
use crate::problem::ApiError;
use crate::queries::event_json;

pub struct History {
    pub ticket_id: TicketId,
    pub ticket: Ticket,
    entries: Vec<(RecordedEvent, Event)>,
}

impl History {
    pub fn load(store: &Store, ticket_id: TicketId) -> Result<History, ApiError> {
        let recorded = store
            .read_stream(&ticket_id.stream())
            .map_err(store_error)?;
        let mut entries = Vec::with_capacity(recorded.len());
        for entry in recorded {
            let event = codec::decode(&entry.event_type, entry.schema_version, &entry.payload)
                .map_err(|error| {
                    ApiError::internal(format!(
                        "undecodable event at position {}: {error}",
                        entry.position
                    ))
                })?;
            entries.push((entry, event));
        }
        let ticket = ticket::fold(entries.iter().map(|(_, event)| event));
        Ok(History {
            ticket_id,
            ticket,
            entries,
        })
    }

    /// `{ticket_id, events}`, or with `as_of` `{state, events}` (events
    /// recorded at exactly `as_of` included). Customers get no internal
    /// comment events.
    pub fn to_json(&self, as_of: Option<OffsetDateTime>, hide_internal: bool) -> Value {
        let until = as_of.map(unix_nanos);
        let shown: Vec<&(RecordedEvent, Event)> = self
            .entries
            .iter()
            .filter(|(entry, _)| until.is_none_or(|t| entry.recorded_at_unix_nanos <= t))
            .collect();
        let events: Vec<Value> = shown
            .iter()
            .filter(|(_, event)| !(hide_internal && is_internal(event)))
            .map(|(entry, event)| event_json(entry, Some(event), false))
            .collect();
        match as_of {
            None => json!({ "ticket_id": self.ticket_id, "events": events }),
            Some(_) => {
                let view =
                    TicketView::replay(shown.iter().map(|(entry, event)| (meta(entry), event)));
                let state = match view {
                    Some(view) => view.to_json(!hide_internal),
                    None => Value::Null,
                };
                json!({ "ticket_id": self.ticket_id, "state": state, "events": events })
            }
        }
    }
}

fn meta(entry: &RecordedEvent) -> EventMeta {
    EventMeta {
        position: entry.position,
        version: entry.version,
        recorded_at: from_unix_nanos(entry.recorded_at_unix_nanos),
    }
}

fn is_internal(event: &Event) -> bool {
    matches!(event, Event::CommentAdded(c) if c.visibility == Visibility::Internal)
}
