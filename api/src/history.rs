//! A ticket's history straight from the log: its events in version order,
//! and its state as it stood at any instant (a fold up to that time).

use docket_domain::codec;
use docket_domain::ticket::{self, Ticket};
use docket_domain::types::{TicketId, Visibility};
use docket_domain::Event;
use docket_eventstore::{RecordedEvent, Store};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::clock::{from_unix_nanos, unix_nanos};
use crate::commands::store_error;
use crate::problem::ApiError;
use crate::queries::{event_json, rfc3339};

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

    /// The ticket as it stands now.
    pub fn view(&self) -> TicketView {
        let mut view = TicketView::default();
        for (entry, event) in &self.entries {
            view.apply(entry, event);
        }
        view
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
                let mut view = TicketView::default();
                for (entry, event) in &shown {
                    view.apply(entry, event);
                }
                let state = if view.version() == 0 {
                    Value::Null
                } else {
                    view.to_json(hide_internal)
                };
                json!({ "ticket_id": self.ticket_id, "state": state, "events": events })
            }
        }
    }
}

fn is_internal(event: &Event) -> bool {
    matches!(event, Event::CommentAdded(c) if c.visibility == Visibility::Internal)
}

/// The ticket as `GET /v1/tickets/{id}` shows it: the domain's fold (status,
/// escalation, refunds, links) plus the times and comments of the envelopes.
#[derive(Debug, Default, Clone)]
pub struct TicketView {
    ticket: Ticket,
    opened_at: Option<OffsetDateTime>,
    updated_at: Option<OffsetDateTime>,
    closed_at: Option<OffsetDateTime>,
    resolution: Option<docket_domain::types::Resolution>,
    comments: Vec<(docket_domain::events::CommentAdded, OffsetDateTime)>,
}

impl TicketView {
    pub fn version(&self) -> u64 {
        self.ticket.version
    }

    pub fn apply(&mut self, entry: &RecordedEvent, event: &Event) {
        let at = from_unix_nanos(entry.recorded_at_unix_nanos);
        self.ticket = ticket::apply(std::mem::take(&mut self.ticket), event);
        self.updated_at = Some(at);
        match event {
            Event::TicketOpened(_) => self.opened_at = Some(at),
            Event::CommentAdded(comment) => self.comments.push((comment.clone(), at)),
            Event::TicketClosed(closed) => {
                self.closed_at = Some(at);
                self.resolution = Some(closed.resolution);
            }
            _ => {}
        }
    }

    pub fn to_json(&self, hide_internal: bool) -> Value {
        let Some(opened) = &self.ticket.opened else {
            return Value::Null;
        };
        let comments: Vec<Value> = self
            .comments
            .iter()
            .filter(|(c, _)| !(hide_internal && c.visibility == Visibility::Internal))
            .map(|(c, at)| {
                json!({
                    "comment_id": c.comment_id,
                    "author": c.author.sub,
                    "role": c.author.role,
                    "body": c.body,
                    "visibility": c.visibility,
                    "at": rfc3339(*at),
                })
            })
            .collect();
        json!({
            "ticket_id": opened.ticket_id,
            "number": opened.number,
            "org": opened.org,
            "subject": opened.subject,
            "description": opened.description,
            "reason": opened.reason,
            "order": opened.order.as_ref().map(|o| json!({
                "number": o.number,
                "amount_minor": o.amount.amount_minor,
                "currency": o.amount.currency,
            })),
            "customer_code": opened.customer_code,
            "incident_date": opened.incident_date.map(docket_domain::types::date::format),
            "impact": opened.impact,
            "channel": opened.channel,
            "status": opened.status,
            "escalated": opened.escalated,
            "refunded_minor": opened.refunded_minor,
            "follow_up_of": opened.follow_up_of,
            "follow_ups": opened.follow_ups,
            "opened_at": self.opened_at.map(rfc3339),
            "updated_at": self.updated_at.map(rfc3339),
            "closed_at": self.closed_at.map(rfc3339),
            "resolution": self.resolution,
            "comments": comments,
            "version": self.ticket.version,
        })
    }
}
