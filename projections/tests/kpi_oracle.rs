//! KPIs against a brute-force oracle: random histories (several orgs and
//! categories, comments by both sides, escalations, refunds in two
//! currencies, closes, follow-ups, policy changes with different calendars,
//! minutes to days apart over several weeks); every KPI row the read models
//! give must equal the oracle's.
//!
//! The oracle shares no code with the projection: it walks the raw events
//! of the generated history with its own state, and counts business time
//! minute by minute on its own copy of each calendar (UTC, whole-minute
//! event times), instead of `docket_domain::calendar`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proptest::prelude::*;
use time::{Date, Duration, OffsetDateTime, Weekday};

use common::*;
use docket_domain::calendar::{BusinessCalendar, CalendarSpec};
use docket_domain::policy::OrgPolicy;
use docket_domain::types::{Role, TicketId, Visibility};
use docket_projections::{KpiBucket, KpiGrouping, KpiQuery, KpiRow};

const ORGS: [&str; 3] = ["acme", "bolt", "cyan"];
const CATEGORIES: [&str; 3] = ["billing", "delivery", "damage"];
const CURRENCIES: [&str; 2] = ["EUR", "USD"];

/// A calendar as the oracle sees it.
#[derive(Debug, Clone)]
struct OracleCalendar {
    /// Bit n = working day, n days after Monday.
    working_days: u8,
    /// Minutes after midnight, `[start, end)`.
    hours: Vec<(u32, u32)>,
    holidays: BTreeSet<Date>,
}

#[derive(Debug, Clone)]
struct OraclePolicy {
    first_response_minutes: i64,
    calendar: OracleCalendar,
}

impl OracleCalendar {
    fn is_business_minute(&self, minute: i64) -> bool {
        let at = OffsetDateTime::UNIX_EPOCH + Duration::minutes(minute);
        let day_bit = 1u8 << at.weekday().number_days_from_monday();
        let minute_of_day = (minute.rem_euclid(1_440)) as u32;
        self.working_days & day_bit != 0
            && !self.holidays.contains(&at.date())
            && self
                .hours
                .iter()
                .any(|(start, end)| *start <= minute_of_day && minute_of_day < *end)
    }

    /// Business minutes in `[from, to)`.
    fn between(&self, from: i64, to: i64) -> i64 {
        (from..to).filter(|m| self.is_business_minute(*m)).count() as i64
    }

    /// The earliest minute `t >= from` with `between(from, t) >= budget`.
    fn add(&self, from: i64, budget: i64) -> i64 {
        let mut minute = from;
        let mut counted = 0;
        while counted < budget {
            if self.is_business_minute(minute) {
                counted += 1;
            }
            minute += 1;
            assert!(
                minute - from < 60 * 24 * 400,
                "calendar without business time"
            );
        }
        minute
    }
}

/// The oracle's first-response clock of one ticket.
#[derive(Debug, Clone)]
enum Clock {
    Running { since: i64, used: i64 },
    Paused { used: i64 },
    Met { due: i64 },
    Breached { due: i64 },
    Cancelled,
}

#[derive(Debug, Clone)]
struct OracleTicket {
    org: &'static str,
    category: &'static str,
    opened: i64,
    closed: Option<i64>,
    first_response: Option<i64>,
    waiting: bool,
    escalated: bool,
    budget: i64,
    calendar: OracleCalendar,
    clock: Clock,
}

impl OracleTicket {
    fn due(&self) -> Option<i64> {
        match self.clock {
            Clock::Running { since, used } => Some(self.calendar.add(since, self.budget - used)),
            _ => None,
        }
    }

    /// Records a breach that happened strictly before `t`.
    fn advance(&mut self, t: i64) {
        if let Some(due) = self.due() {
            if t > due {
                self.clock = Clock::Breached { due };
            }
        }
    }

    fn pause(&mut self, t: i64) {
        if let Clock::Running { since, used } = self.clock {
            self.clock = Clock::Paused {
                used: used + self.calendar.between(since, t),
            };
        }
    }

    fn answer(&mut self, t: i64) {
        self.clock = match self.clock {
            Clock::Running { since, used } => {
                let used = used + self.calendar.between(since, t);
                Clock::Met {
                    due: self.calendar.add(t, self.budget - used),
                }
            }
            Clock::Paused { used } => Clock::Met {
                due: self.calendar.add(t, self.budget - used),
            },
            ref other => other.clone(),
        };
    }
}

/// What the history generator decides, step by step.
#[derive(Debug, Clone)]
struct Step {
    gap_minutes: u32,
    action: u8,
    pick: u8,
    choice: u8,
    amount: u32,
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![0u32..10, 10u32..600, 600u32..3_000],
        0u8..100,
        any::<u8>(),
        any::<u8>(),
        1u32..5_000,
    )
        .prop_map(|(gap_minutes, action, pick, choice, amount)| Step {
            gap_minutes,
            action,
            pick,
            choice,
            amount,
        })
}

fn calendar_choice(choice: u8) -> (Vec<&'static str>, &'static str, Vec<&'static str>) {
    let days = match choice % 3 {
        0 => vec!["mon", "tue", "wed", "thu", "fri"],
        1 => vec!["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        _ => vec!["mon", "wed", "fri"],
    };
    let hours = match (choice / 3) % 4 {
        0 => "00:00-24:00",
        1 => "09:00-17:00",
        2 => "08:00-12:00,13:00-18:00",
        _ => "22:00-24:00",
    };
    let holidays = match (choice / 12) % 3 {
        0 => vec![],
        1 => vec!["2026-01-06"],
        _ => vec!["2026-01-13", "2026-01-20"],
    };
    (days, hours, holidays)
}

fn oracle_calendar(days: &[&str], hours: &str, holidays: &[&str]) -> OracleCalendar {
    let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let working_days = days
        .iter()
        .map(|d| 1u8 << names.iter().position(|n| n == d).expect("day"))
        .fold(0, |a, b| a | b);
    let minutes = |hhmm: &str| {
        let (h, m) = hhmm.split_once(':').expect("HH:MM");
        h.parse::<u32>().expect("hour") * 60 + m.parse::<u32>().expect("minute")
    };
    let hours = hours
        .split(',')
        .map(|range| {
            let (start, end) = range.split_once('-').expect("range");
            (minutes(start), minutes(end))
        })
        .collect();
    let holidays = holidays
        .iter()
        .map(|d| docket_domain::types::date::parse(d).expect("date"))
        .collect();
    OracleCalendar {
        working_days,
        hours,
        holidays,
    }
}

/// The generated history: the log, and the oracle's view of it.
struct History {
    log: Log,
    /// Every counted fact, as the oracle derives it: (org, category, minute, fact).
    facts: Vec<(&'static str, &'static str, i64, Fact)>,
    tickets: Vec<(TicketId, OracleTicket)>,
    last_minute: i64,
}

#[derive(Debug, Clone)]
enum Fact {
    Opened,
    Closed,
    Escalated,
    FollowUp,
    Refund(&'static str, u64),
    FirstResponse(i64),
    Resolution(i64),
}

fn minute_of(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp()).div_euclid(60)
}

fn build(steps: &[Step]) -> History {
    let start = at("2026-01-05T00:00:00Z"); // a Monday
    let mut log = Log::new();
    let mut now = start;
    let mut policies: HashMap<&'static str, OraclePolicy> = ORGS
        .iter()
        .map(|org| {
            (
                *org,
                OraclePolicy {
                    first_response_minutes: 48 * 60,
                    calendar: oracle_calendar(
                        &["mon", "tue", "wed", "thu", "fri"],
                        "00:00-24:00",
                        &[],
                    ),
                },
            )
        })
        .collect();
    let mut tickets: Vec<(TicketId, OracleTicket, Option<&'static str>)> = Vec::new();
    let mut facts = Vec::new();
    for step in steps {
        now += Duration::minutes(i64::from(step.gap_minutes));
        let t = minute_of(now);
        let open_tickets: Vec<usize> = (0..tickets.len())
            .filter(|i| tickets[*i].1.closed.is_none())
            .collect();
        let closed_tickets: Vec<usize> = (0..tickets.len())
            .filter(|i| tickets[*i].1.closed.is_some())
            .collect();
        let action = if tickets.is_empty() { 0 } else { step.action };
        match action {
            // Open a ticket.
            0..=17 => {
                let org = ORGS[usize::from(step.pick) % ORGS.len()];
                let category = CATEGORIES[usize::from(step.choice) % CATEGORIES.len()];
                let currency = CURRENCIES[usize::from(step.choice / 3) % 2];
                let order = (step.choice % 2 == 0).then_some(("O-1", 100_000, currency));
                let ticket = log.open_with(now, org, category, order, None);
                let policy = &policies[org];
                tickets.push((
                    ticket,
                    OracleTicket {
                        org,
                        category,
                        opened: t,
                        closed: None,
                        first_response: None,
                        waiting: false,
                        escalated: false,
                        budget: policy.first_response_minutes,
                        calendar: policy.calendar.clone(),
                        clock: Clock::Running { since: t, used: 0 },
                    },
                    order.map(|(_, _, c)| c),
                ));
                facts.push((org, category, t, Fact::Opened));
            }
            // A comment by the customer, an agent or support.
            18..=59 if !open_tickets.is_empty() => {
                let index = open_tickets[usize::from(step.pick) % open_tickets.len()];
                let role =
                    [Role::Customer, Role::Agent, Role::Support][usize::from(step.choice) % 3];
                let visibility = if step.choice / 3 % 4 == 0 {
                    Visibility::Internal
                } else {
                    Visibility::Public
                };
                let (id, ticket, _) = &mut tickets[index];
                log.comment(now, *id, role, visibility);
                ticket.advance(t);
                if visibility == Visibility::Public {
                    if role == Role::Customer {
                        if ticket.waiting {
                            if let Clock::Paused { used } = ticket.clock {
                                ticket.clock = Clock::Running { since: t, used };
                            }
                        }
                        ticket.waiting = false;
                    } else {
                        if ticket.first_response.is_none() {
                            ticket.first_response = Some(t);
                            facts.push((
                                ticket.org,
                                ticket.category,
                                t,
                                Fact::FirstResponse((t - ticket.opened) * 60),
                            ));
                        }
                        ticket.answer(t);
                        ticket.waiting = true;
                    }
                }
            }
            // Escalate.
            60..=67 if !open_tickets.is_empty() => {
                let index = open_tickets[usize::from(step.pick) % open_tickets.len()];
                let (id, ticket, _) = &mut tickets[index];
                if !ticket.escalated {
                    log.escalate(now, *id);
                    ticket.advance(t);
                    ticket.pause(t);
                    ticket.escalated = true;
                    ticket.waiting = true;
                    facts.push((ticket.org, ticket.category, t, Fact::Escalated));
                }
            }
            // Refund.
            68..=77 if !open_tickets.is_empty() => {
                let index = open_tickets[usize::from(step.pick) % open_tickets.len()];
                let (id, ticket, currency) = &mut tickets[index];
                if let Some(currency) = *currency {
                    let amount = u64::from(step.amount);
                    log.refund(now, *id, amount, currency);
                    ticket.advance(t);
                    facts.push((
                        ticket.org,
                        ticket.category,
                        t,
                        Fact::Refund(currency, amount),
                    ));
                }
            }
            // Close.
            78..=89 if !open_tickets.is_empty() => {
                let index = open_tickets[usize::from(step.pick) % open_tickets.len()];
                let (id, ticket, _) = &mut tickets[index];
                log.close(now, *id);
                ticket.advance(t);
                if matches!(ticket.clock, Clock::Running { .. } | Clock::Paused { .. }) {
                    ticket.clock = Clock::Cancelled;
                }
                ticket.closed = Some(t);
                facts.push((ticket.org, ticket.category, t, Fact::Closed));
                facts.push((
                    ticket.org,
                    ticket.category,
                    t,
                    Fact::Resolution((t - ticket.opened) * 60),
                ));
            }
            // A follow-up of a closed ticket, maybe with another category.
            90..=95 if !closed_tickets.is_empty() => {
                let index = closed_tickets[usize::from(step.pick) % closed_tickets.len()];
                let (parent, parent_ticket, currency) = tickets[index].clone();
                let category = if step.choice % 2 == 0 {
                    parent_ticket.category
                } else {
                    CATEGORIES[usize::from(step.choice / 2) % CATEGORIES.len()]
                };
                let child = log.follow_up(now, parent, parent_ticket.org, category);
                facts.push((parent_ticket.org, parent_ticket.category, t, Fact::FollowUp));
                facts.push((parent_ticket.org, category, t, Fact::Opened));
                let policy = &policies[parent_ticket.org];
                tickets.push((
                    child,
                    OracleTicket {
                        org: parent_ticket.org,
                        category,
                        opened: t,
                        closed: None,
                        first_response: None,
                        waiting: false,
                        escalated: false,
                        budget: policy.first_response_minutes,
                        calendar: policy.calendar.clone(),
                        clock: Clock::Running { since: t, used: 0 },
                    },
                    None,
                ));
                let _ = currency;
            }
            // A policy change.
            96..=99 => {
                let org = ORGS[usize::from(step.pick) % ORGS.len()];
                let (days, hours, holidays) = calendar_choice(step.choice);
                let first_hours = 1 + u32::from(step.choice % 5) * 3;
                let policy = OrgPolicy {
                    first_response_hours: first_hours,
                    next_response_hours: 2,
                    resolution_hours: (step.choice % 2 == 0).then_some(24),
                    calendar: BusinessCalendar::from_spec(&CalendarSpec {
                        timezone: None,
                        working_days: Some(days.iter().map(|d| (*d).to_owned()).collect()),
                        hours: Some(hours.to_owned()),
                        holidays: Some(holidays.iter().map(|d| (*d).to_owned()).collect()),
                    })
                    .expect("valid calendar"),
                    ..OrgPolicy::default()
                };
                log.policy(now, org, policy);
                policies.insert(
                    org,
                    OraclePolicy {
                        first_response_minutes: i64::from(first_hours) * 60,
                        calendar: oracle_calendar(&days, hours, &holidays),
                    },
                );
            }
            _ => {}
        }
    }
    History {
        log,
        facts,
        tickets: tickets.into_iter().map(|(id, t, _)| (id, t)).collect(),
        last_minute: minute_of(now),
    }
}

fn bucket_of(day: Date, bucket: KpiBucket) -> Date {
    match bucket {
        KpiBucket::Day => day,
        KpiBucket::Week => {
            let mut d = day;
            while d.weekday() != Weekday::Monday {
                d = d.previous_day().expect("in range");
            }
            d
        }
        KpiBucket::Month => Date::from_calendar_date(day.year(), day.month(), 1).expect("valid"),
    }
}

fn day_of_minute(minute: i64) -> Date {
    (OffsetDateTime::UNIX_EPOCH + Duration::minutes(minute)).date()
}

fn percentile(samples: &mut [i64], percent: usize) -> Option<i64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = ((percent * samples.len()) as f64 / 100.0).ceil() as usize;
    Some(samples[rank.max(1) - 1])
}

/// The oracle: every KPI row of `query` at minute `now`, from the facts.
fn oracle(history: &History, query: &KpiQuery, now_minute: i64) -> Vec<KpiRow> {
    let orgs: BTreeSet<&str> = match &query.org {
        Some(org) => [org.as_str()].into_iter().collect(),
        None => history.tickets.iter().map(|(_, t)| t.org).collect(),
    };
    let mut buckets = Vec::new();
    let mut day = query.from;
    while day <= query.to {
        let bucket = bucket_of(day, query.bucket);
        if buckets.last() != Some(&bucket) {
            buckets.push(bucket);
        }
        day = day.next_day().expect("in range");
    }
    let next_bucket = |start: Date| {
        let mut d = start;
        while bucket_of(d, query.bucket) == start {
            d = d.next_day().expect("in range");
        }
        d
    };
    let minute_of_date = |d: Date| minute_of(d.midnight().assume_utc());
    let mut rows = Vec::new();
    for org in orgs {
        let groups: Vec<Option<&str>> = if query.grouping == KpiGrouping::ByReason {
            history
                .tickets
                .iter()
                .filter(|(_, t)| t.org == org)
                .map(|(_, t)| Some(t.category))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            vec![None]
        };
        for group in &groups {
            let in_group = |o: &str, c: &str| o == org && group.is_none_or(|g| g == c);
            for bucket in &buckets {
                let end = next_bucket(*bucket);
                let (lo, hi) = (minute_of_date(*bucket), minute_of_date(end));
                let in_bucket = |m: i64| lo <= m && m < hi;
                let mut row = KpiRow {
                    bucket: *bucket,
                    org: org_id(org),
                    reason: group.map(str::to_owned),
                    opened: 0,
                    closed: 0,
                    escalated: 0,
                    follow_ups: 0,
                    refunds: BTreeMap::new(),
                    first_response_p50_s: None,
                    first_response_p90_s: None,
                    resolution_p50_s: None,
                    resolution_p90_s: None,
                    sla_met: 0,
                    sla_breached: 0,
                    sla_compliance: None,
                    backlog_end: 0,
                };
                let mut first = Vec::new();
                let mut resolution = Vec::new();
                for (o, c, m, fact) in &history.facts {
                    if !in_group(o, c) || !in_bucket(*m) {
                        continue;
                    }
                    match fact {
                        Fact::Opened => row.opened += 1,
                        Fact::Closed => row.closed += 1,
                        Fact::Escalated => row.escalated += 1,
                        Fact::FollowUp => row.follow_ups += 1,
                        Fact::Refund(currency, amount) => {
                            let total = row.refunds.entry((*currency).to_owned()).or_default();
                            total.count += 1;
                            total.amount_minor += amount;
                        }
                        Fact::FirstResponse(s) => first.push(*s),
                        Fact::Resolution(s) => resolution.push(*s),
                    }
                }
                row.first_response_p50_s = percentile(&mut first, 50);
                row.first_response_p90_s = percentile(&mut first, 90);
                row.resolution_p50_s = percentile(&mut resolution, 50);
                row.resolution_p90_s = percentile(&mut resolution, 90);
                for (_, ticket) in &history.tickets {
                    if !in_group(ticket.org, ticket.category) {
                        continue;
                    }
                    if ticket.opened < hi && ticket.closed.is_none_or(|c| c >= hi) {
                        row.backlog_end += 1;
                    }
                    let mut ticket = ticket.clone();
                    ticket.advance(now_minute);
                    match ticket.clock {
                        Clock::Met { due } if in_bucket(due) => row.sla_met += 1,
                        Clock::Breached { due } if in_bucket(due) => row.sla_breached += 1,
                        _ => {}
                    }
                }
                let decided = row.sla_met + row.sla_breached;
                row.sla_compliance = (decided > 0).then(|| row.sla_met as f64 / decided as f64);
                rows.push(row);
            }
        }
    }
    rows.sort_by(|a, b| {
        (a.org.as_str(), a.bucket, &a.reason).cmp(&(b.org.as_str(), b.bucket, &b.reason))
    });
    rows
}

fn sorted(mut rows: Vec<KpiRow>) -> Vec<KpiRow> {
    rows.sort_by(|a, b| {
        (a.org.as_str(), a.bucket, &a.reason).cmp(&(b.org.as_str(), b.bucket, &b.reason))
    });
    rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn kpi_rows_equal_a_brute_force_pass(
        steps in prop::collection::vec(step(), 20..90),
        bucket in prop_oneof![Just(KpiBucket::Day), Just(KpiBucket::Week), Just(KpiBucket::Month)],
        by_reason in any::<bool>(),
        one_org in any::<bool>(),
        from_offset in 0i64..20,
        span in 0i64..45,
        now_extra_minutes in 0i64..20_000,
        commit_events in prop_oneof![Just(usize::MAX), 1usize..8],
    ) {
        let history = build(&steps);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (_dir, views) = temp_views();
        // One commit, or many small ones (a day's samples in many values).
        runtime.block_on(apply_in_commits_of(&views, &history.log, commit_events));
        let from = at("2026-01-05T00:00:00Z").date() + Duration::days(from_offset);
        let query = KpiQuery {
            org: one_org.then(|| org_id(ORGS[0])),
            from,
            to: from + Duration::days(span),
            bucket,
            grouping: if by_reason { KpiGrouping::ByReason } else { KpiGrouping::ByOrg },
        };
        let now_minute = history.last_minute + now_extra_minutes;
        let now = OffsetDateTime::UNIX_EPOCH + Duration::minutes(now_minute);
        let got = sorted(views.kpis(&query, now).expect("kpis"));
        let want = oracle(&history, &query, now_minute);
        prop_assert_eq!(got.len(), want.len());
        for (got, want) in got.iter().zip(&want) {
            prop_assert_eq!(got, want);
        }
        // And over the whole history, day by day, at the last event.
        let everything = KpiQuery {
            org: None,
            from: at("2026-01-05T00:00:00Z").date(),
            to: day_of_minute(history.last_minute),
            bucket: KpiBucket::Day,
            grouping: KpiGrouping::ByReason,
        };
        let now = OffsetDateTime::UNIX_EPOCH + Duration::minutes(history.last_minute);
        let got = sorted(views.kpis(&everything, now).expect("kpis"));
        let want = oracle(&history, &everything, history.last_minute);
        prop_assert_eq!(got, want);
    }
}
