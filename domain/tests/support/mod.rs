//! The vocabulary of the domain tests: actors, events and commands with
//! sensible defaults, and `given(events).when(command).then(events)`.
//!
//! Each test binary uses a part of it.
#![allow(dead_code)]

pub mod sessions;

use std::num::NonZeroU64;

use docket_domain::error::DomainError;
use docket_domain::events::{
    CommentAdded, Escalated, Event, FollowUpOpened, RefundIssued, TicketClosed, TicketOpened,
};
use docket_domain::policy::OrgPolicy;
use docket_domain::text::{
    CommentBody, CustomerCode, Description, Note, OrderNumber, ReasonCategory, ReasonDetail,
    RefundReason, Subject,
};
use docket_domain::ticket::{
    self, AddComment, CloseTicket, Command, CommentText, Context, Escalate, FollowUpDecision,
    IssueRefund, OpenFollowUp, OpenTicket, OpenedTicket, OrderInput, ReasonInput, Ticket,
};
use docket_domain::types::{
    Actor, Author, Channel, Currency, EscalationReason, Impact, Money, Order, OrgId, OrgScope,
    Reason, Resolution, Role, Status, TicketId, TicketNumber, Visibility,
};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

// ---------------------------------------------------------------- the world

pub const NOW: OffsetDateTime = datetime!(2026-11-22 09:30 UTC);
pub const TODAY: Date = date!(2026 - 11 - 22);

pub const TICKET: TicketId = TicketId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001));
pub const FOLLOW_UP: TicketId =
    TicketId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002));
pub const COMMENT: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00c1);
pub const REFUND: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00f1);

pub fn number() -> TicketNumber {
    TicketNumber::from_sequence(1).expect("a small sequence is a number")
}

pub fn follow_up_number() -> TicketNumber {
    TicketNumber::from_sequence(2).expect("a small sequence is a number")
}

pub fn org(name: &str) -> OrgId {
    OrgId::parse(name).expect("test org ids are valid")
}

pub fn acme() -> OrgId {
    org("acme")
}

pub fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR is a currency")
}

pub fn currency(code: &str) -> Currency {
    Currency::parse(code).expect("test currencies are valid")
}

// ------------------------------------------------------------------- actors

pub fn actor(sub: &str, role: Role, scope: OrgScope) -> Actor {
    Actor {
        sub: sub.to_owned(),
        role,
        org: scope,
    }
}

/// A customer of acme.
pub fn customer() -> Actor {
    actor("cust-1", Role::Customer, OrgScope::Org(acme()))
}

/// An agent of acme.
pub fn agent() -> Actor {
    actor("agent-1", Role::Agent, OrgScope::Org(acme()))
}

/// First-level support of the platform (`org: "*"`).
pub fn support() -> Actor {
    actor("support-1", Role::Support, OrgScope::Platform)
}

pub fn auditor() -> Actor {
    actor("auditor-1", Role::Auditor, OrgScope::Platform)
}

pub fn analyst() -> Actor {
    actor("analyst-1", Role::Analyst, OrgScope::Platform)
}

pub fn admin() -> Actor {
    actor("admin-1", Role::Admin, OrgScope::Platform)
}

/// The same actor with a token of another org.
pub fn of_org(mut actor: Actor, name: &str) -> Actor {
    actor.org = OrgScope::Org(org(name));
    actor
}

/// The same actor with a platform-wide token (`org: "*"`).
pub fn platform(mut actor: Actor) -> Actor {
    actor.org = OrgScope::Platform;
    actor
}

pub fn author(actor: &Actor) -> Author {
    Author {
        sub: actor.sub.clone(),
        role: actor.role,
    }
}

// ------------------------------------------------------------------- events

pub const SUBJECT: &str = "Parcel never arrived";
pub const DESCRIPTION: &str = "Ordered on the 2nd, tracking stopped on the 5th.";
pub const CATEGORY: &str = "delivery";
pub const COMMENT_BODY: &str = "Thanks, we are looking into it.";

/// The `ticket_opened` that `open()` decides, by a customer of acme.
pub fn opened_event() -> TicketOpened {
    TicketOpened {
        ticket_id: TICKET,
        number: number(),
        org: acme(),
        subject: SUBJECT.to_owned(),
        description: DESCRIPTION.to_owned(),
        reason: Reason {
            category: CATEGORY.to_owned(),
            detail: None,
        },
        order: None,
        customer_code: None,
        incident_date: None,
        impact: Impact::Medium,
        channel: Channel::Portal,
        opened_by: author(&customer()),
        follow_up_of: None,
        contact: None,
        sales_channel: None,
    }
}

pub fn opened() -> Event {
    Event::TicketOpened(opened_event())
}

pub fn opened_with(change: impl FnOnce(&mut TicketOpened)) -> Event {
    let mut event = opened_event();
    change(&mut event);
    Event::TicketOpened(event)
}

pub fn an_order(amount_minor: u64, code: &str) -> Order {
    Order {
        number: "A-1001".to_owned(),
        amount: Money {
            amount_minor,
            currency: currency(code),
        },
    }
}

pub fn opened_with_order(amount_minor: u64, code: &str) -> Event {
    opened_with(|e| e.order = Some(an_order(amount_minor, code)))
}

pub fn commented(by: &Actor, visibility: Visibility) -> Event {
    Event::CommentAdded(CommentAdded {
        comment_id: COMMENT,
        author: author(by),
        body: COMMENT_BODY.to_owned(),
        visibility,
        text_module: None,
    })
}

/// A public answer by the org's agent.
pub fn answered() -> Event {
    commented(&agent(), Visibility::Public)
}

/// A public comment by the customer.
pub fn customer_replied() -> Event {
    commented(&customer(), Visibility::Public)
}

pub fn escalated_event(by: &Actor) -> Event {
    Event::Escalated(Escalated {
        reason: EscalationReason::PaymentProvider,
        note: None,
        escalated_by: author(by),
    })
}

pub fn escalated() -> Event {
    escalated_event(&agent())
}

pub fn refunded_by(by: &Actor, amount_minor: u64, code: &str) -> Event {
    Event::RefundIssued(RefundIssued {
        refund_id: REFUND,
        amount: Money {
            amount_minor,
            currency: currency(code),
        },
        reason: "Parcel lost".to_owned(),
        issued_by: author(by),
    })
}

pub fn refunded(amount_minor: u64) -> Event {
    refunded_by(&agent(), amount_minor, "EUR")
}

pub fn closed_by(by: &Actor) -> Event {
    Event::TicketClosed(TicketClosed {
        resolution: Resolution::Resolved,
        note: None,
        closed_by: author(by),
    })
}

pub fn closed() -> Event {
    closed_by(&agent())
}

pub fn follow_up_linked(by: &Actor) -> Event {
    Event::FollowUpOpened(FollowUpOpened {
        follow_up_id: FOLLOW_UP,
        follow_up_number: follow_up_number(),
        opened_by: author(by),
    })
}

// ----------------------------------------------------------------- commands

/// A command and who sends it.
#[derive(Debug, Clone)]
pub struct Step {
    pub command: Cmd,
    pub actor: Actor,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    Ticket(Command),
    FollowUp(OpenFollowUp),
}

impl Step {
    pub fn by(mut self, actor: Actor) -> Step {
        self.actor = actor;
        self
    }
}

fn step(command: Command, actor: Actor) -> Step {
    Step {
        command: Cmd::Ticket(command),
        actor,
    }
}

pub fn open_command() -> OpenTicket {
    OpenTicket {
        ticket_id: TICKET,
        number: number(),
        org: None,
        subject: Subject::parse(SUBJECT).expect("valid"),
        description: Description::parse(DESCRIPTION).expect("valid"),
        reason: ReasonInput {
            category: ReasonCategory::parse(CATEGORY).expect("valid"),
            detail: None,
        },
        order: None,
        customer_code: None,
        incident_date: None,
        impact: None,
        channel: None,
        contact: None,
        sales_channel: None,
    }
}

/// Opens `TICKET` as a customer of acme with only the required body fields.
pub fn open() -> Step {
    step(Command::Open(open_command()), customer())
}

pub fn open_with(change: impl FnOnce(&mut OpenTicket)) -> Step {
    let mut command = open_command();
    change(&mut command);
    step(Command::Open(command), customer())
}

pub fn order_input(amount_minor: u64, code: &str) -> OrderInput {
    OrderInput {
        number: OrderNumber::parse("A-1001").expect("valid"),
        amount: Money {
            amount_minor,
            currency: currency(code),
        },
    }
}

pub fn customer_code(text: &str) -> CustomerCode {
    CustomerCode::parse(text).expect("valid")
}

pub fn reason_detail(text: &str) -> ReasonDetail {
    ReasonDetail::parse(text).expect("valid")
}

pub fn note(text: &str) -> Note {
    Note::parse(text).expect("valid")
}

fn comment_command(visibility: Visibility) -> Command {
    Command::Comment(AddComment {
        comment_id: COMMENT,
        body: CommentText::Written(CommentBody::parse(COMMENT_BODY).expect("valid")),
        visibility,
    })
}

/// A public comment, by acme's agent unless said otherwise.
pub fn comment() -> Step {
    step(comment_command(Visibility::Public), agent())
}

/// An internal comment, by acme's agent unless said otherwise.
pub fn internal_comment() -> Step {
    step(comment_command(Visibility::Internal), agent())
}

pub fn escalate() -> Step {
    step(
        Command::Escalate(Escalate {
            reason: EscalationReason::PaymentProvider,
            note: None,
        }),
        agent(),
    )
}

pub fn escalate_noting(text: &str) -> Step {
    step(
        Command::Escalate(Escalate {
            reason: EscalationReason::PaymentProvider,
            note: Some(note(text)),
        }),
        agent(),
    )
}

pub fn refund(amount_minor: u64, code: &str) -> Step {
    step(
        Command::Refund(IssueRefund {
            refund_id: REFUND,
            amount_minor: NonZeroU64::new(amount_minor).expect("refunds in tests are positive"),
            currency: currency(code),
            reason: RefundReason::parse("Parcel lost").expect("valid"),
        }),
        agent(),
    )
}

pub fn close() -> Step {
    step(
        Command::Close(CloseTicket {
            resolution: Resolution::Resolved,
            note: None,
        }),
        agent(),
    )
}

pub fn follow_up_command() -> OpenFollowUp {
    OpenFollowUp {
        ticket_id: FOLLOW_UP,
        number: follow_up_number(),
        org: None,
        subject: None,
        description: None,
        reason: None,
        order: None,
        customer_code: None,
        incident_date: None,
        impact: None,
        channel: None,
        contact: None,
        sales_channel: None,
    }
}

/// A follow-up of `TICKET` with no field given, by acme's customer.
pub fn follow_up() -> Step {
    Step {
        command: Cmd::FollowUp(follow_up_command()),
        actor: customer(),
    }
}

pub fn follow_up_with(change: impl FnOnce(&mut OpenFollowUp)) -> Step {
    let mut command = follow_up_command();
    change(&mut command);
    Step {
        command: Cmd::FollowUp(command),
        actor: customer(),
    }
}

// ---------------------------------------------------- given / when / then

pub struct Given {
    state: Ticket,
    now: OffsetDateTime,
    policy: OrgPolicy,
    text_modules: docket_domain::text_module::TextModules,
}

pub fn given(events: impl IntoIterator<Item = Event>) -> Given {
    let events: Vec<Event> = events.into_iter().collect();
    Given {
        state: ticket::fold(&events),
        now: NOW,
        policy: OrgPolicy::default(),
        text_modules: Default::default(),
    }
}

/// No events yet: the stream of a ticket about to be opened.
pub fn nothing() -> Given {
    given([])
}

impl Given {
    pub fn with_policy(mut self, policy: OrgPolicy) -> Given {
        self.policy = policy;
        self
    }

    /// The org's text modules, as the caller loads them for a comment.
    pub fn with_text_modules(mut self, modules: docket_domain::text_module::TextModules) -> Given {
        self.text_modules = modules;
        self
    }

    pub fn at(mut self, now: OffsetDateTime) -> Given {
        self.now = now;
        self
    }

    pub fn state(&self) -> &Ticket {
        &self.state
    }

    pub fn when(self, step: Step) -> When {
        let ctx = Context {
            now: self.now,
            actor: step.actor,
            policy: self.policy,
            text_modules: self.text_modules,
        };
        let outcome = match &step.command {
            Cmd::Ticket(command) => ticket::decide(&self.state, command, &ctx).map(Outcome::Events),
            Cmd::FollowUp(command) => {
                ticket::decide_follow_up(&self.state, command, &ctx).map(Outcome::FollowUp)
            }
        };
        When {
            state: self.state,
            outcome,
        }
    }
}

#[derive(Debug)]
pub enum Outcome {
    Events(Vec<Event>),
    FollowUp(FollowUpDecision),
}

pub struct When {
    state: Ticket,
    outcome: Result<Outcome, DomainError>,
}

impl When {
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = Event>) -> Then {
        let expected: Vec<Event> = expected.into_iter().collect();
        match self.outcome {
            Ok(Outcome::Events(events)) => {
                assert_eq!(events, expected);
                Then::after(self.state, &events)
            }
            other => panic!("expected events {expected:#?}, got {other:#?}"),
        }
    }

    /// A follow-up: the new ticket's events, then the parent's.
    #[track_caller]
    pub fn then_follow_up(
        self,
        new_ticket: impl IntoIterator<Item = Event>,
        parent: impl IntoIterator<Item = Event>,
    ) -> Then {
        let expected = FollowUpDecision {
            new_ticket: new_ticket.into_iter().collect(),
            parent: parent.into_iter().collect(),
        };
        match self.outcome {
            Ok(Outcome::FollowUp(decision)) => {
                assert_eq!(decision, expected);
                Then::after(self.state, &decision.parent)
            }
            other => panic!("expected the follow-up {expected:#?}, got {other:#?}"),
        }
    }

    /// The refusal, if the command was refused.
    pub fn error(self) -> Option<DomainError> {
        self.outcome.err()
    }

    #[track_caller]
    pub fn then_err(self, expected: DomainError) {
        match self.outcome {
            Err(error) => assert_eq!(error, expected),
            Ok(outcome) => panic!("expected {expected:?}, got {outcome:#?}"),
        }
    }

    #[track_caller]
    pub fn then_ok(self) -> Then {
        match self.outcome {
            Ok(Outcome::Events(events)) => Then::after(self.state, &events),
            Ok(Outcome::FollowUp(decision)) => Then::after(self.state, &decision.parent),
            Err(error) => panic!("expected success, got {error:?}"),
        }
    }
}

/// The ticket after the decided events are applied.
pub struct Then {
    pub state: Ticket,
}

impl Then {
    fn after(state: Ticket, events: &[Event]) -> Then {
        Then {
            state: events.iter().fold(state, ticket::apply),
        }
    }

    #[track_caller]
    pub fn and_status(self, expected: Status) -> Then {
        assert_eq!(self.ticket().status, expected);
        self
    }

    #[track_caller]
    pub fn and(self, check: impl FnOnce(&OpenedTicket)) -> Then {
        check(self.ticket());
        self
    }

    #[track_caller]
    fn ticket(&self) -> &OpenedTicket {
        self.state.opened.as_ref().expect("the ticket exists")
    }
}
