//! An org's policy: intake rules and SLA targets, an event-sourced stream of
//! its own (`policy-{org}`), so a change of policy is a recorded fact with a
//! time, and every clock can keep the policy in force when it started.

use serde::{Deserialize, Serialize};

use crate::access::Action;
use crate::calendar::{self, BusinessCalendar};
use crate::contact::EmailAddress;
use crate::error::{DomainError, PolicyProblem};
use crate::events::{Event, PolicySet};
use crate::ticket::Context;
use crate::types::{Author, OrgId, OrgScope};

/// A field an org may require on every new ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredField {
    /// A customer code (`customer_code`).
    CustomerCode,
    /// An order (`order`).
    Order,
    /// An incident date (`incident_date`).
    IncidentDate,
    /// A reason's detail (`reason_detail`).
    ReasonDetail,
}

impl RequiredField {
    /// Parses the contract's name of a required field.
    pub fn parse(text: &str) -> Option<RequiredField> {
        Some(match text {
            "customer_code" => RequiredField::CustomerCode,
            "order" => RequiredField::Order,
            "incident_date" => RequiredField::IncidentDate,
            "reason_detail" => RequiredField::ReasonDetail,
            _ => return None,
        })
    }

    /// The contract's name of the field.
    pub fn as_str(&self) -> &'static str {
        match self {
            RequiredField::CustomerCode => "customer_code",
            RequiredField::Order => "order",
            RequiredField::IncidentDate => "incident_date",
            RequiredField::ReasonDetail => "reason_detail",
        }
    }
}

/// An org's policy: the intake rules and SLA targets of its tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPolicy {
    /// Reports are accepted only this many days after the incident.
    pub intake_window_days: u32,
    /// Sorted, without duplicates.
    pub required_fields: Vec<RequiredField>,
    /// The `first_response` target, in business hours.
    pub first_response_hours: u32,
    /// The `next_response` target, in business hours.
    pub next_response_hours: u32,
    /// The `resolution` target, in business hours; `None`: no resolution clock.
    pub resolution_hours: Option<u32>,
    /// The calendar the SLA targets count business hours on.
    pub calendar: BusinessCalendar,
    /// The org team's address for notifications; `None`: the team is not
    /// mailed (`policy_set` schema version 2).
    pub notify_email: Option<EmailAddress>,
}

impl Default for OrgPolicy {
    /// The contract's defaults, in force for an org that never set a policy.
    fn default() -> Self {
        OrgPolicy {
            intake_window_days: 14,
            required_fields: Vec::new(),
            first_response_hours: 48,
            next_response_hours: 48,
            resolution_hours: None,
            calendar: BusinessCalendar::default(),
            notify_email: None,
        }
    }
}

/// The shortest intake window an org may set, in days.
pub const INTAKE_WINDOW_DAYS_MIN: u32 = 1;
/// The longest intake window, in days: ten years.
pub const INTAKE_WINDOW_DAYS_MAX: u32 = 3_650;
/// The smallest SLA target, in business hours.
pub const SLA_HOURS_MIN: u32 = 1;
/// The largest SLA target, in business hours: a year of round-the-clock work.
pub const SLA_HOURS_MAX: u32 = 8_760;

/// A policy whose values are in range, with its sets sorted and without
/// duplicates and its time zone named canonically. The only way to build a
/// `SetPolicy`, so no unchecked policy is ever recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPolicy(OrgPolicy);

/// Set an org's policy from now on (admin only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPolicy {
    /// The org whose policy it sets.
    pub org: OrgId,
    /// The new policy, whole.
    pub policy: ValidPolicy,
}

impl ValidPolicy {
    /// Checks every value and normalizes the sets (required fields,
    /// holidays) to sorted and deduplicated.
    pub fn parse(mut policy: OrgPolicy) -> Result<ValidPolicy, DomainError> {
        check_range(
            "intake_window_days",
            policy.intake_window_days,
            INTAKE_WINDOW_DAYS_MIN,
            INTAKE_WINDOW_DAYS_MAX,
        )?;
        let targets = [
            ("first_response_hours", Some(policy.first_response_hours)),
            ("next_response_hours", Some(policy.next_response_hours)),
            ("resolution_hours", policy.resolution_hours),
        ];
        for (field, hours) in targets {
            if let Some(hours) = hours {
                check_range(field, hours, SLA_HOURS_MIN, SLA_HOURS_MAX)?;
            }
        }
        policy.required_fields.sort_unstable();
        policy.required_fields.dedup();
        check_calendar(&mut policy.calendar)?;
        Ok(ValidPolicy(policy))
    }

    /// The checked policy.
    pub fn policy(&self) -> &OrgPolicy {
        &self.0
    }

    /// The checked policy, by value.
    pub fn into_inner(self) -> OrgPolicy {
        self.0
    }
}

/// Decides a `SetPolicy`: admins only, and an admin of one org only for
/// that org. `ctx.policy` is the org's current policy; setting the same
/// policy again is still recorded (it is a fact with a time and an author).
pub fn decide_policy(command: &SetPolicy, ctx: &Context) -> Result<Vec<Event>, DomainError> {
    Action::SetPolicy.permit(ctx.actor.role)?;
    if let OrgScope::Org(own) = &ctx.actor.org {
        if *own != command.org {
            return Err(DomainError::ForbiddenOrg {
                allowed: own.clone(),
                requested: command.org.clone(),
            });
        }
    }
    Ok(vec![Event::PolicySet(PolicySet {
        org: command.org.clone(),
        policy: command.policy.policy().clone(),
        set_by: Author {
            sub: ctx.actor.sub.clone(),
            role: ctx.actor.role,
        },
    })])
}

/// Folds one event of a `policy-{org}` stream; start from
/// `OrgPolicy::default()`. Other events are ignored.
pub fn apply_policy(policy: OrgPolicy, event: &Event) -> OrgPolicy {
    match event {
        Event::PolicySet(set) => set.policy.clone(),
        _ => policy,
    }
}

fn check_range(field: &'static str, value: u32, min: u32, max: u32) -> Result<(), DomainError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(DomainError::InvalidPolicy {
            field,
            problem: PolicyProblem::OutOfRange {
                value: u64::from(value),
                min: u64::from(min),
                max: u64::from(max),
            },
        })
    }
}

/// A calendar SLA arithmetic can rely on: a known zone, at least one working
/// day with at least one working interval (else no budget is ever spent and
/// a due time never comes), intervals inside the day, sorted and disjoint,
/// and no more holidays than `calendar::HOLIDAYS_MAX` (the bound the walk in
/// `calendar` relies on). `BusinessCalendar::from_spec` builds calendars
/// that pass; this checks again because a `ValidPolicy` may be built from a
/// calendar made any other way.
fn check_calendar(calendar: &mut BusinessCalendar) -> Result<(), DomainError> {
    let invalid = |field, problem| DomainError::InvalidPolicy { field, problem };
    // The bundled database, not the system's: the answer must not depend on
    // the machine (and reading /usr/share/zoneinfo would be I/O).
    let zone = jiff::tz::TimeZoneDatabase::bundled()
        .get(&calendar.timezone)
        .map_err(|_| {
            invalid(
                "calendar.timezone",
                PolicyProblem::UnknownTimeZone {
                    name: calendar.timezone.clone(),
                },
            )
        })?;
    if let Some(name) = zone.iana_name() {
        calendar.timezone = name.to_owned();
    }
    if calendar.working_days == 0 {
        return Err(invalid(
            "calendar.working_days",
            PolicyProblem::NoWorkingDay,
        ));
    }
    if calendar.working_days > 0b0111_1111 {
        return Err(invalid(
            "calendar.working_days",
            PolicyProblem::UnknownWorkingDay,
        ));
    }
    if calendar.hours.is_empty() {
        return Err(invalid("calendar.hours", PolicyProblem::NoWorkingHours));
    }
    check_count(
        "calendar.hours",
        calendar.hours.len(),
        calendar::INTERVALS_MAX,
    )?;
    for hours in &calendar.hours {
        if hours.start_minute >= hours.end_minute || hours.end_minute > MINUTES_PER_DAY {
            return Err(invalid(
                "calendar.hours",
                PolicyProblem::BadInterval {
                    start_minute: hours.start_minute,
                    end_minute: hours.end_minute,
                },
            ));
        }
    }
    // Touching intervals (`09:00-12:00,12:00-18:00`) are allowed.
    let sorted_and_disjoint = calendar
        .hours
        .windows(2)
        .all(|pair| pair[0].end_minute <= pair[1].start_minute);
    if !sorted_and_disjoint {
        return Err(invalid(
            "calendar.hours",
            PolicyProblem::OverlappingIntervals,
        ));
    }
    calendar.holidays.sort_unstable();
    calendar.holidays.dedup();
    check_count(
        "calendar.holidays",
        calendar.holidays.len(),
        calendar::HOLIDAYS_MAX,
    )
}

const MINUTES_PER_DAY: u16 = 24 * 60;

fn check_count(field: &'static str, count: usize, max: usize) -> Result<(), DomainError> {
    if count <= max {
        Ok(())
    } else {
        Err(DomainError::InvalidPolicy {
            field,
            problem: PolicyProblem::TooMany { count, max },
        })
    }
}
