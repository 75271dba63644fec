//! The ticket decider: a ticket's state folded from its events, the commands
//! that change it, and `decide`, which answers a command with new events or
//! the [`DomainError`] that refuses it. The command types are in
//! `ticket/commands.rs`; every decision and its order of checks is here.
//!
//! Every command is checked in the same order, so that no answer leaks more
//! than the one before it allows:
//! 1. may the actor's role ever do this? (`forbidden`; the ticket is not
//!    looked at, so this reveals nothing about it);
//! 2. does the ticket exist and may the actor see it? (`not_found`, the same
//!    answer for both);
//! 3. the command's own rules: a closed ticket first (`ticket_closed`:
//!    nothing changes a closed ticket, so no other rule is worth reporting),
//!    then the others in the order the contract lists them.
//!
//! Defaults of `open`: `impact` and `channel` are `Option`s in the command and
//! the domain applies the contract's defaults (`medium`, `portal`), so the
//! rule lives here with the others and a follow-up can tell "not given"
//! (inherit the parent's) from "given".

use time::{Date, OffsetDateTime, UtcOffset};

use crate::access::{self, Action};
use crate::attachment::{self, AddAttachment, AttachmentRef};
use crate::contact::{Contact, SalesChannel};
use crate::error::DomainError;
use crate::events::{
    AttachmentAdded, CommentAdded, Escalated, Event, FollowUpOpened, RefundIssued, TextModuleUse,
    TicketClosed, TicketOpened,
};
use crate::policy::{OrgPolicy, RequiredField};
use crate::status;
use crate::text::CommentBody;
use crate::text_module::{self, TextModules};
use crate::types::{
    Actor, Author, Channel, Impact, Money, Order, OrgId, OrgScope, Reason, Status, TicketId,
    TicketNumber, Visibility,
};

mod commands;

pub use commands::{
    AddComment, CloseTicket, Command, CommentText, Escalate, IssueRefund, OpenFollowUp, OpenTicket,
    OrderInput, ReasonInput,
};

/// A ticket as its events leave it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ticket {
    /// The number of events applied: the stream version (0 = no stream).
    pub version: u64,
    /// `None` until `ticket_opened` is applied.
    pub opened: Option<OpenedTicket>,
}

/// The facts of a ticket that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedTicket {
    /// The ticket's id; its stream is `ticket-{ticket_id}`.
    pub ticket_id: TicketId,
    /// The human ticket number.
    pub number: TicketNumber,
    /// The org that owns the ticket.
    pub org: OrgId,
    /// Where the ticket stands, by the one status machine (`status::after`).
    pub status: Status,
    /// Once escalated, always escalated.
    pub escalated: bool,
    /// The sum of the refunds issued, in the order's currency.
    pub refunded_minor: u64,
    /// As opened; no event changes it.
    pub subject: String,
    /// As opened; no event changes it.
    pub description: String,
    /// As opened; no event changes it.
    pub reason: Reason,
    /// The order the ticket is about, if any; refunds need one.
    pub order: Option<Order>,
    /// As opened; no event changes it.
    pub customer_code: Option<String>,
    /// As opened; no event changes it.
    pub incident_date: Option<Date>,
    /// As opened; no event changes it.
    pub impact: Impact,
    /// As opened; no event changes it.
    pub channel: Channel,
    /// Who opened it.
    pub opened_by: Author,
    /// The parent ticket, for a follow-up.
    pub follow_up_of: Option<TicketId>,
    /// The follow-ups opened on this ticket, oldest first.
    pub follow_ups: Vec<TicketId>,
    /// The requester, as opened; no event changes it.
    pub contact: Option<Contact>,
    /// The storefront of the order, as opened; no event changes it.
    pub sales_channel: Option<SalesChannel>,
    /// Its attachments, oldest first.
    pub attachments: Vec<AttachmentRef>,
}

/// What a decision needs from the world, passed in: the domain asks nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The time of the decision: the event's time, and "today" for incident dates.
    pub now: OffsetDateTime,
    /// Who asks, from the token.
    pub actor: Actor,
    /// The policy in force for the ticket's org (for a policy command: the
    /// org's current policy).
    pub policy: OrgPolicy,
    /// The org's text modules, for a comment made from one (empty
    /// otherwise: the caller loads them only then).
    pub text_modules: TextModules,
}

/// The two appends of a follow-up, made atomically by the caller: the new
/// ticket's stream (which must not exist yet: append it expecting no
/// stream) and the parent's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpDecision {
    /// The new ticket's events: its `ticket_opened`.
    pub new_ticket: Vec<Event>,
    /// The parent's events: its `follow_up_opened`.
    pub parent: Vec<Event>,
}

/// The state of a stream with no events.
pub fn initial() -> Ticket {
    Ticket::default()
}

/// Folds a stream's events, in version order, into a ticket.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Ticket {
    events.into_iter().fold(initial(), apply)
}

/// Folds one event into the state. Total: a sequence `decide` would never
/// produce (a comment before the open, a second open) changes nothing but
/// the version, and `closed` stays final. `policy_set` does not belong to
/// ticket streams and is ignored altogether.
pub fn apply(mut state: Ticket, event: &Event) -> Ticket {
    if !event.is_of_a_ticket() {
        return state;
    }
    state.version = state.version.saturating_add(1);
    let Some(ticket) = state.opened.as_mut() else {
        if let Event::TicketOpened(opened) = event {
            state.opened = Some(OpenedTicket::from_event(opened));
        }
        return state;
    };
    ticket.status = status::after(ticket.status, event);
    match event {
        Event::Escalated(_) => ticket.escalated = true,
        Event::RefundIssued(refund) => {
            ticket.refunded_minor = ticket
                .refunded_minor
                .saturating_add(refund.amount.amount_minor);
        }
        Event::FollowUpOpened(follow_up) => ticket.follow_ups.push(follow_up.follow_up_id),
        Event::AttachmentAdded(added) => ticket.attachments.push(AttachmentRef {
            attachment_id: added.attachment_id,
            filename: added.filename.clone(),
            media_type: added.media_type,
            size_bytes: added.size,
            sha256: added.sha256.clone(),
            visibility: added.visibility,
        }),
        Event::TicketOpened(_)
        | Event::CommentAdded(_)
        | Event::TicketClosed(_)
        | Event::PolicySet(_)
        | Event::TextModuleSaved(_)
        | Event::TextModuleRemoved(_) => {}
    }
    state
}

/// Decides a command on the ticket `state` (the folded stream the command
/// addresses; `initial()` for an open).
pub fn decide(state: &Ticket, command: &Command, ctx: &Context) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::Open(open) => decide_open(state, open, ctx),
        Command::Comment(comment) => decide_comment(state, comment, ctx),
        Command::Escalate(escalate) => decide_escalate(state, escalate, ctx),
        Command::Refund(refund) => decide_refund(state, refund, ctx),
        Command::Close(close) => decide_close(state, close, ctx),
        Command::Attach(attach) => decide_attach(state, attach, ctx),
    }
}

/// Checks 1 and 2 of the module docs for `command`: may the actor's role do
/// it, and (for a command on an existing ticket) does the actor see the
/// ticket. `decide` makes them too; a caller runs this first to put its own
/// check between them and the command's rules: the api answers a stale
/// `If-Match` with 412 whatever the ticket has become since (closed,
/// escalated), but only to an actor who may do the command on that ticket.
pub fn authorize(state: &Ticket, command: &Command, actor: &Actor) -> Result<(), DomainError> {
    action_of(command).permit(actor.role)?;
    if let Command::Comment(AddComment {
        body: CommentText::FromModule(_),
        ..
    }) = command
    {
        Action::UseTextModule.permit(actor.role)?;
    }
    match command {
        Command::Open(_) => Ok(()),
        _ => visible(state, actor).map(|_| ()),
    }
}

/// The checks an attachment's upload can pass before its bytes are read:
/// a role that may add public attachments (those of comments), on a
/// ticket the actor sees. [`authorize`] of the `Attach` command repeats
/// them once the visibility is known (a customer's internal one is 403).
pub fn authorize_upload(state: &Ticket, actor: &Actor) -> Result<(), DomainError> {
    Action::Comment.permit(actor.role)?;
    visible(state, actor).map(|_| ())
}

/// [`authorize`] for a follow-up of `parent`.
pub fn authorize_follow_up(parent: &Ticket, actor: &Actor) -> Result<(), DomainError> {
    Action::OpenFollowUp.permit(actor.role)?;
    visible(parent, actor).map(|_| ())
}

/// What the roles table calls the command.
pub fn action_of(command: &Command) -> Action {
    match command {
        Command::Open(_) => Action::OpenTicket,
        Command::Comment(comment) => comment_action(comment.visibility),
        Command::Escalate(_) => Action::Escalate,
        Command::Refund(_) => Action::Refund,
        Command::Close(_) => Action::Close,
        Command::Attach(attach) => comment_action(attach.visibility),
    }
}

fn comment_action(visibility: Visibility) -> Action {
    match visibility {
        Visibility::Public => Action::Comment,
        Visibility::Internal => Action::CommentInternally,
    }
}

/// Decides a follow-up of `parent`. The follow-up's fields default to the
/// parent's; its org is always the parent's.
///
/// The intake-window and future-date rules apply only to an `incident_date`
/// given in the follow-up itself. An inherited date was accepted when the
/// parent was opened; checking it again would refuse every follow-up of an
/// old ticket, although following up is exactly what a customer does after a
/// ticket was closed unsatisfactorily. Required fields are checked after the
/// defaults are applied.
pub fn decide_follow_up(
    parent: &Ticket,
    command: &OpenFollowUp,
    ctx: &Context,
) -> Result<FollowUpDecision, DomainError> {
    Action::OpenFollowUp.permit(ctx.actor.role)?;
    let parent = visible(parent, &ctx.actor)?;
    if let Some(requested) = &command.org {
        if *requested != parent.org {
            return Err(DomainError::ForbiddenOrg {
                allowed: parent.org.clone(),
                requested: requested.clone(),
            });
        }
    }
    if parent.status != Status::Closed {
        return Err(DomainError::ParentNotClosed);
    }
    if command.ticket_id == parent.ticket_id {
        return Err(DomainError::TicketExists {
            ticket_id: command.ticket_id,
        });
    }
    check_incident_date(command.incident_date, ctx)?;
    let opened = TicketOpened {
        ticket_id: command.ticket_id,
        number: command.number,
        org: parent.org.clone(),
        subject: text_or(&command.subject, &parent.subject),
        description: text_or(&command.description, &parent.description),
        reason: match &command.reason {
            Some(reason) => reason.to_reason(),
            None => parent.reason.clone(),
        },
        order: match &command.order {
            Some(order) => Some(order.to_order()),
            None => parent.order.clone(),
        },
        customer_code: match &command.customer_code {
            Some(code) => Some(code.as_str().to_owned()),
            None => parent.customer_code.clone(),
        },
        incident_date: command.incident_date.or(parent.incident_date),
        impact: command.impact.unwrap_or(parent.impact),
        channel: command.channel.unwrap_or(parent.channel),
        opened_by: author(&ctx.actor),
        follow_up_of: Some(parent.ticket_id),
        contact: command.contact.clone().or_else(|| parent.contact.clone()),
        sales_channel: command
            .sales_channel
            .clone()
            .or_else(|| parent.sales_channel.clone()),
    };
    check_required_fields(&opened, &ctx.policy)?;
    let link = FollowUpOpened {
        follow_up_id: command.ticket_id,
        follow_up_number: command.number,
        opened_by: author(&ctx.actor),
    };
    Ok(FollowUpDecision {
        new_ticket: vec![Event::TicketOpened(opened)],
        parent: vec![Event::FollowUpOpened(link)],
    })
}

/// Whether `actor` may see the ticket: its org is in the actor's scope, and
/// for `support`, it has been escalated. Whether the role may read tickets
/// at all (analysts may not) is asked before, by the caller.
pub fn can_see(ticket: &Ticket, actor: &Actor) -> bool {
    ticket
        .opened
        .as_ref()
        .is_some_and(|ticket| ticket.is_visible_to(actor))
}

/// The org a new ticket is opened in: the token's org, or for a platform
/// token (`"*"`) the body's `org`, which it must then give. The caller uses
/// it to load the policy in force before calling `decide`.
pub fn org_for_open(actor: &Actor, requested: Option<&OrgId>) -> Result<OrgId, DomainError> {
    match (&actor.org, requested) {
        (OrgScope::Platform, Some(requested)) => Ok(requested.clone()),
        (OrgScope::Platform, None) => Err(DomainError::MissingField { field: "org" }),
        (OrgScope::Org(own), None) => Ok(own.clone()),
        (OrgScope::Org(own), Some(requested)) if requested == own => Ok(own.clone()),
        (OrgScope::Org(own), Some(requested)) => Err(DomainError::ForbiddenOrg {
            allowed: own.clone(),
            requested: requested.clone(),
        }),
    }
}

impl Ticket {
    /// Whether a `ticket_opened` has been applied.
    pub fn exists(&self) -> bool {
        self.opened.is_some()
    }
}

impl OpenedTicket {
    fn from_event(opened: &TicketOpened) -> OpenedTicket {
        OpenedTicket {
            ticket_id: opened.ticket_id,
            number: opened.number,
            org: opened.org.clone(),
            status: Status::Open,
            escalated: false,
            refunded_minor: 0,
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
            follow_ups: Vec::new(),
            contact: opened.contact.clone(),
            sales_channel: opened.sales_channel.clone(),
            attachments: Vec::new(),
        }
    }

    fn is_visible_to(&self, actor: &Actor) -> bool {
        access::can_see(actor, &self.org, self.escalated)
    }

    fn refuse_if_closed(&self) -> Result<(), DomainError> {
        match self.status {
            Status::Closed => Err(DomainError::TicketClosed),
            Status::Open | Status::Waiting => Ok(()),
        }
    }
}

impl ReasonInput {
    fn to_reason(&self) -> Reason {
        Reason {
            category: self.category.as_str().to_owned(),
            detail: self
                .detail
                .as_ref()
                .map(|detail| detail.as_str().to_owned()),
        }
    }
}

impl OrderInput {
    fn to_order(&self) -> Order {
        Order {
            number: self.number.as_str().to_owned(),
            amount: self.amount,
        }
    }
}

fn decide_open(
    state: &Ticket,
    open: &OpenTicket,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    Action::OpenTicket.permit(ctx.actor.role)?;
    let org = org_for_open(&ctx.actor, open.org.as_ref())?;
    if state.version != 0 {
        return Err(DomainError::TicketExists {
            ticket_id: open.ticket_id,
        });
    }
    check_incident_date(open.incident_date, ctx)?;
    let opened = TicketOpened {
        ticket_id: open.ticket_id,
        number: open.number,
        org,
        subject: open.subject.as_str().to_owned(),
        description: open.description.as_str().to_owned(),
        reason: open.reason.to_reason(),
        order: open.order.as_ref().map(OrderInput::to_order),
        customer_code: open
            .customer_code
            .as_ref()
            .map(|code| code.as_str().to_owned()),
        incident_date: open.incident_date,
        impact: open.impact.unwrap_or_default(),
        channel: open.channel.unwrap_or_default(),
        opened_by: author(&ctx.actor),
        follow_up_of: None,
        contact: open.contact.clone(),
        sales_channel: open.sales_channel.clone(),
    };
    check_required_fields(&opened, &ctx.policy)?;
    Ok(vec![Event::TicketOpened(opened)])
}

fn decide_comment(
    state: &Ticket,
    comment: &AddComment,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    comment_action(comment.visibility).permit(ctx.actor.role)?;
    if let CommentText::FromModule(_) = comment.body {
        Action::UseTextModule.permit(ctx.actor.role)?;
    }
    let ticket = visible(state, &ctx.actor)?;
    ticket.refuse_if_closed()?;
    let (body, text_module) = match &comment.body {
        CommentText::Written(body) => (body.as_str().to_owned(), None),
        CommentText::FromModule(name) => {
            let (filled, version) =
                text_module::fill_comment(&ctx.text_modules, name, ticket, &ctx.actor)?;
            // A filled module is a comment body like any other: its limits hold.
            let body = CommentBody::parse(&filled)?;
            let used = TextModuleUse {
                name: name.as_str().to_owned(),
                version,
            };
            (body.into_string(), Some(used))
        }
    };
    Ok(vec![Event::CommentAdded(CommentAdded {
        comment_id: comment.comment_id,
        author: author(&ctx.actor),
        body,
        visibility: comment.visibility,
        text_module,
    })])
}

fn decide_escalate(
    state: &Ticket,
    escalate: &Escalate,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    Action::Escalate.permit(ctx.actor.role)?;
    let ticket = visible(state, &ctx.actor)?;
    ticket.refuse_if_closed()?;
    if ticket.escalated {
        return Err(DomainError::AlreadyEscalated);
    }
    Ok(vec![Event::Escalated(Escalated {
        reason: escalate.reason,
        note: escalate.note.as_ref().map(|note| note.as_str().to_owned()),
        escalated_by: author(&ctx.actor),
    })])
}

fn decide_refund(
    state: &Ticket,
    refund: &IssueRefund,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    Action::Refund.permit(ctx.actor.role)?;
    let ticket = visible(state, &ctx.actor)?;
    ticket.refuse_if_closed()?;
    let order = ticket.order.as_ref().ok_or(DomainError::NoOrder)?;
    if order.amount.currency != refund.currency {
        return Err(DomainError::CurrencyMismatch {
            order: order.amount.currency,
            refund: refund.currency,
        });
    }
    // `apply` saturates, so a corrupt history cannot make this underflow.
    let left_minor = order
        .amount
        .amount_minor
        .saturating_sub(ticket.refunded_minor);
    if refund.amount_minor.get() > left_minor {
        return Err(DomainError::RefundExceedsOrder { left_minor });
    }
    Ok(vec![Event::RefundIssued(RefundIssued {
        refund_id: refund.refund_id,
        amount: Money {
            amount_minor: refund.amount_minor.get(),
            currency: refund.currency,
        },
        reason: refund.reason.as_str().to_owned(),
        issued_by: author(&ctx.actor),
    })])
}

fn decide_close(
    state: &Ticket,
    close: &CloseTicket,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    Action::Close.permit(ctx.actor.role)?;
    visible(state, &ctx.actor)?.refuse_if_closed()?;
    Ok(vec![Event::TicketClosed(TicketClosed {
        resolution: close.resolution,
        note: close.note.as_ref().map(|note| note.as_str().to_owned()),
        closed_by: author(&ctx.actor),
    })])
}

/// Attachments follow the comments' rules: a customer adds public ones
/// only (internal is 403), support only on escalated tickets; nothing is
/// added to a closed ticket; at most `ATTACHMENTS_PER_TICKET_MAX`.
fn decide_attach(
    state: &Ticket,
    attach: &AddAttachment,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    comment_action(attach.visibility).permit(ctx.actor.role)?;
    let ticket = visible(state, &ctx.actor)?;
    ticket.refuse_if_closed()?;
    attachment::check_room(ticket.attachments.len())?;
    if attach.size_bytes == 0 {
        return Err(DomainError::EmptyAttachment);
    }
    debug_assert!(attachment::is_sha256_hex(&attach.sha256));
    Ok(vec![Event::AttachmentAdded(AttachmentAdded {
        attachment_id: attach.attachment_id,
        filename: attach.filename.as_str().to_owned(),
        media_type: attach.media_type,
        size: attach.size_bytes,
        sha256: attach.sha256.clone(),
        visibility: attach.visibility,
        author: author(&ctx.actor),
    })])
}

/// The ticket, if it exists and the actor may see it; one answer for both
/// failures, so that nothing leaks.
fn visible<'a>(state: &'a Ticket, actor: &Actor) -> Result<&'a OpenedTicket, DomainError> {
    state
        .opened
        .as_ref()
        .filter(|ticket| ticket.is_visible_to(actor))
        .ok_or(DomainError::NotFound)
}

/// "Today" is the UTC date of `now`. An incident exactly `intake_window_days`
/// days ago is still accepted; one more day is not.
fn check_incident_date(incident_date: Option<Date>, ctx: &Context) -> Result<(), DomainError> {
    let Some(incident_date) = incident_date else {
        return Ok(());
    };
    let today = ctx.now.to_offset(UtcOffset::UTC).date();
    if incident_date > today {
        return Err(DomainError::IncidentDateInFuture {
            incident_date,
            today,
        });
    }
    let window_days = ctx.policy.intake_window_days;
    // `None` only when the window reaches before `Date::MIN`: nothing is too old.
    let oldest_accepted = today.checked_sub(time::Duration::days(i64::from(window_days)));
    if oldest_accepted.is_some_and(|oldest| incident_date < oldest) {
        return Err(DomainError::IntakeWindowExpired {
            incident_date,
            window_days,
        });
    }
    Ok(())
}

/// The first field the policy requires that the ticket lacks, in the
/// policy's order.
fn check_required_fields(opened: &TicketOpened, policy: &OrgPolicy) -> Result<(), DomainError> {
    let missing = policy.required_fields.iter().find(|field| match field {
        RequiredField::CustomerCode => opened.customer_code.is_none(),
        RequiredField::Order => opened.order.is_none(),
        RequiredField::IncidentDate => opened.incident_date.is_none(),
        RequiredField::ReasonDetail => opened.reason.detail.is_none(),
    });
    match missing {
        Some(field) => Err(DomainError::MissingField {
            field: field.as_str(),
        }),
        None => Ok(()),
    }
}

fn text_or<T: AsRef<str>>(given: &Option<T>, inherited: &str) -> String {
    given.as_ref().map_or(inherited, AsRef::as_ref).to_owned()
}

fn author(actor: &Actor) -> Author {
    Author {
        sub: actor.sub.clone(),
        role: actor.role,
    }
}
