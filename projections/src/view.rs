//! The ticket view (`GET /v1/tickets/{id}`) as a pure fold of one ticket's
//! events, and the ticket summary of inboxes and searches.
//!
//! The fold is the one place in the read side that knows how events change
//! a ticket's view; the projection stores its parts and the api and the
//! replay tool fold a stream's events with it to answer `as_of`. Status
//! rules mirror `docket_domain::ticket::apply` (a test checks both agree).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use docket_domain::access::CommentsShown;
pub use docket_domain::access::Scope;
use docket_domain::attachment::MediaType;
use docket_domain::contact::{Contact, SalesChannel};
use docket_domain::events::{Event, TextModuleUse, TicketOpened};
use docket_domain::types::{
    instant, Author, Channel, Impact, Order, OrgId, Reason, Resolution, Status, TicketId,
    TicketNumber, Visibility,
};

/// Where and when an event was recorded: what a fold needs besides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMeta {
    /// The event's position in the log.
    pub position: u64,
    /// The event's version in its stream (1 = `ticket_opened`).
    pub version: u64,
    /// When the event was recorded (the envelope's time).
    pub recorded_at: OffsetDateTime,
}

/// A ticket as its events leave it: everything the ticket endpoint shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketView {
    /// What the open fixed.
    pub head: TicketHead,
    /// What later events changed.
    pub state: TicketState,
    /// Every comment, oldest first, internal ones included (filter with
    /// [`TicketView::to_json`] or [`CommentView::visibility`]).
    pub comments: Vec<CommentView>,
}

/// What `ticket_opened` fixed, never changed afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketHead {
    /// The ticket's id.
    pub ticket_id: TicketId,
    /// The human ticket number.
    pub number: TicketNumber,
    /// The org that owns the ticket.
    pub org: OrgId,
    /// One line saying what the ticket is about.
    pub subject: String,
    /// The customer's account of the problem.
    pub description: String,
    /// Why it was opened: a category and an optional detail.
    pub reason: Reason,
    /// The order the ticket is about, if any.
    pub order: Option<Order>,
    /// The customer's code at the seller, if given.
    pub customer_code: Option<String>,
    /// The day the incident happened, if given.
    #[serde(with = "docket_domain::types::date::option")]
    pub incident_date: Option<Date>,
    /// How badly the customer is affected.
    pub impact: Impact,
    /// How the ticket reached the org.
    pub channel: Channel,
    /// Who opened it.
    pub opened_by: Author,
    /// The parent ticket, for a follow-up.
    pub follow_up_of: Option<TicketId>,
    /// When `ticket_opened` was recorded.
    #[serde(with = "instant")]
    pub opened_at: OffsetDateTime,
    /// The requester, if given.
    pub contact: Option<Contact>,
    /// The order's storefront, if given.
    pub sales_channel: Option<SalesChannel>,
}

/// What later events change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketState {
    /// `open`, `waiting` or `closed`, by the domain's status machine.
    pub status: Status,
    /// Once escalated, always escalated: support may see the ticket.
    pub escalated: bool,
    /// The running total of refunds, in the order's currency.
    pub refunded_minor: u64,
    /// Follow-ups opened on this ticket, oldest first.
    pub follow_ups: Vec<TicketId>,
    /// When the last event of the ticket was recorded.
    #[serde(with = "instant")]
    pub updated_at: OffsetDateTime,
    /// When the ticket closed; `None` while it is not closed.
    #[serde(with = "docket_domain::types::instant::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// How it ended; `None` while it is not closed.
    pub resolution: Option<Resolution>,
    /// The stream version of the last event folded.
    pub version: u64,
    /// The log position of the last event folded.
    pub position: u64,
    /// The ticket's attachments, oldest first.
    pub attachments: Vec<AttachmentView>,
}

/// One attachment of a ticket view, as the contract's `attachment` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    /// The attachment's id.
    pub attachment_id: Uuid,
    /// Its display name.
    pub filename: String,
    /// The type told from its bytes.
    pub media_type: MediaType,
    /// Its size in bytes.
    pub size: u64,
    /// The lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// Whether customers are shown it.
    pub visibility: Visibility,
    /// The `sub` of who added it.
    pub author: String,
    /// When it was added.
    #[serde(with = "instant")]
    pub at: OffsetDateTime,
}

impl AttachmentView {
    /// The contract's `attachment` object.
    pub fn to_json(&self) -> Value {
        json!({
            "attachment_id": self.attachment_id,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "visibility": self.visibility,
            "author": self.author,
            "at": rfc3339(self.at),
        })
    }
}

/// One comment of a ticket view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentView {
    /// The comment's id.
    pub comment_id: Uuid,
    /// Who wrote it, and in which role.
    pub author: Author,
    /// The text, as written.
    pub body: String,
    /// Whether customers are shown it.
    pub visibility: Visibility,
    /// When it was recorded.
    #[serde(with = "instant")]
    pub at: OffsetDateTime,
    /// The text module it was made from, if any.
    pub text_module: Option<TextModuleUse>,
}

/// A ticket summary, as inboxes and searches list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketSummary {
    /// The ticket's id.
    pub ticket_id: TicketId,
    /// The human ticket number.
    pub number: TicketNumber,
    /// The org that owns the ticket.
    pub org: OrgId,
    /// One line saying what the ticket is about.
    pub subject: String,
    /// `open`, `waiting` or `closed`.
    pub status: Status,
    /// Why it was opened: a category and an optional detail.
    pub reason: Reason,
    /// How badly the customer is affected.
    pub impact: Impact,
    /// How the ticket reached the org.
    pub channel: Channel,
    /// Whether it was ever escalated.
    pub escalated: bool,
    /// When `ticket_opened` was recorded.
    #[serde(with = "instant")]
    pub opened_at: OffsetDateTime,
    /// When the last event of the ticket was recorded.
    #[serde(with = "instant")]
    pub updated_at: OffsetDateTime,
    /// The earliest due time of the pending SLA clocks (running, or
    /// breached and unanswered); `None` when there is none.
    #[serde(with = "docket_domain::types::instant::option")]
    pub due_at: Option<OffsetDateTime>,
    /// The requester, if given.
    pub contact: Option<Contact>,
    /// The order's storefront, if given.
    pub sales_channel: Option<SalesChannel>,
}

impl TicketSummary {
    pub(crate) fn of(
        head: &TicketHead,
        state: &TicketState,
        due_at: Option<OffsetDateTime>,
    ) -> TicketSummary {
        TicketSummary {
            ticket_id: head.ticket_id,
            number: head.number,
            org: head.org.clone(),
            subject: head.subject.clone(),
            status: state.status,
            reason: head.reason.clone(),
            impact: head.impact,
            channel: head.channel,
            escalated: state.escalated,
            opened_at: head.opened_at,
            updated_at: state.updated_at,
            due_at,
            contact: head.contact.clone(),
            sales_channel: head.sales_channel.clone(),
        }
    }
}

impl TicketView {
    /// The view right after `ticket_opened`.
    pub fn opened(meta: EventMeta, opened: &TicketOpened) -> TicketView {
        TicketView {
            head: TicketHead::from_event(opened, meta.recorded_at),
            state: TicketState::opened(meta),
            comments: Vec::new(),
        }
    }

    /// Folds a stream's events (version order) from the start; `None` if the
    /// stream does not start with `ticket_opened`.
    pub fn replay<'a>(
        events: impl IntoIterator<Item = (EventMeta, &'a Event)>,
    ) -> Option<TicketView> {
        let mut events = events.into_iter();
        let mut view = loop {
            match events.next()? {
                (meta, Event::TicketOpened(opened)) => break TicketView::opened(meta, opened),
                (_, event) if !event.is_of_a_ticket() => continue,
                _ => return None,
            }
        };
        for (meta, event) in events {
            view.apply(meta, event);
        }
        Some(view)
    }

    /// Folds one more event of the ticket's stream. Total: an event that
    /// makes no sense now (a second open, anything but a follow-up link
    /// after the close) changes nothing but the version and times.
    pub fn apply(&mut self, meta: EventMeta, event: &Event) {
        if let Some(comment) = self.state.apply(meta, event) {
            self.comments.push(comment);
        }
    }

    /// The ticket's summary, given its earliest pending due time (from its
    /// SLA clocks, which the view does not hold).
    pub fn summary(&self, due_at: Option<OffsetDateTime>) -> TicketSummary {
        TicketSummary::of(&self.head, &self.state, due_at)
    }

    /// Whether a reader of `scope` sees this ticket ([`Scope::covers`]).
    pub fn is_visible_to(&self, scope: &Scope) -> bool {
        scope.covers(&self.head.org, self.state.escalated)
    }

    /// The contract's JSON of the ticket endpoint (without the `ETag`
    /// header), with the comments `shown` (no internal ones for customers).
    pub fn to_json(&self, shown: CommentsShown) -> Value {
        let head = &self.head;
        let state = &self.state;
        let comments: Vec<Value> = self
            .comments
            .iter()
            .filter(|c| shown.shows(c.visibility))
            .map(|c| {
                json!({
                    "comment_id": c.comment_id,
                    "author": c.author.sub,
                    "role": c.author.role,
                    "body": c.body,
                    "visibility": c.visibility,
                    "at": rfc3339(c.at),
                    "text_module": c.text_module,
                })
            })
            .collect();
        json!({
            "ticket_id": head.ticket_id,
            "number": head.number,
            "org": head.org,
            "subject": head.subject,
            "description": head.description,
            "reason": head.reason,
            "order": head.order.as_ref().map(|order| json!({
                "number": order.number,
                "amount_minor": order.amount.amount_minor,
                "currency": order.amount.currency,
            })),
            "customer_code": head.customer_code,
            "incident_date": head.incident_date.map(docket_domain::types::date::format),
            "impact": head.impact,
            "channel": head.channel,
            "opened_by": {"sub": head.opened_by.sub, "role": head.opened_by.role},
            "status": state.status,
            "escalated": state.escalated,
            "refunded_minor": state.refunded_minor,
            "follow_up_of": head.follow_up_of,
            "follow_ups": state.follow_ups,
            "opened_at": rfc3339(head.opened_at),
            "updated_at": rfc3339(state.updated_at),
            "closed_at": state.closed_at.map(rfc3339),
            "resolution": state.resolution,
            "contact": head.contact,
            "sales_channel": head.sales_channel,
            "comments": comments,
            "attachments": state
                .attachments
                .iter()
                .filter(|a| shown.shows(a.visibility))
                .map(AttachmentView::to_json)
                .collect::<Vec<_>>(),
            "version": state.version,
        })
    }
}

impl TicketHead {
    pub(crate) fn from_event(opened: &TicketOpened, at: OffsetDateTime) -> TicketHead {
        TicketHead {
            ticket_id: opened.ticket_id,
            number: opened.number,
            org: opened.org.clone(),
            subject: opened.subject.clone(),
            description: opened.description.clone(),
            reason: opened.reason.clone(),
            order: opened.order.clone(),
            customer_code: opened.customer_code.clone(),
            incident_date: opened.incident_date,
            impact: opened.impact,
            channel: opened.channel,
            opened_by: opened.opened_by.clone(),
            follow_up_of: opened.follow_up_of,
            opened_at: at,
            contact: opened.contact.clone(),
            sales_channel: opened.sales_channel.clone(),
        }
    }
}

impl TicketState {
    pub(crate) fn opened(meta: EventMeta) -> TicketState {
        TicketState {
            status: Status::Open,
            escalated: false,
            refunded_minor: 0,
            follow_ups: Vec::new(),
            updated_at: meta.recorded_at,
            closed_at: None,
            resolution: None,
            version: meta.version,
            position: meta.position,
            attachments: Vec::new(),
        }
    }

    /// Folds one event of the ticket's stream (after its `ticket_opened`);
    /// returns the comment it adds, if any.
    pub(crate) fn apply(&mut self, meta: EventMeta, event: &Event) -> Option<CommentView> {
        if !event.is_of_a_ticket() {
            return None;
        }
        self.version = meta.version;
        self.position = meta.position;
        self.updated_at = meta.recorded_at;
        let closed = self.status == Status::Closed;
        self.status = docket_domain::status::after(self.status, event);
        match event {
            Event::CommentAdded(comment) => {
                return Some(CommentView {
                    comment_id: comment.comment_id,
                    author: comment.author.clone(),
                    body: comment.body.clone(),
                    visibility: comment.visibility,
                    at: meta.recorded_at,
                    text_module: comment.text_module.clone(),
                });
            }
            Event::Escalated(_) => self.escalated = true,
            Event::RefundIssued(refund) => {
                self.refunded_minor = self
                    .refunded_minor
                    .saturating_add(refund.amount.amount_minor);
            }
            Event::TicketClosed(close) => {
                if !closed {
                    self.closed_at = Some(meta.recorded_at);
                    self.resolution = Some(close.resolution);
                }
            }
            Event::FollowUpOpened(link) => self.follow_ups.push(link.follow_up_id),
            Event::AttachmentAdded(added) => self.attachments.push(AttachmentView {
                attachment_id: added.attachment_id,
                filename: added.filename.clone(),
                media_type: added.media_type,
                size: added.size,
                sha256: added.sha256.clone(),
                visibility: added.visibility,
                author: added.author.sub.clone(),
                at: meta.recorded_at,
            }),
            Event::TicketOpened(_)
            | Event::PolicySet(_)
            | Event::TextModuleSaved(_)
            | Event::TextModuleRemoved(_) => {}
        }
        None
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
