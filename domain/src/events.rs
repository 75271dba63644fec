//! Every fact Docket records. These shapes are frozen once released: postcard
//! stores fields by position and variants by index, so a change is a new
//! schema version with an upcaster (see `codec`), never an edit in place.
//! Never put `skip_serializing_if` on these types: postcard has no field
//! names, so a skipped field shifts every field after it.

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::policy::OrgPolicy;
use crate::types::{
    Author, Channel, EscalationReason, Impact, Money, Order, OrgId, Reason, Resolution, TicketId,
    TicketNumber, Visibility,
};

/// One recorded fact, of a ticket stream or of an org-policy stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    TicketOpened(TicketOpened),
    CommentAdded(CommentAdded),
    Escalated(Escalated),
    RefundIssued(RefundIssued),
    TicketClosed(TicketClosed),
    FollowUpOpened(FollowUpOpened),
    PolicySet(PolicySet),
}

impl Event {
    /// The contract's `type` of the event (histories, the event feed).
    pub fn event_type(&self) -> &'static str {
        match self {
            Event::TicketOpened(_) => "ticket_opened",
            Event::CommentAdded(_) => "comment_added",
            Event::Escalated(_) => "escalated",
            Event::RefundIssued(_) => "refund_issued",
            Event::TicketClosed(_) => "ticket_closed",
            Event::FollowUpOpened(_) => "follow_up_opened",
            Event::PolicySet(_) => "policy_set",
        }
    }

    /// The event's own fields, serializable as the contract's `data`
    /// (without the variant tag that `Event`'s own `Serialize` adds).
    pub fn data(&self) -> EventData<'_> {
        EventData(self)
    }
}

pub struct EventData<'a>(pub &'a Event);

impl Serialize for EventData<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Event::TicketOpened(e) => e.serialize(serializer),
            Event::CommentAdded(e) => e.serialize(serializer),
            Event::Escalated(e) => e.serialize(serializer),
            Event::RefundIssued(e) => e.serialize(serializer),
            Event::TicketClosed(e) => e.serialize(serializer),
            Event::FollowUpOpened(e) => e.serialize(serializer),
            Event::PolicySet(e) => e.serialize(serializer),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOpened {
    pub ticket_id: TicketId,
    pub number: TicketNumber,
    pub org: OrgId,
    pub subject: String,
    pub description: String,
    pub reason: Reason,
    pub order: Option<Order>,
    pub customer_code: Option<String>,
    #[serde(with = "crate::types::date::option")]
    pub incident_date: Option<Date>,
    pub impact: Impact,
    pub channel: Channel,
    /// Who opened it (the customer, or an agent on the customer's behalf).
    pub opened_by: Author,
    pub follow_up_of: Option<TicketId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentAdded {
    pub comment_id: Uuid,
    pub author: Author,
    pub body: String,
    pub visibility: Visibility,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalated {
    pub reason: EscalationReason,
    pub note: Option<String>,
    pub escalated_by: Author,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundIssued {
    pub refund_id: Uuid,
    pub amount: Money,
    pub reason: String,
    pub issued_by: Author,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClosed {
    pub resolution: Resolution,
    pub note: Option<String>,
    pub closed_by: Author,
}

/// Recorded on the (closed) parent, in the same append as the follow-up's
/// `TicketOpened`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpOpened {
    pub follow_up_id: TicketId,
    pub follow_up_number: TicketNumber,
    pub opened_by: Author,
}

/// The policy an org applies from the moment this event is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySet {
    pub org: OrgId,
    pub policy: OrgPolicy,
    pub set_by: Author,
}

macro_rules! event_from_payload {
    ($($payload:ident),* $(,)?) => {$(
        impl From<$payload> for Event {
            fn from(payload: $payload) -> Event {
                Event::$payload(payload)
            }
        }
    )*};
}

event_from_payload!(
    TicketOpened,
    CommentAdded,
    Escalated,
    RefundIssued,
    TicketClosed,
    FollowUpOpened,
    PolicySet,
);
