//! Every fact Docket records. These shapes are frozen once released: postcard
//! stores fields by position and variants by index, so a change is a new
//! schema version with an upcaster (see `codec`), never an edit in place.
//! Never put `skip_serializing_if` on these types: postcard has no field
//! names, so a skipped field shifts every field after it.

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::attachment::MediaType;
use crate::contact::{Contact, SalesChannel};
use crate::policy::OrgPolicy;
use crate::types::{
    Author, Channel, EscalationReason, Impact, Money, Order, OrgId, Reason, Resolution, TicketId,
    TicketNumber, Visibility,
};

/// One recorded fact, of a ticket stream or of an org-policy stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// `ticket_opened`: the first event of a ticket stream.
    TicketOpened(TicketOpened),
    /// `comment_added`: a public comment or an internal note.
    CommentAdded(CommentAdded),
    /// `escalated`: handed to first-level support.
    Escalated(Escalated),
    /// `refund_issued`: a partial refund on the ticket's order.
    RefundIssued(RefundIssued),
    /// `ticket_closed`: final; only a follow-up's link may come after it.
    TicketClosed(TicketClosed),
    /// `follow_up_opened`, on the parent.
    FollowUpOpened(FollowUpOpened),
    /// `policy_set`, in a `policy-{org}` stream.
    PolicySet(PolicySet),
    /// `text_module_saved`, in a `text-modules-{org}` stream.
    TextModuleSaved(TextModuleSaved),
    /// `text_module_removed`, in a `text-modules-{org}` stream.
    TextModuleRemoved(TextModuleRemoved),
    /// `attachment_added`: a file added to a ticket.
    AttachmentAdded(AttachmentAdded),
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
            Event::TextModuleSaved(_) => "text_module_saved",
            Event::TextModuleRemoved(_) => "text_module_removed",
            Event::AttachmentAdded(_) => "attachment_added",
        }
    }

    /// Whether the event belongs to a ticket stream (not to an org's policy
    /// or text modules).
    pub fn is_of_a_ticket(&self) -> bool {
        !matches!(
            self,
            Event::PolicySet(_) | Event::TextModuleSaved(_) | Event::TextModuleRemoved(_)
        )
    }

    /// The event's own fields, serializable as the contract's `data`
    /// (without the variant tag that `Event`'s own `Serialize` adds).
    pub fn data(&self) -> EventData<'_> {
        EventData(self)
    }
}

/// An event's `data` as the contract shows it: its payload, untagged.
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
            Event::TextModuleSaved(e) => e.serialize(serializer),
            Event::TextModuleRemoved(e) => e.serialize(serializer),
            Event::AttachmentAdded(e) => e.serialize(serializer),
        }
    }
}

/// A ticket was opened (a follow-up too, with `follow_up_of` set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOpened {
    /// The new ticket's id; its stream is `ticket-{ticket_id}`.
    pub ticket_id: TicketId,
    /// The human ticket number, drawn for this ticket.
    pub number: TicketNumber,
    /// The org that owns the ticket, for good.
    pub org: OrgId,
    /// One line saying what the ticket is about.
    pub subject: String,
    /// The customer's account of the problem.
    pub description: String,
    /// Why it was opened: a category and an optional detail.
    pub reason: Reason,
    /// The order the ticket is about, if any; refunds need one.
    pub order: Option<Order>,
    /// The customer's code at the seller, if given.
    pub customer_code: Option<String>,
    /// The day the incident happened, if given.
    #[serde(with = "crate::types::date::option")]
    pub incident_date: Option<Date>,
    /// The given impact, or the contract's default.
    pub impact: Impact,
    /// The given channel, or the contract's default.
    pub channel: Channel,
    /// Who opened it (the customer, or an agent on the customer's behalf).
    pub opened_by: Author,
    /// The parent ticket, for a follow-up.
    pub follow_up_of: Option<TicketId>,
    /// The requester, where notifications go (schema version 2).
    pub contact: Option<Contact>,
    /// The storefront the order was placed on (schema version 2).
    pub sales_channel: Option<SalesChannel>,
}

/// A comment was posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentAdded {
    /// The comment's id, made by the caller.
    pub comment_id: Uuid,
    /// Who wrote it.
    pub author: Author,
    /// The text, as written.
    pub body: String,
    /// Who is shown it.
    pub visibility: Visibility,
    /// The text module the body was made from, if any (schema version 2).
    pub text_module: Option<TextModuleUse>,
}

/// Which text module, at which version, a comment's body was made from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TextModuleUse {
    /// The module's name.
    pub name: String,
    /// The module's version when it was used.
    pub version: u64,
}

/// The ticket was escalated to first-level support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalated {
    /// Why, as the contract names it.
    pub reason: EscalationReason,
    /// Free text, if given.
    pub note: Option<String>,
    /// Who escalated it (an agent).
    pub escalated_by: Author,
}

/// A partial refund was issued on the ticket's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundIssued {
    /// The refund's id, made by the caller.
    pub refund_id: Uuid,
    /// The amount refunded, in the order's currency.
    pub amount: Money,
    /// Why, as the issuer wrote it.
    pub reason: String,
    /// Who issued it (an agent or support).
    pub issued_by: Author,
}

/// The ticket was closed, for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClosed {
    /// How it ended.
    pub resolution: Resolution,
    /// Free text, if given.
    pub note: Option<String>,
    /// Who closed it (an agent or support).
    pub closed_by: Author,
}

/// Recorded on the (closed) parent, in the same append as the follow-up's
/// `TicketOpened`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpOpened {
    /// The new ticket.
    pub follow_up_id: TicketId,
    /// The new ticket's number.
    pub follow_up_number: TicketNumber,
    /// Who opened the follow-up.
    pub opened_by: Author,
}

/// The policy an org applies from the moment this event is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySet {
    /// The org whose policy it is.
    pub org: OrgId,
    /// The policy, whole: it replaces the previous one.
    pub policy: OrgPolicy,
    /// The admin who set it.
    pub set_by: Author,
}

/// An org's text module was saved (made, or replaced whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextModuleSaved {
    /// The org whose module it is.
    pub org: OrgId,
    /// Its name, unique in the org.
    pub name: String,
    /// The name's saves and removals, this one included (1 at the first).
    pub version: u64,
    /// Its title, plain text.
    pub title: String,
    /// Its body, with placeholders.
    pub body: String,
    /// The channels it is for, sorted, without duplicates; empty for all.
    pub sales_channels: Vec<SalesChannel>,
    /// The agent or admin who saved it.
    pub saved_by: Author,
}

/// An org's text module was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextModuleRemoved {
    /// The org whose module it was.
    pub org: OrgId,
    /// Its name.
    pub name: String,
    /// The name's saves and removals, this one included.
    pub version: u64,
    /// The agent or admin who removed it.
    pub removed_by: Author,
}

/// A file was added to the ticket. Its bytes are stored outside the log,
/// by their SHA-256, durably before this event was appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentAdded {
    /// The attachment's id, made by the caller.
    pub attachment_id: Uuid,
    /// The display name (the client's filename, sanitized).
    pub filename: String,
    /// The type told from the bytes.
    pub media_type: MediaType,
    /// The size in bytes.
    pub size: u64,
    /// The lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Who is shown it.
    pub visibility: Visibility,
    /// Who added it.
    pub author: Author,
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
    TextModuleSaved,
    TextModuleRemoved,
    AttachmentAdded,
);
