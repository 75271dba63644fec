//! The SLA clocks' unit tests: worked examples on two calendars, then
//! property tests against a minute-by-minute oracle. One file past ~600
//! lines because every case shares the same calendars, event builders and
//! oracle; split by concern they would each import all of it.

use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::*;
use crate::calendar::CalendarSpec;
use crate::events::{CommentAdded, Escalated, TicketClosed, TicketOpened};
use crate::types::{
    Author, Channel, EscalationReason, Impact, OrgId, Reason, Resolution, Role, TicketId,
    TicketNumber,
};

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("test instants are RFC 3339")
}

/// UTC, Monday to Friday 09:00-18:00; first response 2 h, next 4 h,
/// resolution 8 h. 2026-01-05 is a Monday.
fn office_policy() -> OrgPolicy {
    OrgPolicy {
        first_response_hours: 2,
        next_response_hours: 4,
        resolution_hours: Some(8),
        calendar: BusinessCalendar::from_spec(&CalendarSpec {
            hours: Some("09:00-18:00".to_owned()),
            ..CalendarSpec::default()
        })
        .expect("valid"),
        ..OrgPolicy::default()
    }
}

/// A stricter policy in another zone, set after some tickets opened.
fn rome_policy() -> OrgPolicy {
    OrgPolicy {
        first_response_hours: 1,
        next_response_hours: 1,
        resolution_hours: Some(3),
        calendar: BusinessCalendar::from_spec(&CalendarSpec {
            timezone: Some("Europe/Rome".to_owned()),
            hours: Some("10:00-12:00".to_owned()),
            ..CalendarSpec::default()
        })
        .expect("valid"),
        ..OrgPolicy::default()
    }
}

fn author(role: Role) -> Author {
    Author {
        sub: format!("{}-1", role.as_str()),
        role,
    }
}

fn opened() -> Event {
    Event::TicketOpened(TicketOpened {
        ticket_id: TicketId(Uuid::nil()),
        number: TicketNumber::from_sequence(0).expect("in range"),
        org: OrgId::parse("acme").expect("valid"),
        subject: "Broken".to_owned(),
        description: "It broke".to_owned(),
        reason: Reason {
            category: "damaged".to_owned(),
            detail: None,
        },
        order: None,
        customer_code: None,
        incident_date: None,
        impact: Impact::Medium,
        channel: Channel::Portal,
        opened_by: author(Role::Customer),
        follow_up_of: None,
        contact: None,
        sales_channel: None,
    })
}

fn comment(role: Role, visibility: Visibility) -> Event {
    Event::CommentAdded(CommentAdded {
        comment_id: Uuid::nil(),
        author: author(role),
        body: "text".to_owned(),
        visibility,
        text_module: None,
    })
}

fn customer() -> Event {
    comment(Role::Customer, Visibility::Public)
}

fn agent() -> Event {
    comment(Role::Agent, Visibility::Public)
}

fn support() -> Event {
    comment(Role::Support, Visibility::Public)
}

fn internal_note() -> Event {
    comment(Role::Agent, Visibility::Internal)
}

fn escalated() -> Event {
    Event::Escalated(Escalated {
        reason: EscalationReason::CannotHelp,
        note: None,
        escalated_by: author(Role::Agent),
    })
}

fn closed() -> Event {
    Event::TicketClosed(TicketClosed {
        resolution: Resolution::Resolved,
        note: None,
        closed_by: author(Role::Agent),
    })
}

/// The clocks after `steps` (time, event), all under the office policy.
fn given(steps: &[(&str, Event)]) -> SlaClocks {
    given_with(
        &steps
            .iter()
            .map(|(time, event)| (*time, event.clone(), office_policy()))
            .collect::<Vec<_>>(),
    )
}

fn given_with(steps: &[(&str, Event, OrgPolicy)]) -> SlaClocks {
    let mut clocks = SlaClocks::new();
    for (time, event, policy) in steps {
        clocks.apply(event, at(time), policy);
    }
    clocks
}

fn states(clocks: &SlaClocks, kind: ClockKind) -> Vec<ClockState> {
    clocks
        .clocks()
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.state.clone())
        .collect()
}

const H: i128 = 3600 * 1_000_000_000;

fn running(since: &str, used_hours: i128) -> ClockState {
    ClockState::Running {
        since: at(since),
        used_nanos: used_hours * H,
    }
}

fn paused(used_hours: i128) -> ClockState {
    ClockState::Paused {
        used_nanos: used_hours * H,
    }
}

fn met(when: &str, due: &str) -> ClockState {
    ClockState::Met {
        at: at(when),
        due_at: Some(at(due)),
    }
}

fn breached(due: &str, ended: Option<&str>) -> ClockState {
    ClockState::Breached {
        due_at: at(due),
        ended_at: ended.map(at),
    }
}

fn cancelled(when: &str, used_hours: i128) -> ClockState {
    ClockState::Cancelled {
        at: at(when),
        used_nanos: used_hours * H,
    }
}

/// One row: a rule, the events given, which clocks, their states then.
type Row = (
    &'static str,
    Vec<(&'static str, Event)>,
    ClockKind,
    Vec<ClockState>,
);

fn check(rows: Vec<Row>) {
    for (rule, steps, kind, expected) in rows {
        let clocks = given(&steps);
        assert_eq!(states(&clocks, kind), expected, "{rule}: {kind:?}");
    }
}

use ClockKind::{FirstResponse, NextResponse, Resolution as Res};

#[test]
fn first_response_rules() {
    check(vec![
        (
            "an answer before the due time meets the clock",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", agent()),
            ],
            FirstResponse,
            vec![met("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z")],
        ),
        (
            "an answer exactly at the due time meets the clock",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T11:00:00Z", support()),
            ],
            FirstResponse,
            vec![met("2026-01-05T11:00:00Z", "2026-01-05T11:00:00Z")],
        ),
        (
            "an answer one second late breaches it",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T11:00:01Z", agent()),
            ],
            FirstResponse,
            vec![breached(
                "2026-01-05T11:00:00Z",
                Some("2026-01-05T11:00:01Z"),
            )],
        ),
        (
            "a breach is recorded by the next event, whatever it is",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T12:00:00Z", internal_note()),
            ],
            FirstResponse,
            vec![breached("2026-01-05T11:00:00Z", None)],
        ),
        (
            "an internal comment answers nothing",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", internal_note()),
            ],
            FirstResponse,
            vec![running("2026-01-05T09:00:00Z", 0)],
        ),
        (
            "a customer comment on an open ticket answers nothing",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", customer()),
            ],
            FirstResponse,
            vec![running("2026-01-05T09:00:00Z", 0)],
        ),
        (
            "an escalation pauses the clock",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", escalated()),
            ],
            FirstResponse,
            vec![paused(1)],
        ),
        (
            "support answering an escalated ticket meets it; the due time moved out by the wait",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", escalated()),
                ("2026-01-06T10:00:00Z", support()),
            ],
            FirstResponse,
            vec![met("2026-01-06T10:00:00Z", "2026-01-06T11:00:00Z")],
        ),
        (
            "a customer comment on an unanswered escalated ticket resumes it",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", escalated()),
                ("2026-01-06T09:30:00Z", customer()),
            ],
            FirstResponse,
            vec![running("2026-01-06T09:30:00Z", 1)],
        ),
        (
            "an escalation after the due time is too late: the breach stays",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T11:30:00Z", escalated()),
                ("2026-01-06T09:00:00Z", support()),
            ],
            FirstResponse,
            vec![breached(
                "2026-01-05T11:00:00Z",
                Some("2026-01-06T09:00:00Z"),
            )],
        ),
        (
            "a clock starting on a Saturday counts from Monday's opening",
            vec![
                ("2026-01-10T10:00:00Z", opened()),
                ("2026-01-12T11:00:00Z", agent()),
            ],
            FirstResponse,
            vec![met("2026-01-12T11:00:00Z", "2026-01-12T11:00:00Z")],
        ),
        (
            "a clock starting an hour before closing is due an hour after the next opening",
            vec![
                ("2026-01-05T17:00:00Z", opened()),
                ("2026-01-06T10:00:01Z", agent()),
            ],
            FirstResponse,
            vec![breached(
                "2026-01-06T10:00:00Z",
                Some("2026-01-06T10:00:01Z"),
            )],
        ),
    ]);
}

#[test]
fn next_response_rules() {
    let answered = || {
        vec![
            ("2026-01-05T09:00:00Z", opened()),
            ("2026-01-05T09:30:00Z", agent()),
        ]
    };
    let with = |mut steps: Vec<(&'static str, Event)>, more: Vec<(&'static str, Event)>| {
        steps.extend(more);
        steps
    };
    check(vec![
        (
            "a customer comment on an open ticket starts no next-response clock",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T09:30:00Z", customer()),
            ],
            NextResponse,
            vec![],
        ),
        (
            "a customer comment on a waiting ticket starts one",
            with(answered(), vec![("2026-01-05T10:00:00Z", customer())]),
            NextResponse,
            vec![running("2026-01-05T10:00:00Z", 0)],
        ),
        (
            "a second customer comment before the answer starts no other",
            with(
                answered(),
                vec![
                    ("2026-01-05T10:00:00Z", customer()),
                    ("2026-01-05T11:00:00Z", customer()),
                ],
            ),
            NextResponse,
            vec![running("2026-01-05T10:00:00Z", 0)],
        ),
        (
            "the next public answer meets it",
            with(
                answered(),
                vec![
                    ("2026-01-05T10:00:00Z", customer()),
                    ("2026-01-05T14:00:00Z", agent()),
                ],
            ),
            NextResponse,
            vec![met("2026-01-05T14:00:00Z", "2026-01-05T14:00:00Z")],
        ),
        (
            "each answered round starts its own clock",
            with(
                answered(),
                vec![
                    ("2026-01-05T10:00:00Z", customer()),
                    ("2026-01-05T11:00:00Z", agent()),
                    ("2026-01-05T12:00:00Z", customer()),
                ],
            ),
            NextResponse,
            vec![
                met("2026-01-05T11:00:00Z", "2026-01-05T14:00:00Z"),
                running("2026-01-05T12:00:00Z", 0),
            ],
        ),
        (
            "a customer comment on an unanswered escalated ticket starts one",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", escalated()),
                ("2026-01-05T11:00:00Z", customer()),
            ],
            NextResponse,
            vec![running("2026-01-05T11:00:00Z", 0)],
        ),
        (
            "a paused next-response clock is resumed, not restarted",
            with(
                answered(),
                vec![
                    ("2026-01-05T10:00:00Z", customer()),
                    ("2026-01-05T11:00:00Z", escalated()),
                    ("2026-01-05T12:00:00Z", customer()),
                ],
            ),
            NextResponse,
            vec![running("2026-01-05T12:00:00Z", 1)],
        ),
        (
            "a breached, unanswered question keeps its clock; no new one starts",
            with(
                answered(),
                vec![
                    ("2026-01-05T10:00:00Z", customer()),
                    ("2026-01-05T15:00:00Z", escalated()),
                    ("2026-01-05T16:00:00Z", customer()),
                ],
            ),
            NextResponse,
            vec![breached("2026-01-05T14:00:00Z", None)],
        ),
    ]);
}

#[test]
fn resolution_rules() {
    check(vec![
        (
            "closing in time meets it; waiting time does not count",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", agent()),
                ("2026-01-05T12:00:00Z", customer()),
                ("2026-01-05T15:00:00Z", closed()),
            ],
            Res,
            // 1 h + 3 h used; 4 h left from 15:00: 3 h today, 1 h Tuesday.
            vec![met("2026-01-05T15:00:00Z", "2026-01-06T10:00:00Z")],
        ),
        (
            "closing while waiting meets it",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", agent()),
                ("2026-01-09T10:00:00Z", closed()),
            ],
            Res,
            vec![met("2026-01-09T10:00:00Z", "2026-01-09T17:00:00Z")],
        ),
        (
            "closing late breaches it",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-06T10:00:00Z", closed()),
            ],
            Res,
            vec![breached(
                "2026-01-05T17:00:00Z",
                Some("2026-01-06T10:00:00Z"),
            )],
        ),
        (
            "it pauses while waiting",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T11:00:00Z", agent()),
            ],
            Res,
            vec![paused(2)],
        ),
    ]);
    let without_target = OrgPolicy {
        resolution_hours: None,
        ..office_policy()
    };
    let clocks = given_with(&[("2026-01-05T09:00:00Z", opened(), without_target)]);
    assert_eq!(states(&clocks, Res), vec![]);
}

#[test]
fn closing_rules() {
    check(vec![
        (
            "closing cancels a running response clock",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", closed()),
            ],
            FirstResponse,
            vec![cancelled("2026-01-05T10:00:00Z", 1)],
        ),
        (
            "closing cancels a paused response clock",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", escalated()),
                ("2026-01-06T10:00:00Z", closed()),
            ],
            FirstResponse,
            vec![cancelled("2026-01-06T10:00:00Z", 1)],
        ),
        (
            "closing after the due time: breached, not cancelled",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T12:00:00Z", closed()),
            ],
            FirstResponse,
            vec![breached(
                "2026-01-05T11:00:00Z",
                Some("2026-01-05T12:00:00Z"),
            )],
        ),
        (
            "an answered breach stays as it was",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T12:00:00Z", agent()),
                ("2026-01-05T13:00:00Z", customer()),
                ("2026-01-05T14:00:00Z", closed()),
            ],
            FirstResponse,
            vec![breached(
                "2026-01-05T11:00:00Z",
                Some("2026-01-05T12:00:00Z"),
            )],
        ),
        (
            "... while the running next-response clock is cancelled",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T12:00:00Z", agent()),
                ("2026-01-05T13:00:00Z", customer()),
                ("2026-01-05T14:00:00Z", closed()),
            ],
            NextResponse,
            vec![cancelled("2026-01-05T14:00:00Z", 1)],
        ),
        (
            "nothing counts after the close",
            vec![
                ("2026-01-05T09:00:00Z", opened()),
                ("2026-01-05T10:00:00Z", closed()),
                ("2026-01-05T11:00:00Z", customer()),
                ("2026-01-05T12:00:00Z", agent()),
            ],
            NextResponse,
            vec![],
        ),
    ]);
}

#[test]
fn a_running_clock_keeps_the_policy_it_started_under() {
    let office = office_policy();
    let rome = rome_policy();
    let clocks = given_with(&[
        ("2026-01-05T09:00:00Z", opened(), office.clone()),
        // Under Rome's policy this would be late (1 h from 10:00 Rome).
        ("2026-01-05T10:30:00Z", agent(), rome.clone()),
        ("2026-01-05T10:45:00Z", customer(), rome.clone()),
    ]);
    assert_eq!(
        states(&clocks, FirstResponse),
        vec![met("2026-01-05T10:30:00Z", "2026-01-05T11:00:00Z")]
    );
    let first = &clocks.clocks()[0];
    assert_eq!(
        (first.budget_seconds, &first.calendar),
        (2 * 3600, &office.calendar)
    );
    // The next-response clock started under Rome's policy: 10:45 UTC is
    // 11:45 in Rome, 15 min before closing; 45 min left from Tuesday 10:00.
    let next = clocks
        .clocks()
        .iter()
        .find(|c| c.kind == NextResponse)
        .expect("started");
    assert_eq!(
        (next.budget_seconds, &next.calendar),
        (3600, &rome.calendar)
    );
    assert_eq!(next.due_at(), Some(at("2026-01-06T10:45:00+01:00")));
    assert_eq!(
        clocks
            .clocks()
            .iter()
            .find(|c| c.kind == Res)
            .map(|c| c.budget_seconds),
        Some(8 * 3600)
    );
}

#[test]
fn evaluate_reports_a_breach_strictly_after_the_due_time() {
    let clocks = given(&[("2026-01-05T09:00:00Z", opened())]);
    let first = |now: &str| clocks.evaluate(at(now))[0].clone();
    let view = |status, breached, business_seconds_left| ClockView {
        kind: FirstResponse,
        started_at: at("2026-01-05T09:00:00Z"),
        status,
        due_at: Some(at("2026-01-05T11:00:00Z")),
        breached,
        business_seconds_left,
    };
    assert_eq!(
        first("2026-01-05T09:30:00Z"),
        view(ClockStatus::Running, false, 5400)
    );
    assert_eq!(
        first("2026-01-05T11:00:00Z"),
        view(ClockStatus::Running, false, 0)
    );
    assert_eq!(
        first("2026-01-05T11:00:01Z"),
        view(ClockStatus::Breached, true, -1)
    );
    assert_eq!(
        first("2026-01-06T09:00:00Z"),
        view(ClockStatus::Breached, true, -7 * 3600)
    );
    // The fold agrees once told the time.
    let mut advanced = clocks.clone();
    advanced.advance(at("2026-01-05T11:00:00Z"));
    assert_eq!(advanced, clocks);
    advanced.advance(at("2026-01-05T11:00:01Z"));
    assert_eq!(
        states(&advanced, FirstResponse),
        vec![breached("2026-01-05T11:00:00Z", None)]
    );
    assert_eq!(
        advanced.evaluate(at("2026-01-06T09:00:00Z"))[0],
        view(ClockStatus::Breached, true, -7 * 3600)
    );
}

#[test]
fn evaluate_shows_paused_and_finished_clocks() {
    let clocks = given(&[
        ("2026-01-05T09:00:00Z", opened()),
        ("2026-01-05T10:00:00Z", escalated()),
    ]);
    let views = clocks.evaluate(at("2026-01-07T12:00:00Z"));
    assert_eq!(views.len(), 2);
    assert_eq!(
        (
            views[0].status,
            views[0].due_at,
            views[0].business_seconds_left
        ),
        (ClockStatus::Paused, None, 3600)
    );
    assert_eq!(
        (
            views[1].kind,
            views[1].status,
            views[1].business_seconds_left
        ),
        (Res, ClockStatus::Paused, 7 * 3600)
    );
    assert_eq!(clocks.earliest_pending_due(), None);

    let clocks = given(&[
        ("2026-01-05T09:00:00Z", opened()),
        ("2026-01-05T10:30:00Z", agent()),
        ("2026-01-05T11:00:00Z", closed()),
    ]);
    let views = clocks.evaluate(at("2026-01-07T12:00:00Z"));
    assert_eq!(
        (
            views[0].status,
            views[0].due_at,
            views[0].business_seconds_left
        ),
        (ClockStatus::Met, None, 1800)
    );
    assert_eq!(
        (views[1].status, views[1].business_seconds_left),
        (ClockStatus::Met, 6 * 3600 + 1800)
    );
}

#[test]
fn the_earliest_pending_due_time_covers_running_and_unanswered_breached_clocks() {
    let clocks = given(&[("2026-01-05T09:00:00Z", opened())]);
    assert_eq!(
        clocks.earliest_pending_due(),
        Some(at("2026-01-05T11:00:00Z"))
    );
    let clocks = given(&[
        ("2026-01-05T09:00:00Z", opened()),
        ("2026-01-05T12:00:00Z", internal_note()),
    ]);
    assert_eq!(
        clocks.earliest_pending_due(),
        Some(at("2026-01-05T11:00:00Z"))
    );
    // Answered late: the resolution clock (waiting, so paused) is all that is left.
    let clocks = given(&[
        ("2026-01-05T09:00:00Z", opened()),
        ("2026-01-05T12:00:00Z", agent()),
    ]);
    assert_eq!(clocks.earliest_pending_due(), None);
    let clocks = given(&[
        ("2026-01-05T09:00:00Z", opened()),
        ("2026-01-05T10:00:00Z", agent()),
        ("2026-01-05T11:00:00Z", customer()),
    ]);
    // Next response due 15:00; resolution 1 h used, 7 h left from 11:00: Tue 11:00.
    assert_eq!(
        clocks.earliest_pending_due(),
        Some(at("2026-01-05T15:00:00Z"))
    );
    let clocks = given(&[
        ("2026-01-05T09:00:00Z", opened()),
        ("2026-01-05T12:00:00Z", closed()),
    ]);
    assert_eq!(clocks.earliest_pending_due(), None);
}

#[test]
fn first_response_outcome_for_kpis() {
    let outcome = |steps: &[(&str, Event)], now: &str| given(steps).first_response_outcome(at(now));
    let open = ("2026-01-05T09:00:00Z", opened());
    let due = at("2026-01-05T11:00:00Z");
    assert_eq!(
        outcome(
            &[open.clone(), ("2026-01-05T10:00:00Z", agent())],
            "2026-01-05T10:00:00Z"
        ),
        Some(ClockOutcome::Met { due_at: due })
    );
    assert_eq!(
        outcome(
            &[open.clone(), ("2026-01-05T11:30:00Z", agent())],
            "2026-01-05T11:30:00Z"
        ),
        Some(ClockOutcome::Breached { due_at: due })
    );
    // Running: nothing yet, until it is past due even without an event.
    assert_eq!(
        outcome(std::slice::from_ref(&open), "2026-01-05T11:00:00Z"),
        None
    );
    assert_eq!(
        outcome(std::slice::from_ref(&open), "2026-01-05T11:00:01Z"),
        Some(ClockOutcome::Breached { due_at: due })
    );
    // Paused and cancelled clocks count nowhere.
    assert_eq!(
        outcome(
            &[open.clone(), ("2026-01-05T10:00:00Z", escalated())],
            "2026-02-01T00:00:00Z"
        ),
        None
    );
    assert_eq!(
        outcome(
            &[open.clone(), ("2026-01-05T10:00:00Z", closed())],
            "2026-02-01T00:00:00Z"
        ),
        None
    );
    assert_eq!(outcome(&[], "2026-02-01T00:00:00Z"), None);
}

#[test]
fn events_before_the_opening_and_repeated_openings_change_nothing() {
    let clocks = given(&[
        ("2026-01-05T08:00:00Z", agent()),
        ("2026-01-05T09:00:00Z", opened()),
        ("2026-01-05T10:00:00Z", opened()),
    ]);
    assert_eq!(clocks.status(), Some(Status::Open));
    assert_eq!(
        states(&clocks, FirstResponse),
        vec![running("2026-01-05T09:00:00Z", 0)]
    );
}

#[test]
fn statuses_follow_the_contract() {
    let steps = [
        ("2026-01-05T09:00:00Z", opened(), Status::Open),
        ("2026-01-05T09:10:00Z", internal_note(), Status::Open),
        ("2026-01-05T09:20:00Z", agent(), Status::Waiting),
        ("2026-01-05T09:30:00Z", customer(), Status::Open),
        ("2026-01-05T09:40:00Z", escalated(), Status::Waiting),
        ("2026-01-05T09:50:00Z", customer(), Status::Open),
        ("2026-01-05T10:00:00Z", support(), Status::Waiting),
        ("2026-01-05T10:10:00Z", closed(), Status::Closed),
        ("2026-01-05T10:20:00Z", customer(), Status::Closed),
    ];
    let mut clocks = SlaClocks::new();
    for (time, event, status) in steps {
        clocks.apply(&event, at(time), &office_policy());
        assert_eq!(
            clocks.status(),
            Some(status),
            "after {} at {time}",
            event.event_type()
        );
    }
}

#[test]
fn old_finished_next_response_clocks_are_dropped() {
    let mut steps = vec![("2026-01-05T09:00:00Z".to_owned(), opened())];
    for round in 0..40 {
        let minute = |m: u32| {
            format!(
                "2026-01-05T{:02}:{:02}:00Z",
                10 + round / 30,
                (round % 30) * 2 + m
            )
        };
        steps.push((minute(0), agent()));
        steps.push((minute(1), customer()));
    }
    let mut clocks = SlaClocks::new();
    for (time, event) in &steps {
        clocks.apply(event, at(time), &office_policy());
    }
    let next = states(&clocks, NextResponse);
    assert_eq!(next.len(), NEXT_RESPONSE_CLOCKS_MAX);
    assert!(matches!(next.last(), Some(ClockState::Running { .. })));
    assert_eq!(clocks.clocks()[0].kind, FirstResponse);
}

#[test]
fn clocks_round_trip_through_postcard_and_json() {
    let clocks = given(&[
        ("2026-01-05T09:00:00Z", opened()),
        ("2026-01-05T12:00:00Z", agent()),
        ("2026-01-05T13:00:00.5Z", customer()),
        ("2026-01-05T13:30:00Z", escalated()),
        ("2026-01-05T14:00:00Z", customer()),
    ]);
    let bytes = postcard::to_allocvec(&clocks).expect("encodes");
    assert_eq!(
        postcard::from_bytes::<SlaClocks>(&bytes).expect("decodes"),
        clocks
    );
    let json = serde_json::to_string(&clocks).expect("encodes");
    assert_eq!(
        serde_json::from_str::<SlaClocks>(&json).expect("decodes"),
        clocks
    );
    let views = clocks.evaluate(at("2026-01-05T15:00:00Z"));
    let json = serde_json::to_string(&views).expect("encodes");
    assert_eq!(
        serde_json::from_str::<Vec<ClockView>>(&json).expect("decodes"),
        views
    );
    assert!(json.contains(r#""kind":"first_response""#), "{json}");
    assert!(
        json.contains(r#""due_at":"2026-01-05T17:30:00.5Z""#),
        "{json}"
    );
}

/// One random step: minutes after the previous event, which event,
/// and whether the org's policy was the office one or Rome's.
fn any_steps() -> impl proptest::strategy::Strategy<Value = Vec<(i64, u8, bool)>> {
    use proptest::prelude::*;
    prop::collection::vec((0i64..3000, 0u8..8, any::<bool>()), 0..24)
}

fn step_event(kind: u8) -> Event {
    match kind {
        0 | 1 => customer(),
        2 => agent(),
        3 => support(),
        4 => internal_note(),
        5 => escalated(),
        6 => closed(),
        _ => comment(Role::Customer, Visibility::Internal),
    }
}

proptest::proptest! {
    #[test]
    fn looking_in_between_events_changes_nothing(
        steps in any_steps(),
        peeks in proptest::collection::vec(0i64..3000, 24),
    ) {
        let mut plain = SlaClocks::new();
        let mut peeked = SlaClocks::new();
        let mut now = at("2026-03-27T16:00:00Z");
        plain.apply(&opened(), now, &office_policy());
        peeked.apply(&opened(), now, &office_policy());
        for (index, (gap_minutes, kind, rome)) in steps.into_iter().enumerate() {
            let policy = if rome { rome_policy() } else { office_policy() };
            let peek = now + time::Duration::minutes(peeks[index].min(gap_minutes));
            let views_before = peeked.evaluate(peek);
            peeked.advance(peek);
            // Recording breaches changes no view of that instant.
            proptest::prop_assert_eq!(peeked.evaluate(peek), views_before);
            now += time::Duration::minutes(gap_minutes);
            let event = step_event(kind);
            plain.apply(&event, now, &policy);
            peeked.apply(&event, now, &policy);
            proptest::prop_assert_eq!(&plain, &peeked);
            check_invariants(&plain, now)?;
        }
    }
}

proptest::proptest! {
    /// `breach_by` skips the calendar walk while less wall time than
    /// business time is left; it must answer as the walk does.
    #[test]
    fn the_breach_shortcut_agrees_with_the_due_time(
        steps in any_steps(),
        probes in proptest::collection::vec(0i64..(14 * 24 * 60), 24),
    ) {
        let mut clocks = SlaClocks::new();
        let mut now = at("2026-03-27T16:00:00Z");
        clocks.apply(&opened(), now, &office_policy());
        for (index, (gap_minutes, kind, rome)) in steps.into_iter().enumerate() {
            let probe = now + time::Duration::minutes(probes[index]);
            for clock in clocks.clocks() {
                let walked = match clock.state {
                    ClockState::Running { .. } => clock.due_at().filter(|due| probe > *due),
                    _ => None,
                };
                proptest::prop_assert_eq!(clock.breach_by(probe), walked);
            }
            let policy = if rome { rome_policy() } else { office_policy() };
            now += time::Duration::minutes(gap_minutes);
            clocks.apply(&step_event(kind), now, &policy);
        }
    }
}

fn check_invariants(
    clocks: &SlaClocks,
    now: OffsetDateTime,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::{prop_assert, prop_assert_eq};
    let mut unanswered_next = 0;
    for clock in clocks.clocks() {
        prop_assert!(clock.started_at <= now);
        match clock.state {
            ClockState::Running { since, used_nanos } => {
                prop_assert!(clocks.status() == Some(Status::Open));
                prop_assert!(since <= now && used_nanos <= clock.budget_nanos());
                prop_assert!(clock.due_at().is_some_and(|due| due >= now));
            }
            ClockState::Paused { used_nanos } => {
                prop_assert!(clocks.status() == Some(Status::Waiting));
                prop_assert!(used_nanos <= clock.budget_nanos());
            }
            ClockState::Met { at, due_at } => prop_assert!(due_at.is_some_and(|due| at <= due)),
            ClockState::Breached { due_at, ended_at } => {
                prop_assert!(ended_at.is_none_or(|ended| due_at < ended));
            }
            ClockState::Cancelled { used_nanos, .. } => {
                prop_assert!(clocks.status() == Some(Status::Closed));
                prop_assert!(used_nanos <= clock.budget_nanos());
            }
        }
        if clock.kind == ClockKind::NextResponse && clock.is_unanswered() {
            unanswered_next += 1;
        }
        let view = clock.view(now);
        proptest::prop_assert_eq!(
            view.breached,
            clock.outcome(now).is_some_and(|o| !o.is_met())
        );
    }
    prop_assert!(unanswered_next <= 1);
    if clocks.status() == Some(Status::Closed) {
        prop_assert_eq!(clocks.earliest_pending_due(), None);
    }
    Ok(())
}
