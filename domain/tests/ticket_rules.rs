//! Every rule and error of the ticket decider, one sentence each.

mod support;

use docket_domain::access::Action;
use docket_domain::error::DomainError;
use docket_domain::events::{Event, TicketOpened};
use docket_domain::policy::{OrgPolicy, RequiredField};
use docket_domain::text::{Description, ReasonCategory, Subject};
use docket_domain::ticket::{self, ReasonInput};
use docket_domain::types::{Channel, Currency, Impact, Reason, Role, Status, Visibility};
use support::*;
use time::macros::{date, datetime};
use time::Duration;

fn forbidden(role: Role, action: Action) -> DomainError {
    DomainError::Forbidden { role, action }
}

fn requiring(fields: &[RequiredField]) -> OrgPolicy {
    OrgPolicy {
        required_fields: fields.to_vec(),
        ..OrgPolicy::default()
    }
}

fn opened_by(actor: &docket_domain::types::Actor, change: impl FnOnce(&mut TicketOpened)) -> Event {
    opened_with(|e| {
        e.opened_by = author(actor);
        change(e);
    })
}

// ===================================================================== open

#[test]
fn a_customer_opens_a_ticket_in_its_org_and_it_is_open() {
    nothing()
        .when(open())
        .then([opened()])
        .and_status(Status::Open)
        .and(|t| assert!(!t.escalated && t.refunded_minor == 0));
}

#[test]
fn impact_defaults_to_medium_and_channel_to_portal() {
    nothing().when(open()).then([opened_with(|e| {
        assert_eq!((e.impact, e.channel), (Impact::Medium, Channel::Portal));
    })]);
}

#[test]
fn every_field_given_is_recorded() {
    nothing()
        .when(open_with(|o| {
            o.reason.detail = Some(reason_detail("Tracking says delivered"));
            o.order = Some(order_input(5_000, "EUR"));
            o.customer_code = Some(customer_code("C-77"));
            o.incident_date = Some(date!(2026 - 11 - 20));
            o.impact = Some(Impact::Critical);
            o.channel = Some(Channel::Phone);
        }))
        .then([opened_with(|e| {
            e.reason.detail = Some("Tracking says delivered".to_owned());
            e.order = Some(an_order(5_000, "EUR"));
            e.customer_code = Some("C-77".to_owned());
            e.incident_date = Some(date!(2026 - 11 - 20));
            e.impact = Impact::Critical;
            e.channel = Channel::Phone;
        })]);
}

#[test]
fn an_agent_opens_a_ticket_on_a_customers_behalf() {
    nothing()
        .when(open().by(agent()))
        .then([opened_by(&agent(), |_| {})]);
}

#[test]
fn support_auditors_analysts_and_admins_may_not_open_tickets() {
    for actor in [
        support(),
        auditor(),
        analyst(),
        admin(),
        of_org(support(), "acme"),
    ] {
        let role = actor.role;
        nothing()
            .when(open().by(actor))
            .then_err(forbidden(role, Action::OpenTicket));
    }
}

#[test]
fn the_role_is_checked_before_the_org() {
    nothing()
        .when(open().by(auditor()))
        .then_err(forbidden(Role::Auditor, Action::OpenTicket));
}

#[test]
fn a_platform_customer_must_name_the_org() {
    nothing()
        .when(open().by(platform(customer())))
        .then_err(DomainError::MissingField { field: "org" });
}

#[test]
fn a_platform_agent_opens_in_the_org_it_names() {
    nothing()
        .when(open_with(|o| o.org = Some(org("globex"))).by(platform(agent())))
        .then([opened_by(&agent(), |e| e.org = org("globex"))]);
}

#[test]
fn an_org_token_naming_another_org_is_refused() {
    nothing()
        .when(open_with(|o| o.org = Some(org("globex"))))
        .then_err(DomainError::ForbiddenOrg {
            allowed: acme(),
            requested: org("globex"),
        });
}

#[test]
fn an_org_token_naming_its_own_org_is_accepted() {
    nothing()
        .when(open_with(|o| o.org = Some(acme())))
        .then([opened()]);
}

#[test]
fn opening_a_ticket_id_that_exists_is_refused() {
    given([opened()])
        .when(open())
        .then_err(DomainError::TicketExists { ticket_id: TICKET });
}

#[test]
fn an_incident_after_today_is_refused() {
    nothing()
        .when(open_with(|o| o.incident_date = Some(date!(2026 - 11 - 23))))
        .then_err(DomainError::IncidentDateInFuture {
            incident_date: date!(2026 - 11 - 23),
            today: TODAY,
        });
}

#[test]
fn an_incident_today_is_accepted() {
    nothing()
        .when(open_with(|o| o.incident_date = Some(TODAY)))
        .then_ok();
}

#[test]
fn today_is_the_utc_date_of_now() {
    // 23:30 at UTC-02:00 is already the 23rd in UTC.
    nothing()
        .at(datetime!(2026-11-22 23:30 -2))
        .when(open_with(|o| o.incident_date = Some(date!(2026 - 11 - 23))))
        .then_ok();
    // 00:30 at UTC+02:00 is still the 21st in UTC.
    nothing()
        .at(datetime!(2026-11-22 00:30 +2))
        .when(open_with(|o| o.incident_date = Some(date!(2026 - 11 - 22))))
        .then_err(DomainError::IncidentDateInFuture {
            incident_date: date!(2026 - 11 - 22),
            today: date!(2026 - 11 - 21),
        });
}

#[test]
fn an_incident_exactly_the_intake_window_ago_is_accepted() {
    nothing()
        .when(open_with(|o| {
            o.incident_date = Some(TODAY - Duration::days(14))
        }))
        .then_ok();
}

#[test]
fn an_incident_one_day_beyond_the_intake_window_is_refused() {
    let incident_date = TODAY - Duration::days(15);
    nothing()
        .when(open_with(|o| o.incident_date = Some(incident_date)))
        .then_err(DomainError::IntakeWindowExpired {
            incident_date,
            window_days: 14,
        });
}

#[test]
fn the_intake_window_is_the_org_policys() {
    let policy = OrgPolicy {
        intake_window_days: 30,
        ..OrgPolicy::default()
    };
    nothing()
        .with_policy(policy.clone())
        .when(open_with(|o| {
            o.incident_date = Some(TODAY - Duration::days(30))
        }))
        .then_ok();
    nothing()
        .with_policy(policy)
        .when(open_with(|o| {
            o.incident_date = Some(TODAY - Duration::days(31))
        }))
        .then_err(DomainError::IntakeWindowExpired {
            incident_date: TODAY - Duration::days(31),
            window_days: 30,
        });
}

#[test]
fn each_field_the_policy_requires_must_be_given() {
    let cases = [
        (RequiredField::CustomerCode, "customer_code"),
        (RequiredField::Order, "order"),
        (RequiredField::IncidentDate, "incident_date"),
        (RequiredField::ReasonDetail, "reason_detail"),
    ];
    for (required, field) in cases {
        nothing()
            .with_policy(requiring(&[required]))
            .when(open())
            .then_err(DomainError::MissingField { field });
    }
}

#[test]
fn the_first_missing_field_in_the_policys_order_is_named() {
    let policy = requiring(&[
        RequiredField::CustomerCode,
        RequiredField::Order,
        RequiredField::IncidentDate,
    ]);
    nothing()
        .with_policy(policy.clone())
        .when(open())
        .then_err(DomainError::MissingField {
            field: "customer_code",
        });
    nothing()
        .with_policy(policy)
        .when(open_with(|o| o.customer_code = Some(customer_code("C-77"))))
        .then_err(DomainError::MissingField { field: "order" });
}

#[test]
fn a_ticket_with_every_required_field_is_opened() {
    nothing()
        .with_policy(requiring(&[
            RequiredField::CustomerCode,
            RequiredField::Order,
            RequiredField::IncidentDate,
            RequiredField::ReasonDetail,
        ]))
        .when(open_with(|o| {
            o.customer_code = Some(customer_code("C-77"));
            o.order = Some(order_input(5_000, "EUR"));
            o.incident_date = Some(TODAY);
            o.reason.detail = Some(reason_detail("Lost"));
        }))
        .then_ok()
        .and_status(Status::Open);
}

#[test]
fn the_incident_date_is_checked_before_required_fields() {
    nothing()
        .with_policy(requiring(&[RequiredField::Order]))
        .when(open_with(|o| {
            o.incident_date = Some(TODAY + Duration::days(1))
        }))
        .then_err(DomainError::IncidentDateInFuture {
            incident_date: TODAY + Duration::days(1),
            today: TODAY,
        });
}

// ================================================================== comment

#[test]
fn a_public_answer_by_an_agent_moves_the_ticket_to_waiting() {
    given([opened()])
        .when(comment())
        .then([answered()])
        .and_status(Status::Waiting);
}

#[test]
fn a_public_answer_by_support_moves_the_ticket_to_waiting() {
    given([opened(), escalated(), customer_replied()])
        .when(comment().by(support()))
        .then([commented(&support(), Visibility::Public)])
        .and_status(Status::Waiting);
}

#[test]
fn a_public_comment_by_the_customer_moves_a_waiting_ticket_to_open() {
    given([opened(), answered()])
        .when(comment().by(customer()))
        .then([customer_replied()])
        .and_status(Status::Open);
}

#[test]
fn a_public_comment_by_the_customer_keeps_an_open_ticket_open() {
    given([opened()])
        .when(comment().by(customer()))
        .then([customer_replied()])
        .and_status(Status::Open);
}

#[test]
fn a_public_comment_by_the_customer_reopens_an_escalated_ticket_which_stays_escalated() {
    given([opened(), escalated()])
        .when(comment().by(customer()))
        .then([customer_replied()])
        .and_status(Status::Open)
        .and(|t| assert!(t.escalated));
}

#[test]
fn an_internal_comment_changes_no_status() {
    given([opened()])
        .when(internal_comment())
        .then([commented(&agent(), Visibility::Internal)])
        .and_status(Status::Open);
    given([opened(), answered()])
        .when(internal_comment())
        .then([commented(&agent(), Visibility::Internal)])
        .and_status(Status::Waiting);
}

#[test]
fn support_may_comment_internally_on_an_escalated_ticket() {
    given([opened(), escalated()])
        .when(internal_comment().by(support()))
        .then([commented(&support(), Visibility::Internal)])
        .and_status(Status::Waiting);
}

#[test]
fn a_customer_may_not_post_an_internal_comment() {
    given([opened()])
        .when(internal_comment().by(customer()))
        .then_err(forbidden(Role::Customer, Action::CommentInternally));
}

#[test]
fn a_customers_internal_comment_is_forbidden_even_on_a_ticket_it_cannot_see() {
    nothing()
        .when(internal_comment().by(customer()))
        .then_err(forbidden(Role::Customer, Action::CommentInternally));
}

#[test]
fn auditors_analysts_and_admins_may_not_comment() {
    for actor in [auditor(), analyst(), admin()] {
        let role = actor.role;
        given([opened()])
            .when(comment().by(actor))
            .then_err(forbidden(role, Action::Comment));
    }
}

#[test]
fn commenting_on_a_ticket_that_does_not_exist_is_not_found() {
    nothing().when(comment()).then_err(DomainError::NotFound);
}

#[test]
fn a_ticket_of_another_org_is_not_found() {
    for actor in [of_org(customer(), "globex"), of_org(agent(), "globex")] {
        given([opened()])
            .when(comment().by(actor))
            .then_err(DomainError::NotFound);
    }
}

#[test]
fn support_does_not_see_a_ticket_that_was_never_escalated() {
    given([opened()])
        .when(comment().by(support()))
        .then_err(DomainError::NotFound);
}

#[test]
fn support_with_an_org_token_sees_only_that_orgs_escalated_tickets() {
    given([opened(), escalated()])
        .when(comment().by(of_org(support(), "acme")))
        .then_ok();
    given([opened(), escalated()])
        .when(comment().by(of_org(support(), "globex")))
        .then_err(DomainError::NotFound);
}

#[test]
fn commenting_on_a_closed_ticket_is_refused() {
    given([opened(), closed()])
        .when(comment())
        .then_err(DomainError::TicketClosed);
    given([opened(), closed()])
        .when(comment().by(customer()))
        .then_err(DomainError::TicketClosed);
}

// ================================================================= escalate

#[test]
fn an_agent_escalates_and_the_ticket_waits_for_support() {
    given([opened()])
        .when(escalate())
        .then([escalated()])
        .and_status(Status::Waiting)
        .and(|t| assert!(t.escalated));
}

#[test]
fn an_escalation_stays_recorded_after_any_comment() {
    given([opened(), escalated(), customer_replied()])
        .when(comment().by(support()))
        .then_ok()
        .and(|t| assert!(t.escalated));
}

#[test]
fn only_agents_may_escalate() {
    for actor in [customer(), support(), auditor(), analyst(), admin()] {
        let role = actor.role;
        given([opened()])
            .when(escalate().by(actor))
            .then_err(forbidden(role, Action::Escalate));
    }
}

#[test]
fn an_escalated_ticket_cannot_be_escalated_again() {
    given([opened(), escalated()])
        .when(escalate())
        .then_err(DomainError::AlreadyEscalated);
    given([opened(), escalated(), customer_replied()])
        .when(escalate())
        .then_err(DomainError::AlreadyEscalated);
}

#[test]
fn escalating_a_closed_ticket_is_refused_as_closed_even_if_escalated() {
    given([opened(), closed()])
        .when(escalate())
        .then_err(DomainError::TicketClosed);
    given([opened(), escalated(), closed()])
        .when(escalate())
        .then_err(DomainError::TicketClosed);
}

#[test]
fn escalating_a_ticket_of_another_org_is_not_found() {
    given([opened()])
        .when(escalate().by(of_org(agent(), "globex")))
        .then_err(DomainError::NotFound);
    nothing().when(escalate()).then_err(DomainError::NotFound);
}

#[test]
fn the_escalation_note_is_recorded() {
    given([opened()])
        .when(escalate_noting("Payment stuck at the provider"))
        .then([Event::Escalated(docket_domain::events::Escalated {
            reason: docket_domain::types::EscalationReason::PaymentProvider,
            note: Some("Payment stuck at the provider".to_owned()),
            escalated_by: author(&agent()),
        })]);
}

// =================================================================== refund

#[test]
fn an_agent_refunds_part_of_the_order() {
    given([opened_with_order(5_000, "EUR")])
        .when(refund(1_250, "EUR"))
        .then([refunded(1_250)])
        .and_status(Status::Open)
        .and(|t| assert_eq!(t.refunded_minor, 1_250));
}

#[test]
fn refunds_add_up() {
    given([
        opened_with_order(5_000, "EUR"),
        refunded(1_000),
        refunded(2_000),
    ])
    .when(refund(500, "EUR"))
    .then([refunded(500)])
    .and(|t| assert_eq!(t.refunded_minor, 3_500));
}

#[test]
fn support_refunds_on_an_escalated_ticket() {
    given([opened_with_order(5_000, "EUR"), escalated()])
        .when(refund(1_000, "EUR").by(support()))
        .then([refunded_by(&support(), 1_000, "EUR")])
        .and_status(Status::Waiting);
}

#[test]
fn a_refund_of_exactly_what_is_left_is_accepted() {
    given([opened_with_order(5_000, "EUR"), refunded(4_000)])
        .when(refund(1_000, "EUR"))
        .then([refunded(1_000)])
        .and(|t| assert_eq!(t.refunded_minor, 5_000));
}

#[test]
fn refund_over_the_order_amount_is_refused() {
    given([opened_with_order(5_000, "EUR"), refunded(4_000)])
        .when(refund(1_500, "EUR"))
        .then_err(DomainError::RefundExceedsOrder { left_minor: 1_000 });
}

#[test]
fn nothing_more_can_be_refunded_once_the_order_is_refunded_in_full() {
    given([opened_with_order(5_000, "EUR"), refunded(5_000)])
        .when(refund(1, "EUR"))
        .then_err(DomainError::RefundExceedsOrder { left_minor: 0 });
}

#[test]
fn a_refund_near_the_largest_amount_does_not_overflow() {
    given([opened_with_order(u64::MAX, "EUR"), refunded(u64::MAX - 1)])
        .when(refund(u64::MAX, "EUR"))
        .then_err(DomainError::RefundExceedsOrder { left_minor: 1 });
}

#[test]
fn a_ticket_without_an_order_cannot_be_refunded() {
    given([opened()])
        .when(refund(100, "EUR"))
        .then_err(DomainError::NoOrder);
}

#[test]
fn a_refund_in_another_currency_is_refused() {
    given([opened_with_order(5_000, "EUR")])
        .when(refund(100, "USD"))
        .then_err(DomainError::CurrencyMismatch {
            order: eur(),
            refund: Currency::parse("USD").expect("a currency"),
        });
}

#[test]
fn the_currency_is_checked_before_the_amount() {
    given([opened_with_order(5_000, "EUR")])
        .when(refund(9_000, "USD"))
        .then_err(DomainError::CurrencyMismatch {
            order: eur(),
            refund: Currency::parse("USD").expect("a currency"),
        });
}

#[test]
fn refunding_a_closed_ticket_is_refused_before_anything_else() {
    given([opened(), closed()])
        .when(refund(100, "USD"))
        .then_err(DomainError::TicketClosed);
}

#[test]
fn customers_auditors_analysts_and_admins_may_not_refund() {
    for actor in [customer(), auditor(), analyst(), admin()] {
        let role = actor.role;
        given([opened_with_order(5_000, "EUR")])
            .when(refund(100, "EUR").by(actor))
            .then_err(forbidden(role, Action::Refund));
    }
}

#[test]
fn support_cannot_refund_a_ticket_it_cannot_see() {
    given([opened_with_order(5_000, "EUR")])
        .when(refund(100, "EUR").by(support()))
        .then_err(DomainError::NotFound);
}

// ==================================================================== close

#[test]
fn an_agent_closes_a_ticket_and_it_is_closed() {
    given([opened(), answered()])
        .when(close())
        .then([closed()])
        .and_status(Status::Closed);
}

#[test]
fn support_closes_an_escalated_ticket() {
    given([opened(), escalated()])
        .when(close().by(support()))
        .then([closed_by(&support())])
        .and_status(Status::Closed);
}

#[test]
fn a_closed_ticket_cannot_be_closed_again() {
    given([opened(), closed()])
        .when(close())
        .then_err(DomainError::TicketClosed);
}

#[test]
fn customers_auditors_analysts_and_admins_may_not_close() {
    for actor in [customer(), auditor(), analyst(), admin()] {
        let role = actor.role;
        given([opened()])
            .when(close().by(actor))
            .then_err(forbidden(role, Action::Close));
    }
}

#[test]
fn closing_a_ticket_that_does_not_exist_or_of_another_org_is_not_found() {
    nothing().when(close()).then_err(DomainError::NotFound);
    given([opened()])
        .when(close().by(of_org(agent(), "globex")))
        .then_err(DomainError::NotFound);
}

// ================================================================ follow-up

fn follow_up_opened(change: impl FnOnce(&mut TicketOpened)) -> Event {
    opened_with(|e| {
        e.ticket_id = FOLLOW_UP;
        e.number = follow_up_number();
        e.follow_up_of = Some(TICKET);
        change(e);
    })
}

#[test]
fn a_follow_up_of_a_closed_ticket_takes_the_parents_fields_and_links_both() {
    let parent = opened_with(|e| {
        e.order = Some(an_order(5_000, "EUR"));
        e.customer_code = Some("C-77".to_owned());
        e.incident_date = Some(TODAY - Duration::days(3));
        e.impact = Impact::High;
        e.channel = Channel::Email;
        e.reason.detail = Some("Lost".to_owned());
        e.opened_by = author(&agent());
    });
    given([parent, closed()])
        .when(follow_up())
        .then_follow_up(
            [follow_up_opened(|e| {
                e.order = Some(an_order(5_000, "EUR"));
                e.customer_code = Some("C-77".to_owned());
                e.incident_date = Some(TODAY - Duration::days(3));
                e.impact = Impact::High;
                e.channel = Channel::Email;
                e.reason.detail = Some("Lost".to_owned());
            })],
            [follow_up_linked(&customer())],
        )
        .and_status(Status::Closed)
        .and(|parent| assert_eq!(parent.follow_ups, vec![FOLLOW_UP]));
}

#[test]
fn the_fields_given_in_a_follow_up_replace_the_parents() {
    given([opened_with_order(5_000, "EUR"), closed()])
        .when(follow_up_with(|f| {
            f.subject = Some(Subject::parse("Still missing").expect("valid"));
            f.description = Some(Description::parse("Nothing came.").expect("valid"));
            f.reason = Some(ReasonInput {
                category: ReasonCategory::parse("refund").expect("valid"),
                detail: None,
            });
            f.order = Some(order_input(7_000, "USD"));
            f.customer_code = Some(customer_code("C-78"));
            f.incident_date = Some(TODAY);
            f.impact = Some(Impact::Low);
            f.channel = Some(Channel::Chat);
        }))
        .then_follow_up(
            [follow_up_opened(|e| {
                e.subject = "Still missing".to_owned();
                e.description = "Nothing came.".to_owned();
                e.reason = Reason {
                    category: "refund".to_owned(),
                    detail: None,
                };
                e.order = Some(an_order(7_000, "USD"));
                e.customer_code = Some("C-78".to_owned());
                e.incident_date = Some(TODAY);
                e.impact = Impact::Low;
                e.channel = Channel::Chat;
            })],
            [follow_up_linked(&customer())],
        );
}

#[test]
fn an_agent_may_open_a_follow_up() {
    given([opened(), closed()])
        .when(follow_up().by(agent()))
        .then_follow_up(
            [follow_up_opened(|e| e.opened_by = author(&agent()))],
            [follow_up_linked(&agent())],
        );
}

#[test]
fn a_follow_up_of_a_ticket_that_is_not_closed_is_refused() {
    for history in [
        vec![opened()],
        vec![opened(), answered()],
        vec![opened(), escalated()],
    ] {
        given(history)
            .when(follow_up())
            .then_err(DomainError::ParentNotClosed);
    }
}

#[test]
fn a_follow_up_of_a_ticket_that_does_not_exist_or_of_another_org_is_not_found() {
    nothing().when(follow_up()).then_err(DomainError::NotFound);
    given([opened(), closed()])
        .when(follow_up().by(of_org(customer(), "globex")))
        .then_err(DomainError::NotFound);
}

#[test]
fn support_auditors_analysts_and_admins_may_not_open_follow_ups() {
    for actor in [support(), auditor(), analyst(), admin()] {
        let role = actor.role;
        given([opened(), escalated(), closed()])
            .when(follow_up().by(actor))
            .then_err(forbidden(role, Action::OpenFollowUp));
    }
}

#[test]
fn a_follow_up_naming_another_org_than_its_parents_is_refused() {
    given([opened(), closed()])
        .when(follow_up_with(|f| f.org = Some(org("globex"))).by(platform(customer())))
        .then_err(DomainError::ForbiddenOrg {
            allowed: acme(),
            requested: org("globex"),
        });
}

#[test]
fn a_platform_customer_need_not_name_the_org_of_a_follow_up() {
    given([opened(), closed()])
        .when(follow_up().by(platform(customer())))
        .then_ok();
    given([opened(), closed()])
        .when(follow_up_with(|f| f.org = Some(acme())).by(platform(customer())))
        .then_ok();
}

#[test]
fn a_follow_up_may_not_reuse_its_parents_id() {
    given([opened(), closed()])
        .when(follow_up_with(|f| f.ticket_id = TICKET))
        .then_err(DomainError::TicketExists { ticket_id: TICKET });
}

#[test]
fn an_incident_date_given_in_a_follow_up_must_be_within_the_intake_window() {
    let incident_date = TODAY - Duration::days(15);
    given([opened(), closed()])
        .when(follow_up_with(|f| f.incident_date = Some(incident_date)))
        .then_err(DomainError::IntakeWindowExpired {
            incident_date,
            window_days: 14,
        });
}

#[test]
fn an_incident_date_given_in_a_follow_up_must_not_be_in_the_future() {
    given([opened(), closed()])
        .when(follow_up_with(|f| {
            f.incident_date = Some(TODAY + Duration::days(1))
        }))
        .then_err(DomainError::IncidentDateInFuture {
            incident_date: TODAY + Duration::days(1),
            today: TODAY,
        });
}

#[test]
fn an_incident_date_inherited_from_the_parent_is_not_checked_against_the_window_again() {
    let long_ago = TODAY - Duration::days(200);
    given([opened_with(|e| e.incident_date = Some(long_ago)), closed()])
        .when(follow_up())
        .then_follow_up(
            [follow_up_opened(|e| e.incident_date = Some(long_ago))],
            [follow_up_linked(&customer())],
        );
}

#[test]
fn required_fields_of_a_follow_up_are_checked_after_the_parents_defaults() {
    let policy = requiring(&[RequiredField::Order, RequiredField::CustomerCode]);
    // The parent's order satisfies the policy; its missing customer code does not.
    given([opened_with_order(5_000, "EUR"), closed()])
        .with_policy(policy.clone())
        .when(follow_up())
        .then_err(DomainError::MissingField {
            field: "customer_code",
        });
    given([opened_with_order(5_000, "EUR"), closed()])
        .with_policy(policy)
        .when(follow_up_with(|f| {
            f.customer_code = Some(customer_code("C-77"))
        }))
        .then_ok();
}

#[test]
fn a_closed_parent_records_many_follow_ups_and_stays_closed() {
    given([opened(), closed(), follow_up_linked(&customer())])
        .when(follow_up_with(|f| {
            f.ticket_id = docket_domain::types::TicketId(uuid::Uuid::from_u128(9))
        }))
        .then_ok()
        .and_status(Status::Closed)
        .and(|t| assert_eq!(t.follow_ups.len(), 2));
}

// ============================================================== visibility

#[test]
fn who_sees_a_ticket() {
    let fresh = given([opened()]);
    let escalated = given([opened(), escalated()]);
    let cases = [
        (customer(), true, true),
        (agent(), true, true),
        (of_org(customer(), "globex"), false, false),
        (of_org(agent(), "globex"), false, false),
        (support(), false, true),
        (of_org(support(), "acme"), false, true),
        (of_org(support(), "globex"), false, false),
        (auditor(), true, true),
        (of_org(auditor(), "globex"), false, false),
        (admin(), true, true),
    ];
    for (actor, sees_fresh, sees_escalated) in cases {
        assert_eq!(
            ticket::can_see(fresh.state(), &actor),
            sees_fresh,
            "{actor:?}"
        );
        assert_eq!(
            ticket::can_see(escalated.state(), &actor),
            sees_escalated,
            "{actor:?}"
        );
    }
}

#[test]
fn nobody_sees_a_ticket_that_does_not_exist() {
    assert!(!ticket::can_see(&ticket::initial(), &admin()));
}

// ================================================================ authorize

/// `authorize` is the role and visibility part of `decide`: whenever
/// `decide` refuses with `forbidden` or `not_found`, `authorize` gives the
/// same error, and otherwise it lets the command through to its rules.
#[test]
fn authorize_answers_as_decide_does_before_the_commands_rules() {
    let histories: Vec<Vec<Event>> = vec![
        vec![],
        vec![opened()],
        vec![opened_with_order(5_000, "EUR")],
        vec![opened(), escalated()],
        vec![opened(), closed()],
    ];
    let actors = [
        customer(),
        agent(),
        support(),
        auditor(),
        analyst(),
        admin(),
        of_org(agent(), "globex"),
        of_org(customer(), "globex"),
    ];
    let steps = [
        comment(),
        internal_comment(),
        escalate(),
        refund(100, "EUR"),
        close(),
        follow_up(),
    ];
    let mut checked = 0;
    for history in &histories {
        for actor in &actors {
            for step in &steps {
                let given = given(history.clone());
                let state = given.state().clone();
                let authorized = match &step.command {
                    Cmd::Ticket(command) => ticket::authorize(&state, command, actor),
                    Cmd::FollowUp(_) => ticket::authorize_follow_up(&state, actor),
                };
                let decided = given.when(step.clone().by(actor.clone())).error();
                match decided {
                    Some(error @ (DomainError::Forbidden { .. } | DomainError::NotFound)) => {
                        assert_eq!(authorized, Err(error), "{step:?} by {actor:?}")
                    }
                    _ => assert_eq!(authorized, Ok(()), "{step:?} by {actor:?}"),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5 * 8 * 6);
}

// ==================================================================== apply

#[test]
fn the_version_counts_the_events_applied() {
    let state = given([
        opened(),
        answered(),
        customer_replied(),
        escalated(),
        closed(),
    ]);
    assert_eq!(state.state().version, 5);
    assert_eq!(ticket::initial().version, 0);
}

#[test]
fn a_policy_event_leaves_a_ticket_untouched() {
    let before = given([opened()]).state().clone();
    let policy_set = Event::PolicySet(docket_domain::events::PolicySet {
        org: acme(),
        policy: OrgPolicy::default(),
        set_by: author(&admin()),
    });
    assert_eq!(ticket::apply(before.clone(), &policy_set), before);
}

#[test]
fn events_before_the_open_change_only_the_version() {
    let state = given([answered(), closed()]);
    assert_eq!(state.state().version, 2);
    assert!(!state.state().exists());
}
