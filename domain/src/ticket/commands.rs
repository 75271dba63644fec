//! The commands on a ticket stream, with their fields parsed at the edge
//! into types that cannot hold an illegal value. Fresh ids and numbers are
//! made by the caller; `decide` (in the parent module) checks the rest.

use std::num::NonZeroU64;

use time::Date;
use uuid::Uuid;

use crate::attachment::AddAttachment;
use crate::contact::{Contact, SalesChannel};
use crate::text::{
    CommentBody, CustomerCode, Description, Note, OrderNumber, ReasonCategory, ReasonDetail,
    RefundReason, Subject,
};
use crate::text_module::TextModuleName;
use crate::types::{
    Channel, Currency, EscalationReason, Impact, Money, OrgId, Resolution, TicketId, TicketNumber,
    Visibility,
};

/// A command on one ticket stream. Fresh ids are made by the caller.
// One command lives per request, decided once: its size is not worth a
// box on every open.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Open a new ticket.
    Open(OpenTicket),
    /// Post a comment, public or internal.
    Comment(AddComment),
    /// Escalate to first-level support.
    Escalate(Escalate),
    /// Refund part of the ticket's order.
    Refund(IssueRefund),
    /// Close the ticket.
    Close(CloseTicket),
    /// Add a file whose bytes are already stored.
    Attach(AddAttachment),
}

/// Open a new ticket, with its fields parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTicket {
    /// A fresh id; its stream must not exist yet.
    pub ticket_id: TicketId,
    /// Its number, drawn by the caller (numbers are never reused).
    pub number: TicketNumber,
    /// The body's `org`: required when the token's org is `"*"`; when the
    /// token names an org, absent or equal to it.
    pub org: Option<OrgId>,
    /// The contract's `subject`.
    pub subject: Subject,
    /// The contract's `description`.
    pub description: Description,
    /// The contract's `reason`.
    pub reason: ReasonInput,
    /// The contract's `order`, if given.
    pub order: Option<OrderInput>,
    /// The contract's `customer_code`, if given.
    pub customer_code: Option<CustomerCode>,
    /// The contract's `incident_date`, if given; checked against today and the intake window.
    pub incident_date: Option<Date>,
    /// `None` = the contract's default, `medium`.
    pub impact: Option<Impact>,
    /// `None` = the contract's default, `portal`.
    pub channel: Option<Channel>,
    /// The contract's `contact`, if given.
    pub contact: Option<Contact>,
    /// The contract's `sales_channel`, if given.
    pub sales_channel: Option<SalesChannel>,
}

/// A follow-up: every field optional, defaults from the (closed) parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFollowUp {
    /// A fresh id; its stream must not exist yet.
    pub ticket_id: TicketId,
    /// Its number, drawn by the caller (numbers are never reused).
    pub number: TicketNumber,
    /// The follow-up is always in its parent's org; if given, this must be it.
    pub org: Option<OrgId>,
    /// `None` = the parent's subject.
    pub subject: Option<Subject>,
    /// `None` = the parent's description.
    pub description: Option<Description>,
    /// Replaces the parent's reason as a whole (category and detail).
    pub reason: Option<ReasonInput>,
    /// `None` = the parent's order.
    pub order: Option<OrderInput>,
    /// `None` = the parent's customer code.
    pub customer_code: Option<CustomerCode>,
    /// `None` = the parent's date, which is not checked again.
    pub incident_date: Option<Date>,
    /// `None` = the parent's impact.
    pub impact: Option<Impact>,
    /// `None` = the parent's channel.
    pub channel: Option<Channel>,
    /// `None` = the parent's contact.
    pub contact: Option<Contact>,
    /// `None` = the parent's sales channel.
    pub sales_channel: Option<SalesChannel>,
}

/// The contract's `reason` as a command gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonInput {
    /// The kind of request (`reason.category`).
    pub category: ReasonCategory,
    /// Free text (`reason.detail`); a blank one is `None`.
    pub detail: Option<ReasonDetail>,
}

/// The contract's `order` as a command gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderInput {
    /// The seller's order number.
    pub number: OrderNumber,
    /// The order's total.
    pub amount: Money,
}

/// Post a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddComment {
    /// A fresh id for the comment.
    pub comment_id: Uuid,
    /// The text, written or from a text module.
    pub body: CommentText,
    /// Public, or internal (staff only).
    pub visibility: Visibility,
}

/// Where a comment's text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentText {
    /// Written by the actor (`body`).
    Written(CommentBody),
    /// A text module of the ticket's org, filled with the ticket's values
    /// (`text_module`); the org's modules are in `Context::text_modules`.
    FromModule(TextModuleName),
}

/// Escalate to first-level support (agents only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalate {
    /// Why.
    pub reason: EscalationReason,
    /// Free text; a blank one is `None`.
    pub note: Option<Note>,
}

/// Refund part of the ticket's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRefund {
    /// A fresh id for the refund.
    pub refund_id: Uuid,
    /// The amount, in minor units of `currency`; never zero.
    pub amount_minor: NonZeroU64,
    /// Must be the order's currency.
    pub currency: Currency,
    /// Why.
    pub reason: RefundReason,
}

/// Close the ticket, for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseTicket {
    /// How it ended.
    pub resolution: Resolution,
    /// Free text; a blank one is `None`.
    pub note: Option<Note>,
}
