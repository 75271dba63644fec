//! The org-policy decider and the checks of policy values.

mod support;

use docket_domain::access::Action;
use docket_domain::calendar::{BusinessCalendar, WorkingHours};
use docket_domain::error::{DomainError, PolicyProblem};
use docket_domain::events::{Event, PolicySet};
use docket_domain::policy::{
    apply_policy, decide_policy, OrgPolicy, RequiredField, SetPolicy, ValidPolicy,
};
use docket_domain::ticket::Context;
use docket_domain::types::{Actor, Role};
use support::*;
use time::macros::date;

fn stricter() -> OrgPolicy {
    OrgPolicy {
        intake_window_days: 30,
        required_fields: vec![RequiredField::Order],
        first_response_hours: 8,
        next_response_hours: 24,
        resolution_hours: Some(120),
        calendar: BusinessCalendar {
            timezone: "Europe/Rome".to_owned(),
            working_days: 0b0001_1111,
            hours: vec![hours(9 * 60, 13 * 60), hours(14 * 60, 18 * 60)],
            holidays: vec![date!(2026 - 12 - 25)],
        },
        notify_email: None,
    }
}

fn hours(start_minute: u16, end_minute: u16) -> WorkingHours {
    WorkingHours {
        start_minute,
        end_minute,
    }
}

fn set_policy(policy: OrgPolicy) -> SetPolicy {
    SetPolicy {
        org: acme(),
        policy: ValidPolicy::parse(policy).expect("a valid policy"),
    }
}

fn by(actor: Actor) -> Context {
    Context {
        now: NOW,
        actor,
        policy: OrgPolicy::default(),
        text_modules: Default::default(),
    }
}

fn policy_set(policy: OrgPolicy, actor: &Actor) -> Event {
    Event::PolicySet(PolicySet {
        org: acme(),
        policy,
        set_by: author(actor),
    })
}

fn refused(policy: OrgPolicy, field: &'static str, problem: PolicyProblem) {
    assert_eq!(
        ValidPolicy::parse(policy),
        Err(DomainError::InvalidPolicy { field, problem })
    );
}

// ================================================================== decide

#[test]
fn an_admin_sets_an_orgs_policy() {
    assert_eq!(
        decide_policy(&set_policy(stricter()), &by(admin())),
        Ok(vec![policy_set(stricter(), &admin())])
    );
}

#[test]
fn an_admin_of_the_org_sets_its_policy() {
    let org_admin = of_org(admin(), "acme");
    assert_eq!(
        decide_policy(&set_policy(stricter()), &by(org_admin.clone())),
        Ok(vec![policy_set(stricter(), &org_admin)])
    );
}

#[test]
fn an_admin_of_another_org_may_not_set_the_policy() {
    assert_eq!(
        decide_policy(&set_policy(stricter()), &by(of_org(admin(), "globex"))),
        Err(DomainError::ForbiddenOrg {
            allowed: org("globex"),
            requested: acme(),
        })
    );
}

#[test]
fn only_admins_set_policies() {
    for actor in [customer(), agent(), support(), auditor(), analyst()] {
        let role = actor.role;
        assert_eq!(
            decide_policy(&set_policy(stricter()), &by(actor)),
            Err(DomainError::Forbidden {
                role,
                action: Action::SetPolicy
            })
        );
    }
}

#[test]
fn setting_the_policy_in_force_again_is_still_recorded() {
    assert_eq!(
        decide_policy(&set_policy(OrgPolicy::default()), &by(admin())),
        Ok(vec![policy_set(OrgPolicy::default(), &admin())])
    );
}

// =================================================================== apply

#[test]
fn an_org_without_policy_events_has_the_contracts_defaults() {
    let policy = OrgPolicy::default();
    assert_eq!(policy.intake_window_days, 14);
    assert!(policy.required_fields.is_empty());
    assert_eq!(
        (policy.first_response_hours, policy.next_response_hours),
        (48, 48)
    );
    assert_eq!(policy.resolution_hours, None);
}

#[test]
fn the_latest_policy_set_is_in_force() {
    let later = OrgPolicy {
        intake_window_days: 7,
        ..OrgPolicy::default()
    };
    let stream = [
        policy_set(stricter(), &admin()),
        policy_set(later.clone(), &admin()),
    ];
    assert_eq!(
        stream.iter().fold(OrgPolicy::default(), apply_policy),
        later
    );
}

#[test]
fn ticket_events_do_not_change_a_policy() {
    assert_eq!(apply_policy(stricter(), &opened()), stricter());
}

// ================================================================== values

#[test]
fn a_policy_within_every_bound_is_accepted() {
    let bounds = [(1, 1), (3_650, 8_760)];
    for (days, hours) in bounds {
        let policy = OrgPolicy {
            intake_window_days: days,
            first_response_hours: hours,
            next_response_hours: hours,
            resolution_hours: Some(hours),
            ..OrgPolicy::default()
        };
        assert_eq!(
            ValidPolicy::parse(policy.clone()).map(ValidPolicy::into_inner),
            Ok(policy)
        );
    }
}

#[test]
fn an_intake_window_outside_one_day_to_ten_years_is_refused() {
    for days in [0, 3_651] {
        refused(
            OrgPolicy {
                intake_window_days: days,
                ..OrgPolicy::default()
            },
            "intake_window_days",
            PolicyProblem::OutOfRange {
                value: u64::from(days),
                min: 1,
                max: 3_650,
            },
        );
    }
}

#[test]
fn sla_hours_outside_one_hour_to_a_year_are_refused() {
    let out = PolicyProblem::OutOfRange {
        value: 0,
        min: 1,
        max: 8_760,
    };
    let base = OrgPolicy::default;
    refused(
        OrgPolicy {
            first_response_hours: 0,
            ..base()
        },
        "first_response_hours",
        out.clone(),
    );
    refused(
        OrgPolicy {
            next_response_hours: 0,
            ..base()
        },
        "next_response_hours",
        out.clone(),
    );
    refused(
        OrgPolicy {
            resolution_hours: Some(0),
            ..base()
        },
        "resolution_hours",
        out,
    );
    refused(
        OrgPolicy {
            first_response_hours: 8_761,
            ..base()
        },
        "first_response_hours",
        PolicyProblem::OutOfRange {
            value: 8_761,
            min: 1,
            max: 8_760,
        },
    );
}

#[test]
fn required_fields_and_holidays_are_kept_sorted_and_unique() {
    let mut policy = stricter();
    policy.required_fields = vec![
        RequiredField::ReasonDetail,
        RequiredField::CustomerCode,
        RequiredField::ReasonDetail,
    ];
    policy.calendar.holidays = vec![
        date!(2026 - 12 - 26),
        date!(2026 - 12 - 25),
        date!(2026 - 12 - 26),
    ];
    let valid = ValidPolicy::parse(policy).expect("valid").into_inner();
    assert_eq!(
        valid.required_fields,
        vec![RequiredField::CustomerCode, RequiredField::ReasonDetail]
    );
    assert_eq!(
        valid.calendar.holidays,
        vec![date!(2026 - 12 - 25), date!(2026 - 12 - 26)]
    );
}

#[test]
fn a_time_zone_is_named_canonically() {
    let mut policy = stricter();
    policy.calendar.timezone = "europe/ROME".to_owned();
    let valid = ValidPolicy::parse(policy).expect("valid").into_inner();
    assert_eq!(valid.calendar.timezone, "Europe/Rome");
}

#[test]
fn an_unknown_time_zone_is_refused() {
    let mut policy = stricter();
    policy.calendar.timezone = "Mars/Olympus_Mons".to_owned();
    refused(
        policy,
        "calendar.timezone",
        PolicyProblem::UnknownTimeZone {
            name: "Mars/Olympus_Mons".to_owned(),
        },
    );
}

#[test]
fn a_calendar_without_working_time_is_refused() {
    let mut no_days = stricter();
    no_days.calendar.working_days = 0;
    refused(
        no_days,
        "calendar.working_days",
        PolicyProblem::NoWorkingDay,
    );

    let mut eighth_day = stricter();
    eighth_day.calendar.working_days = 0b1000_0001;
    refused(
        eighth_day,
        "calendar.working_days",
        PolicyProblem::UnknownWorkingDay,
    );

    let mut no_hours = stricter();
    no_hours.calendar.hours.clear();
    refused(no_hours, "calendar.hours", PolicyProblem::NoWorkingHours);
}

#[test]
fn working_hours_must_be_non_empty_intervals_within_the_day() {
    for (start, end) in [(600, 600), (700, 600), (0, 1_441)] {
        let mut policy = stricter();
        policy.calendar.hours = vec![hours(start, end)];
        refused(
            policy,
            "calendar.hours",
            PolicyProblem::BadInterval {
                start_minute: start,
                end_minute: end,
            },
        );
    }
}

#[test]
fn working_hours_must_be_sorted_and_disjoint_but_may_touch() {
    let mut overlapping = stricter();
    overlapping.calendar.hours = vec![hours(540, 780), hours(720, 1_080)];
    refused(
        overlapping,
        "calendar.hours",
        PolicyProblem::OverlappingIntervals,
    );

    let mut unsorted = stricter();
    unsorted.calendar.hours = vec![hours(840, 1_080), hours(540, 780)];
    refused(
        unsorted,
        "calendar.hours",
        PolicyProblem::OverlappingIntervals,
    );

    let mut touching = stricter();
    touching.calendar.hours = vec![hours(0, 720), hours(720, 1_440)];
    assert!(ValidPolicy::parse(touching).is_ok());
}

#[test]
fn a_calendar_has_a_bounded_number_of_holidays() {
    let mut policy = stricter();
    let max = docket_domain::calendar::HOLIDAYS_MAX;
    let days = |count: usize| {
        (0..count)
            .map(|day| date!(2026 - 01 - 01) + time::Duration::days(day as i64))
            .collect::<Vec<_>>()
    };
    let mut at_max = stricter();
    at_max.calendar.holidays = days(max);
    assert!(ValidPolicy::parse(at_max).is_ok());
    policy.calendar.holidays = days(max + 1);
    refused(
        policy,
        "calendar.holidays",
        PolicyProblem::TooMany {
            count: max + 1,
            max,
        },
    );
}

#[test]
fn a_role_that_is_not_admin_is_named_in_the_refusal() {
    let error = decide_policy(&set_policy(stricter()), &by(agent())).expect_err("refused");
    assert_eq!(error.code(), "forbidden");
    assert!(matches!(
        error,
        DomainError::Forbidden {
            role: Role::Agent,
            ..
        }
    ));
}

#[test]
fn a_calendar_refused_by_its_parser_is_an_invalid_policy() {
    let spec = docket_domain::calendar::CalendarSpec {
        timezone: Some("Nowhere/Atlantis".to_owned()),
        ..Default::default()
    };
    let error = BusinessCalendar::from_spec(&spec).expect_err("unknown zone");
    assert_eq!(error.code(), "invalid_policy");
    assert!(matches!(
        error,
        DomainError::InvalidPolicy {
            field: "calendar",
            problem: PolicyProblem::Calendar(_)
        }
    ));
}
