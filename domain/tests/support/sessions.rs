//! Random ticket sessions: a ticket usually opened first, then random
//! commands by random actors (every role, three token scopes), and the
//! decider's answer to each. The domain's property tests check every
//! invariant over them; the projections' tests check that the ticket view
//! and the SLA clocks agree with the decider's status over the same
//! histories.

use std::num::NonZeroU64;

use docket_domain::access::Action;
use docket_domain::error::DomainError;
use docket_domain::events::{Event, TicketOpened};
use docket_domain::policy::OrgPolicy;
use docket_domain::text::{CommentBody, RefundReason};
use docket_domain::ticket::{
    self, AddComment, CloseTicket, Command, CommentText, Context, Escalate, IssueRefund,
    OpenTicket, Ticket,
};
use docket_domain::types::{
    Actor, Currency, EscalationReason, Money, OrgId, OrgScope, Resolution, Role, Status, Visibility,
};
use proptest::prelude::*;

use super::*;

pub fn any_role() -> impl Strategy<Value = Role> {
    prop_oneof![
        3 => Just(Role::Customer),
        3 => Just(Role::Agent),
        2 => Just(Role::Support),
        1 => Just(Role::Auditor),
        1 => Just(Role::Analyst),
        1 => Just(Role::Admin),
    ]
}

pub fn any_scope() -> impl Strategy<Value = OrgScope> {
    prop_oneof![
        4 => Just(OrgScope::Org(acme())),
        1 => Just(OrgScope::Org(org("globex"))),
        2 => Just(OrgScope::Platform),
    ]
}

pub fn any_actor() -> impl Strategy<Value = Actor> {
    (any_role(), any_scope(), 0..3u8)
        .prop_map(|(role, scope, n)| actor(&format!("{}-{n}", role.as_str()), role, scope))
}

pub fn any_currency() -> impl Strategy<Value = Currency> {
    prop_oneof![4 => Just(eur()), 1 => Just(currency("USD"))]
}

/// Small amounts often, so that refunds meet the order's limit exactly.
pub fn any_amount() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0..=12u64, 1 => 0..=10_000u64]
}

/// Who may see the ticket, from its history alone (independently of
/// `apply` and `can_see`): an actor whose scope covers the ticket's org;
/// support only once it was escalated.
pub fn sees(history: &[Event], actor: &Actor) -> bool {
    let Some(Event::TicketOpened(opened)) = history.first() else {
        return false;
    };
    let escalated = history.iter().any(|e| matches!(e, Event::Escalated(_)));
    actor.org.covers(&opened.org) && (actor.role != Role::Support || escalated)
}

/// A command, in a form that does not depend on the state it meets.
#[derive(Debug, Clone)]
pub enum Op {
    Open {
        org: Option<OrgId>,
        order: Option<Money>,
    },
    Comment(Visibility),
    Escalate,
    Refund {
        amount_minor: NonZeroU64,
        currency: Currency,
    },
    Close,
    FollowUp,
}

pub fn any_op() -> impl Strategy<Value = Op> {
    let money = (any_amount(), any_currency()).prop_map(|(amount_minor, currency)| Money {
        amount_minor,
        currency,
    });
    prop_oneof![
        1 => (proptest::option::of(prop_oneof![Just(acme()), Just(org("globex"))]), proptest::option::of(money))
            .prop_map(|(org, order)| Op::Open { org, order }),
        5 => prop_oneof![Just(Visibility::Public), Just(Visibility::Internal)].prop_map(Op::Comment),
        2 => Just(Op::Escalate),
        4 => (any_amount(), any_currency()).prop_map(|(amount, currency)| Op::Refund {
            amount_minor: NonZeroU64::new(amount.max(1)).expect("at least 1"),
            currency,
        }),
        1 => Just(Op::Close),
        1 => Just(Op::FollowUp),
    ]
}

/// A ticket usually opened first (by acme's customer, maybe with an
/// order), then random commands by random actors.
pub fn any_session() -> impl Strategy<Value = Vec<(Actor, Op)>> {
    let first =
        (any_amount(), any::<bool>(), any::<bool>()).prop_map(|(amount, with_order, skip)| {
            let order = with_order.then_some(Money {
                amount_minor: amount,
                currency: eur(),
            });
            let op = if skip {
                Op::Escalate
            } else {
                Op::Open { org: None, order }
            };
            (customer(), op)
        });
    (
        first,
        proptest::collection::vec((any_actor(), any_op()), 0..40),
    )
        .prop_map(|(first, mut rest)| {
            rest.insert(0, first);
            rest
        })
}

pub fn command(op: &Op) -> Option<Command> {
    Some(match op {
        Op::Open { org, order } => Command::Open(OpenTicket {
            org: org.clone(),
            order: order.map(|amount| docket_domain::ticket::OrderInput {
                number: docket_domain::text::OrderNumber::parse("A-1").expect("valid"),
                amount,
            }),
            ..open_command()
        }),
        Op::Comment(visibility) => Command::Comment(AddComment {
            comment_id: COMMENT,
            body: CommentText::Written(CommentBody::parse("hello").expect("valid")),
            visibility: *visibility,
        }),
        Op::Escalate => Command::Escalate(Escalate {
            reason: EscalationReason::Other,
            note: None,
        }),
        Op::Refund {
            amount_minor,
            currency,
        } => Command::Refund(IssueRefund {
            refund_id: REFUND,
            amount_minor: *amount_minor,
            currency: *currency,
            reason: RefundReason::parse("goodwill").expect("valid"),
        }),
        Op::Close => Command::Close(CloseTicket {
            resolution: Resolution::Resolved,
            note: None,
        }),
        Op::FollowUp => return None,
    })
}

pub fn action(op: &Op) -> Action {
    match op {
        Op::Open { .. } => Action::OpenTicket,
        Op::Comment(Visibility::Public) => Action::Comment,
        Op::Comment(Visibility::Internal) => Action::CommentInternally,
        Op::Escalate => Action::Escalate,
        Op::Refund { .. } => Action::Refund,
        Op::Close => Action::Close,
        Op::FollowUp => Action::OpenFollowUp,
    }
}

/// The status rules of the contract, stated on commands rather than events,
/// independently of `apply`.
pub fn status_after(before: Option<Status>, op: &Op, actor: &Actor) -> Option<Status> {
    match op {
        Op::Open { .. } => Some(Status::Open),
        Op::Comment(Visibility::Public) => Some(match actor.role {
            Role::Agent | Role::Support => Status::Waiting,
            _ => Status::Open,
        }),
        Op::Comment(Visibility::Internal) | Op::Refund { .. } | Op::FollowUp => before,
        Op::Escalate => Some(Status::Waiting),
        Op::Close => Some(Status::Closed),
    }
}

/// Runs one step: the events it appends to this stream, or its refusal.
pub fn run(state: &Ticket, actor: &Actor, op: &Op) -> Result<Vec<Event>, DomainError> {
    let ctx = Context {
        now: NOW,
        actor: actor.clone(),
        policy: OrgPolicy::default(),
        text_modules: Default::default(),
    };
    match command(op) {
        Some(command) => ticket::decide(state, &command, &ctx),
        None => {
            let decision = ticket::decide_follow_up(state, &follow_up_command(), &ctx)?;
            let parent_id = state.opened.as_ref().map(|t| t.ticket_id);
            assert!(matches!(
                decision.new_ticket.as_slice(),
                [Event::TicketOpened(TicketOpened { follow_up_of, .. })] if *follow_up_of == parent_id
            ));
            Ok(decision.parent)
        }
    }
}
