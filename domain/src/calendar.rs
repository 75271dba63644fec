//! Business time on an org's calendar: an IANA time zone (with its DST
//! changes), working days, working hours and holidays. SLA budgets are counted
//! in business seconds on such a calendar.
//!
//! # The model
//! An instant is business time when its local wall-clock time (in the
//! calendar's zone) falls on a working day that is not a holiday, inside one
//! of the working intervals `[start, end)` of that day. Nothing else: working
//! hours are wall-clock, so `00:00-24:00` on a 23-hour spring-forward day is
//! 23 business hours and on a 25-hour fall-back day 25. An opening inside a
//! DST gap (02:30 when clocks jump from 02:00 to 03:00) opens at the first
//! wall time that exists (03:00); hours inside a repeated hour count both
//! times they happen.
//!
//! `add(from, s)` is the earliest instant `t >= from` with
//! `between(from, t) >= s`: a start outside hours counts from the next
//! opening, and a budget that runs out exactly at a closing time is due at
//! that closing time, not at the next opening.
//!
//! # Cost
//! The walk goes segment by segment, a segment being a stretch of one local
//! date at one UTC offset (one or two per day). Between two irregularities (a
//! DST transition or a holiday) every 7 days hold exactly the calendar's
//! weekly business time, so whole weeks are skipped arithmetically: a budget
//! of a year on Europe/Rome costs ~2 transitions × ~7 days of segments, a
//! few dozen steps. The walk gives up (no due time) after
//! [`IDLE_DAYS_MAX`] days without any business time, which a validated
//! calendar can never reach (see [`HOLIDAYS_MAX`]).

use std::cell::RefCell;
use std::cmp::{max, min};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::DomainError;

/// At most this many working intervals a day.
pub const INTERVALS_MAX: usize = 24;
/// At most this many holidays in a calendar. Any [`IDLE_DAYS_MAX`] days hold
/// at least 522 working days of a calendar that works one day a week; 500
/// holidays, plus at most one DST gap a year swallowing a day's hours, cannot
/// block them all, so a validated calendar always finds its next working time.
pub const HOLIDAYS_MAX: usize = 500;
/// The walk looking for business time gives up after this many days (ten
/// years) without any; only an unvalidated calendar can get there.
pub const IDLE_DAYS_MAX: i64 = 3660;

/// Working hours of a day, in minutes after local midnight: `[start, end)`,
/// half-open, `end` may be 1440 (`24:00`). Non-empty, non-overlapping, sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkingHours {
    pub start_minute: u16,
    pub end_minute: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BusinessCalendar {
    /// An IANA zone name known to the bundled tz database (e.g. `Europe/Rome`).
    pub timezone: String,
    /// Bit `n` set = working day, `n` = days from Monday (0 = Monday .. 6 = Sunday).
    pub working_days: u8,
    /// The working intervals of each working day, sorted and disjoint.
    pub hours: Vec<WorkingHours>,
    /// Local dates on which nobody works; sorted, without duplicates.
    #[serde(with = "holiday_dates")]
    pub holidays: Vec<Date>,
}

/// The contract's `calendar` object of an org policy, as the API receives
/// and shows it. Every part is optional on input (absent = the contract's
/// default); [`BusinessCalendar::to_spec`] fills every part.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA name, default `"UTC"`.
    pub timezone: Option<String>,
    /// `mon`..`sun` or `monday`..`sunday`, any case; default Monday to Friday.
    pub working_days: Option<Vec<String>>,
    /// `"HH:MM-HH:MM"`, or several joined by commas; default `"00:00-24:00"`.
    pub hours: Option<String>,
    /// `YYYY-MM-DD` local dates.
    pub holidays: Option<Vec<String>>,
}

/// Why a calendar was refused; carried by `DomainError::InvalidPolicy`
/// (field `calendar`) as `PolicyProblem::Calendar`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarProblem {
    #[error("timezone {name:?} is not an IANA time zone name (e.g. \"Europe/Rome\")")]
    UnknownTimezone { name: String },
    #[error("working day {name:?} is not a day name (mon..sun or monday..sunday)")]
    UnknownWorkingDay { name: String },
    #[error("working_days is empty: a calendar needs some working time every week")]
    NoWorkingDays,
    #[error("hours {text:?} {problem}")]
    InvalidHours { text: String, problem: HoursProblem },
    #[error("holiday {text:?} is not a date (YYYY-MM-DD)")]
    InvalidHoliday { text: String },
    #[error("{count} holidays given; at most {max} are allowed")]
    TooManyHolidays { count: usize, max: usize },
}

/// What is wrong with a working-hours text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursProblem {
    Empty,
    /// Not `HH:MM-HH:MM`.
    Syntax,
    /// An hour past 23 (other than an ending `24:00`) or a minute past 59.
    TimeOutOfRange,
    /// The interval does not end after it starts.
    EmptyInterval,
    Overlapping,
    TooMany,
}

impl fmt::Display for HoursProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoursProblem::Empty => f.write_str("is empty; expected \"HH:MM-HH:MM\""),
            HoursProblem::Syntax => {
                f.write_str("is not \"HH:MM-HH:MM\" (several joined by commas)")
            }
            HoursProblem::TimeOutOfRange => f.write_str(
                "has a time out of range: hours 00..23 (24:00 only as an end), minutes 00..59",
            ),
            HoursProblem::EmptyInterval => {
                f.write_str("has an interval that does not end after it starts")
            }
            HoursProblem::Overlapping => f.write_str("has intervals that overlap"),
            HoursProblem::TooMany => write!(f, "has more than {INTERVALS_MAX} intervals"),
        }
    }
}

impl Default for BusinessCalendar {
    /// The contract's default: UTC, Monday to Friday, all day.
    fn default() -> Self {
        BusinessCalendar {
            timezone: "UTC".to_owned(),
            working_days: 0b0001_1111,
            hours: vec![WorkingHours {
                start_minute: 0,
                end_minute: 24 * 60,
            }],
            holidays: Vec::new(),
        }
    }
}

impl WorkingHours {
    /// Parses `"HH:MM-HH:MM"` or several such intervals joined by commas
    /// (spaces around them allowed), in any order; returns them sorted.
    /// Intervals must be non-empty and must not overlap (touching is fine).
    pub fn parse_list(text: &str) -> Result<Vec<WorkingHours>, DomainError> {
        let invalid = |text: &str, problem| {
            DomainError::from(CalendarProblem::InvalidHours {
                text: text.to_owned(),
                problem,
            })
        };
        if text.trim().is_empty() {
            return Err(invalid(text, HoursProblem::Empty));
        }
        let mut hours = Vec::new();
        for piece in text.split(',') {
            if hours.len() == INTERVALS_MAX {
                return Err(invalid(text, HoursProblem::TooMany));
            }
            hours.push(
                WorkingHours::parse(piece.trim())
                    .map_err(|problem| invalid(piece.trim(), problem))?,
            );
        }
        hours.sort_by_key(|h| h.start_minute);
        if hours
            .windows(2)
            .any(|pair| pair[1].start_minute < pair[0].end_minute)
        {
            return Err(invalid(text, HoursProblem::Overlapping));
        }
        Ok(hours)
    }

    /// The inverse of [`WorkingHours::parse_list`].
    pub fn format_list(hours: &[WorkingHours]) -> String {
        let texts: Vec<String> = hours.iter().map(WorkingHours::to_string).collect();
        texts.join(",")
    }

    fn parse(text: &str) -> Result<WorkingHours, HoursProblem> {
        let (start, end) = text.split_once('-').ok_or(HoursProblem::Syntax)?;
        let start_minute = parse_clock(start)?;
        let end_minute = parse_clock(end)?;
        if start_minute == 24 * 60 {
            return Err(HoursProblem::TimeOutOfRange);
        }
        if end_minute <= start_minute {
            return Err(HoursProblem::EmptyInterval);
        }
        Ok(WorkingHours {
            start_minute,
            end_minute,
        })
    }
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start_minute, self.end_minute);
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

impl BusinessCalendar {
    /// Validates the contract's `calendar` parts, filling in the defaults.
    /// The time zone name is stored as the tz database spells it.
    pub fn from_spec(spec: &CalendarSpec) -> Result<BusinessCalendar, DomainError> {
        let defaults = BusinessCalendar::default();
        let timezone = match &spec.timezone {
            None => defaults.timezone,
            Some(name) => canonical_zone_name(name)?,
        };
        let working_days = match &spec.working_days {
            None => defaults.working_days,
            Some(names) => {
                let mut days = 0u8;
                for name in names {
                    days |= 1
                        << parse_weekday(name).ok_or_else(|| {
                            CalendarProblem::UnknownWorkingDay { name: name.clone() }
                        })?;
                }
                if days == 0 {
                    return Err(CalendarProblem::NoWorkingDays.into());
                }
                days
            }
        };
        let hours = match &spec.hours {
            None => defaults.hours,
            Some(text) => WorkingHours::parse_list(text)?,
        };
        let mut holidays = Vec::new();
        for text in spec.holidays.iter().flatten() {
            let date = crate::types::date::parse(text)
                .ok_or_else(|| CalendarProblem::InvalidHoliday { text: text.clone() })?;
            holidays.push(date);
        }
        holidays.sort();
        holidays.dedup();
        if holidays.len() > HOLIDAYS_MAX {
            return Err(CalendarProblem::TooManyHolidays {
                count: holidays.len(),
                max: HOLIDAYS_MAX,
            }
            .into());
        }
        Ok(BusinessCalendar {
            timezone,
            working_days,
            hours,
            holidays,
        })
    }

    /// The calendar as the contract's JSON parts, every part filled in:
    /// working days as `mon`..`sun` in week order, hours joined by commas,
    /// holidays sorted. `from_spec(&c.to_spec()) == Ok(c)` for a valid `c`.
    pub fn to_spec(&self) -> CalendarSpec {
        CalendarSpec {
            timezone: Some(self.timezone.clone()),
            working_days: Some(
                (0..7)
                    .filter(|day| self.working_days & (1 << day) != 0)
                    .map(|day| WEEKDAY_NAMES[day].to_owned())
                    .collect(),
            ),
            hours: Some(WorkingHours::format_list(&self.hours)),
            holidays: Some(
                self.holidays
                    .iter()
                    .map(|d| crate::types::date::format(*d))
                    .collect(),
            ),
        }
    }

    /// Business time in `[from, to)`, in nanoseconds; 0 when `to <= from`.
    pub fn business_nanos_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> i128 {
        match Schedule::of(self) {
            Some(schedule) => {
                schedule.between(from.unix_timestamp_nanos(), to.unix_timestamp_nanos())
            }
            None => 0,
        }
    }

    /// Whole business seconds in `[from, to)` (rounded down); 0 when `to <= from`.
    pub fn business_seconds_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> i64 {
        nanos_to_seconds_floor(self.business_nanos_between(from, to))
    }

    /// The earliest instant `t >= from` with
    /// `business_nanos_between(from, t) >= nanos` (so `from` itself when
    /// `nanos <= 0`). `None` when the
    /// calendar cannot be used (unknown zone, no working time: only possible
    /// for a calendar that bypassed [`BusinessCalendar::from_spec`]), or the
    /// result would lie past the year 9999.
    pub fn add_business_nanos(&self, from: OffsetDateTime, nanos: i128) -> Option<OffsetDateTime> {
        if nanos <= 0 {
            return Some(from);
        }
        let due = Schedule::of(self)?.add(from.unix_timestamp_nanos(), nanos)?;
        OffsetDateTime::from_unix_timestamp_nanos(due).ok()
    }

    /// [`BusinessCalendar::add_business_nanos`] in whole seconds.
    pub fn add_business_seconds(
        &self,
        from: OffsetDateTime,
        seconds: i64,
    ) -> Option<OffsetDateTime> {
        self.add_business_nanos(from, i128::from(seconds) * NANOS_PER_SECOND)
    }
}

/// Whole seconds, rounded towards minus infinity, saturating.
pub(crate) fn nanos_to_seconds_floor(nanos: i128) -> i64 {
    let seconds = nanos.div_euclid(NANOS_PER_SECOND);
    i64::try_from(seconds).unwrap_or(if seconds < 0 { i64::MIN } else { i64::MAX })
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_MINUTE: i128 = 60 * NANOS_PER_SECOND;
const NANOS_PER_DAY: i128 = 24 * 60 * NANOS_PER_MINUTE;
const NANOS_PER_WEEK: i128 = 7 * NANOS_PER_DAY;
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const WEEKDAY_LONG_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn parse_weekday(name: &str) -> Option<usize> {
    let name = name.to_ascii_lowercase();
    (0..7).find(|&day| name == WEEKDAY_NAMES[day] || name == WEEKDAY_LONG_NAMES[day])
}

/// `HH:MM` with two digits each; `24:00` is allowed (callers refuse it as a start).
fn parse_clock(text: &str) -> Result<u16, HoursProblem> {
    let bytes = text.as_bytes();
    let digit = |i: usize| -> Result<u16, HoursProblem> {
        match bytes.get(i) {
            Some(b) if b.is_ascii_digit() => Ok(u16::from(b - b'0')),
            _ => Err(HoursProblem::Syntax),
        }
    };
    if bytes.len() != 5 || bytes[2] != b':' {
        return Err(HoursProblem::Syntax);
    }
    let hour = digit(0)? * 10 + digit(1)?;
    let minute = digit(3)? * 10 + digit(4)?;
    match (hour, minute) {
        (24, 0) => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(hour * 60 + minute),
        _ => Err(HoursProblem::TimeOutOfRange),
    }
}

/// The bundled tz database only: the same answer on every machine, and no
/// file system read from the domain.
fn lookup_zone(name: &str) -> Option<TimeZone> {
    TimeZoneDatabase::bundled()
        .get(name)
        .ok()
        .filter(|zone| !zone.is_unknown())
}

fn canonical_zone_name(name: &str) -> Result<String, CalendarProblem> {
    let zone = lookup_zone(name).ok_or_else(|| CalendarProblem::UnknownTimezone {
        name: name.to_owned(),
    })?;
    Ok(zone.iana_name().unwrap_or(name).to_owned())
}

/// A calendar prepared for the walk. Built from any `BusinessCalendar`, even
/// one that bypassed validation: intervals are clamped to the day, sorted and
/// merged, so the walk never counts an instant twice.
struct Schedule {
    zone: TimeZone,
    /// Bit 0 = Monday.
    working_days: u8,
    /// Nanoseconds after local midnight, `[start, end)`, sorted, disjoint.
    intervals: Vec<(i128, i128)>,
    /// Days since 1970-01-01 (local dates), sorted.
    holidays: Vec<i64>,
    /// Business time in any 7 days without a holiday or an offset change.
    weekly_nanos: i128,
}

/// A stretch of time on one local date at one UTC offset: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// Local date, in days since 1970-01-01.
    day: i64,
    /// The instant this segment's offset maps to local midnight of `day`.
    midnight: i128,
    end: i128,
    offset: i128,
    /// The next instant at which the offset may change.
    next_transition: Option<i128>,
}

// foldhash, not SipHash: hashing a calendar with SipHash cost as much as
// preparing its schedule.
type ScheduleMemo = HashMap<BusinessCalendar, Option<Rc<Schedule>>, foldhash::fast::RandomState>;

/// Calendars a thread remembers prepared, at most; then it starts over.
const SCHEDULES_REMEMBERED: usize = 256;

thread_local! {
    /// Prepared schedules by calendar. Preparing one looks the zone up by
    /// name in the bundled database and sorts hours and holidays, and
    /// folding one SLA clock event prepares its calendar several times:
    /// ~10% of a read-model rebuild's fold went there. Orgs are few, so
    /// their calendars are too. A memo of a pure function: no result
    /// depends on it.
    static SCHEDULES: RefCell<ScheduleMemo> = RefCell::new(ScheduleMemo::default());
}

impl Schedule {
    /// The calendar's schedule, prepared once per thread.
    fn of(calendar: &BusinessCalendar) -> Option<Rc<Schedule>> {
        SCHEDULES.with(|schedules| {
            let mut schedules = schedules.borrow_mut();
            if let Some(schedule) = schedules.get(calendar) {
                return schedule.clone();
            }
            if schedules.len() >= SCHEDULES_REMEMBERED {
                schedules.clear();
            }
            let schedule = Schedule::new(calendar).map(Rc::new);
            schedules.insert(calendar.clone(), schedule.clone());
            schedule
        })
    }

    fn new(calendar: &BusinessCalendar) -> Option<Schedule> {
        let zone = lookup_zone(&calendar.timezone)?;
        let mut intervals: Vec<(i128, i128)> = calendar
            .hours
            .iter()
            .map(|h| {
                let start = i128::from(h.start_minute.min(24 * 60)) * NANOS_PER_MINUTE;
                let end = i128::from(h.end_minute.min(24 * 60)) * NANOS_PER_MINUTE;
                (start, end)
            })
            .filter(|(start, end)| start < end)
            .collect();
        intervals.sort();
        let mut merged: Vec<(i128, i128)> = Vec::with_capacity(intervals.len());
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let working_days = calendar.working_days & 0b0111_1111;
        let daily_nanos: i128 = merged.iter().map(|(start, end)| end - start).sum();
        let mut holidays: Vec<i64> = calendar
            .holidays
            .iter()
            .map(|date| i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
            .collect();
        holidays.sort_unstable();
        Some(Schedule {
            zone,
            working_days,
            intervals: merged,
            holidays,
            weekly_nanos: daily_nanos * i128::from(working_days.count_ones()),
        })
    }

    fn between(&self, from: i128, to: i128) -> i128 {
        if to <= from || self.weekly_nanos == 0 {
            return 0;
        }
        let mut total = 0;
        let mut at = from;
        // Terminates: every pass moves `at` forward (a segment ends after
        // its start), and `to` bounds it.
        let mut previous: Option<Segment> = None;
        while at < to {
            let Some(segment) = self.segment_from(previous, at) else {
                break; // past the tz database's range (year 9999)
            };
            previous = Some(segment);
            let weeks = (min(to, self.regular_until(&segment)) - at).div_euclid(NANOS_PER_WEEK);
            if weeks > 0 {
                at += weeks * NANOS_PER_WEEK;
                total += weeks * self.weekly_nanos;
                continue;
            }
            let end = min(segment.end, to);
            for (start, stop) in self.working_pieces(&segment, at, end) {
                total += stop - start;
            }
            at = end;
        }
        total
    }

    fn add(&self, from: i128, budget: i128) -> Option<i128> {
        debug_assert!(budget > 0);
        if self.weekly_nanos == 0 {
            return None;
        }
        let mut left = budget;
        let mut at = from;
        let mut last_work = from;
        // Terminates: every pass either spends budget (weeks) or moves `at`
        // forward to the segment's end, and gives up after IDLE_DAYS_MAX
        // days without business time or at the end of the tz range.
        let mut previous: Option<Segment> = None;
        loop {
            let segment = self.segment_from(previous, at)?;
            previous = Some(segment);
            // `left - 1`: a budget of exactly N weeks must end at the last
            // closing time inside them, which the day walk finds.
            let weeks = min(
                (left - 1) / self.weekly_nanos,
                (self.regular_until(&segment) - at).div_euclid(NANOS_PER_WEEK),
            );
            if weeks > 0 {
                at += weeks * NANOS_PER_WEEK;
                left -= weeks * self.weekly_nanos;
                last_work = at;
                continue;
            }
            for (start, stop) in self.working_pieces(&segment, at, segment.end) {
                if stop - start >= left {
                    return Some(start + left);
                }
                left -= stop - start;
                last_work = stop;
            }
            if segment.end - last_work > i128::from(IDLE_DAYS_MAX) * NANOS_PER_DAY {
                return None;
            }
            at = segment.end;
        }
    }

    /// The segment containing instant `at`, which a walk reached from
    /// `previous`: the next local midnight before the next offset change
    /// has the previous segment's offset, so only a new offset costs the
    /// two zone queries (they were ~60% of a due-time computation).
    fn segment_from(&self, previous: Option<Segment>, at: i128) -> Option<Segment> {
        match previous {
            // A segment ending before the next transition ends at its
            // day's next midnight, where the new day starts.
            Some(previous)
                if at == previous.end
                    && previous
                        .next_transition
                        .is_none_or(|transition| at < transition) =>
            {
                let end = match previous.next_transition {
                    Some(transition) => min(at + NANOS_PER_DAY, transition),
                    None => at + NANOS_PER_DAY,
                };
                Some(Segment {
                    day: previous.day.checked_add(1)?,
                    midnight: at,
                    end,
                    offset: previous.offset,
                    next_transition: previous.next_transition,
                })
            }
            _ => self.segment(at),
        }
    }

    /// The segment containing instant `at`.
    fn segment(&self, at: i128) -> Option<Segment> {
        let timestamp = Timestamp::from_nanosecond(at).ok()?;
        let offset = i128::from(self.zone.to_offset(timestamp).seconds()) * NANOS_PER_SECOND;
        let day = i64::try_from((at + offset).div_euclid(NANOS_PER_DAY)).ok()?;
        let midnight = i128::from(day) * NANOS_PER_DAY - offset;
        let next_transition = self
            .zone
            .following(timestamp)
            .next()
            .map(|transition| transition.timestamp().as_nanosecond());
        let end = match next_transition {
            Some(transition) => min(midnight + NANOS_PER_DAY, transition),
            None => midnight + NANOS_PER_DAY,
        };
        debug_assert!(end > at, "a segment ends after the instant it contains");
        Some(Segment {
            day,
            midnight,
            end,
            offset,
            next_transition,
        })
    }

    /// The business parts of `[from, to)`, a range inside `segment`.
    fn working_pieces<'a>(
        &'a self,
        segment: &'a Segment,
        from: i128,
        to: i128,
    ) -> impl Iterator<Item = (i128, i128)> + 'a {
        let working = self.is_working_day(segment.day);
        self.intervals
            .iter()
            .filter(move |_| working)
            .map(move |(start, end)| {
                (
                    max(from, segment.midnight + start),
                    min(to, segment.midnight + end),
                )
            })
            .filter(|(start, end)| start < end)
    }

    fn is_working_day(&self, day: i64) -> bool {
        // 1970-01-01 was a Thursday (index 3 from Monday).
        let weekday = (day + 3).rem_euclid(7);
        self.working_days & (1 << weekday) != 0 && self.holidays.binary_search(&day).is_err()
    }

    /// Up to which instant from the segment on every week holds exactly
    /// `weekly_nanos`: the next offset change or the local midnight starting
    /// the next holiday, whichever comes first.
    fn regular_until(&self, segment: &Segment) -> i128 {
        let next_holiday = self.holidays.partition_point(|&day| day < segment.day);
        let holiday_start = self.holidays.get(next_holiday).map_or(i128::MAX, |&day| {
            i128::from(day) * NANOS_PER_DAY - segment.offset
        });
        min(segment.next_transition.unwrap_or(i128::MAX), holiday_start)
    }
}

mod holiday_dates {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::Date;

    struct One(Date);

    impl Serialize for One {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            crate::types::date::serialize(&self.0, serializer)
        }
    }

    impl<'de> Deserialize<'de> for One {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            crate::types::date::deserialize(deserializer).map(One)
        }
    }

    pub fn serialize<S: Serializer>(dates: &[Date], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(dates.iter().map(|date| One(*date)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Date>, D::Error> {
        Ok(Vec::<One>::deserialize(deserializer)?
            .into_iter()
            .map(|One(date)| date)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::format_description::well_known::Rfc3339;

    use super::*;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).expect("test instants are RFC 3339")
    }

    fn calendar(timezone: &str, days: &[&str], hours: &str, holidays: &[&str]) -> BusinessCalendar {
        BusinessCalendar::from_spec(&CalendarSpec {
            timezone: Some(timezone.to_owned()),
            working_days: Some(days.iter().map(|d| d.to_string()).collect()),
            hours: Some(hours.to_owned()),
            holidays: Some(holidays.iter().map(|d| d.to_string()).collect()),
        })
        .expect("test calendars are valid")
    }

    const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri"];
    const EVERY_DAY: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    const HOUR: i64 = 3600;

    fn office(holidays: &[&str]) -> BusinessCalendar {
        calendar("Europe/Rome", WEEKDAYS, "09:00-18:00", holidays)
    }

    /// (calendar, from, business seconds, expected due).
    fn check_adds(cases: &[(&BusinessCalendar, &str, i64, &str)]) {
        for (calendar, from, seconds, due) in cases {
            let got = calendar.add_business_seconds(at(from), *seconds);
            assert_eq!(got, Some(at(due)), "{from} + {seconds}s on {calendar:?}");
            assert_eq!(
                calendar.business_seconds_between(at(from), at(due)),
                (*seconds).max(0),
                "between {from} and {due}"
            );
        }
    }

    #[test]
    fn an_empty_spec_is_the_contract_default() {
        let calendar = BusinessCalendar::from_spec(&CalendarSpec::default());
        assert_eq!(calendar, Ok(BusinessCalendar::default()));
    }

    #[test]
    fn a_spec_is_parsed_and_shown_canonically() {
        let spec = CalendarSpec {
            timezone: Some("europe/rome".to_owned()),
            working_days: Some(vec![
                "Monday".into(),
                "TUE".into(),
                "sun".into(),
                "mon".into(),
            ]),
            hours: Some(" 13:00-18:00 , 09:00-12:00,18:00-24:00".to_owned()),
            holidays: Some(vec![
                "2026-12-25".into(),
                "2026-01-01".into(),
                "2026-12-25".into(),
            ]),
        };
        let calendar = BusinessCalendar::from_spec(&spec).expect("valid");
        assert_eq!(calendar.timezone, "Europe/Rome");
        assert_eq!(calendar.working_days, 0b100_0011);
        let shown = calendar.to_spec();
        assert_eq!(
            shown,
            CalendarSpec {
                timezone: Some("Europe/Rome".to_owned()),
                working_days: Some(vec!["mon".into(), "tue".into(), "sun".into()]),
                hours: Some("09:00-12:00,13:00-18:00,18:00-24:00".to_owned()),
                holidays: Some(vec!["2026-01-01".into(), "2026-12-25".into()]),
            }
        );
        assert_eq!(BusinessCalendar::from_spec(&shown), Ok(calendar));
    }

    #[test]
    fn invalid_specs_are_refused_with_the_reason() {
        let hours = |text: &str, problem| CalendarProblem::InvalidHours {
            text: text.to_owned(),
            problem,
        };
        let too_many_intervals: Vec<String> =
            (0..25).map(|h| format!("{h:02}:00-{h:02}:30")).collect();
        let too_many_intervals = too_many_intervals.join(",");
        let many_holidays: Vec<String> = (0..=HOLIDAYS_MAX as i32)
            .map(|i| {
                crate::types::date::format(Date::from_julian_day(2_461_000 + i).expect("in range"))
            })
            .collect();
        let cases: Vec<(CalendarSpec, CalendarProblem)> = vec![
            (
                CalendarSpec {
                    timezone: Some("Mars/Olympus".into()),
                    ..Default::default()
                },
                CalendarProblem::UnknownTimezone {
                    name: "Mars/Olympus".into(),
                },
            ),
            (
                CalendarSpec {
                    timezone: Some("Etc/Unknown".into()),
                    ..Default::default()
                },
                CalendarProblem::UnknownTimezone {
                    name: "Etc/Unknown".into(),
                },
            ),
            (
                CalendarSpec {
                    timezone: Some(String::new()),
                    ..Default::default()
                },
                CalendarProblem::UnknownTimezone {
                    name: String::new(),
                },
            ),
            (
                CalendarSpec {
                    working_days: Some(vec!["mon".into(), "funday".into()]),
                    ..Default::default()
                },
                CalendarProblem::UnknownWorkingDay {
                    name: "funday".into(),
                },
            ),
            (
                CalendarSpec {
                    working_days: Some(vec![]),
                    ..Default::default()
                },
                CalendarProblem::NoWorkingDays,
            ),
            (
                CalendarSpec {
                    hours: Some(" ".into()),
                    ..Default::default()
                },
                hours(" ", HoursProblem::Empty),
            ),
            (
                CalendarSpec {
                    hours: Some("9:00-18:00".into()),
                    ..Default::default()
                },
                hours("9:00-18:00", HoursProblem::Syntax),
            ),
            (
                CalendarSpec {
                    hours: Some("09:00-12:00,".into()),
                    ..Default::default()
                },
                hours("", HoursProblem::Syntax),
            ),
            (
                CalendarSpec {
                    hours: Some("09:00".into()),
                    ..Default::default()
                },
                hours("09:00", HoursProblem::Syntax),
            ),
            (
                CalendarSpec {
                    hours: Some("18:00-09:00".into()),
                    ..Default::default()
                },
                hours("18:00-09:00", HoursProblem::EmptyInterval),
            ),
            (
                CalendarSpec {
                    hours: Some("09:00-09:00".into()),
                    ..Default::default()
                },
                hours("09:00-09:00", HoursProblem::EmptyInterval),
            ),
            (
                CalendarSpec {
                    hours: Some("24:00-24:00".into()),
                    ..Default::default()
                },
                hours("24:00-24:00", HoursProblem::TimeOutOfRange),
            ),
            (
                CalendarSpec {
                    hours: Some("20:00-24:30".into()),
                    ..Default::default()
                },
                hours("20:00-24:30", HoursProblem::TimeOutOfRange),
            ),
            (
                CalendarSpec {
                    hours: Some("09:60-10:00".into()),
                    ..Default::default()
                },
                hours("09:60-10:00", HoursProblem::TimeOutOfRange),
            ),
            (
                CalendarSpec {
                    hours: Some("13:00-18:00,09:00-13:30".into()),
                    ..Default::default()
                },
                hours("13:00-18:00,09:00-13:30", HoursProblem::Overlapping),
            ),
            (
                CalendarSpec {
                    hours: Some(too_many_intervals.clone()),
                    ..Default::default()
                },
                hours(&too_many_intervals, HoursProblem::TooMany),
            ),
            (
                CalendarSpec {
                    holidays: Some(vec!["2026-02-30".into()]),
                    ..Default::default()
                },
                CalendarProblem::InvalidHoliday {
                    text: "2026-02-30".into(),
                },
            ),
            (
                CalendarSpec {
                    holidays: Some(many_holidays),
                    ..Default::default()
                },
                CalendarProblem::TooManyHolidays {
                    count: HOLIDAYS_MAX + 1,
                    max: HOLIDAYS_MAX,
                },
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                BusinessCalendar::from_spec(&spec),
                Err(DomainError::from(expected)),
                "{spec:?}"
            );
        }
    }

    #[test]
    fn a_spec_rejects_unknown_json_fields() {
        let parsed: Result<CalendarSpec, _> =
            serde_json::from_str(r#"{"timezone": "UTC", "weekend": []}"#);
        assert!(parsed.is_err());
        let parsed: CalendarSpec =
            serde_json::from_str(r#"{"hours": "09:00-17:00"}"#).expect("valid");
        assert_eq!(parsed.hours.as_deref(), Some("09:00-17:00"));
        assert_eq!(parsed.timezone, None);
    }

    #[test]
    fn a_calendar_round_trips_through_postcard() {
        let calendar = calendar(
            "America/New_York",
            WEEKDAYS,
            "09:00-12:00,13:00-17:30",
            &["2026-07-03"],
        );
        let bytes = postcard::to_allocvec(&calendar).expect("encodes");
        assert_eq!(
            postcard::from_bytes::<BusinessCalendar>(&bytes),
            Ok(calendar)
        );
    }

    #[test]
    fn budgets_on_an_office_calendar() {
        // 2026-01-09 is a Friday; Rome is on +01:00 all January.
        let plain = office(&[]);
        let wednesday_off = office(&["2026-01-14"]);
        let monday_off = office(&["2026-01-19"]);
        let first_monday_off = office(&["2026-01-12"]);
        check_adds(&[
            // 1 h on Friday, 45 h the next week, 2 h on the Monday after.
            (
                &plain,
                "2026-01-09T17:00:00+01:00",
                48 * HOUR,
                "2026-01-19T11:00:00+01:00",
            ),
            (
                &wednesday_off,
                "2026-01-09T17:00:00+01:00",
                48 * HOUR,
                "2026-01-20T11:00:00+01:00",
            ),
            (
                &monday_off,
                "2026-01-09T17:00:00+01:00",
                48 * HOUR,
                "2026-01-20T11:00:00+01:00",
            ),
            // Runs out exactly at a closing time: due then, not at the next opening.
            (
                &plain,
                "2026-01-12T09:00:00+01:00",
                9 * HOUR,
                "2026-01-12T18:00:00+01:00",
            ),
            (
                &plain,
                "2026-01-09T17:00:00+01:00",
                HOUR,
                "2026-01-09T18:00:00+01:00",
            ),
            (
                &plain,
                "2026-01-09T17:00:00+01:00",
                46 * HOUR,
                "2026-01-16T18:00:00+01:00",
            ),
            // Starts outside hours: before opening, after closing, weekend, holiday.
            (
                &plain,
                "2026-01-12T07:00:00+01:00",
                HOUR,
                "2026-01-12T10:00:00+01:00",
            ),
            (
                &plain,
                "2026-01-12T19:00:00+01:00",
                HOUR,
                "2026-01-13T10:00:00+01:00",
            ),
            (
                &plain,
                "2026-01-10T12:00:00+01:00",
                HOUR,
                "2026-01-12T10:00:00+01:00",
            ),
            (
                &first_monday_off,
                "2026-01-12T10:00:00+01:00",
                HOUR,
                "2026-01-13T10:00:00+01:00",
            ),
            // A zero budget is due at once, even outside hours.
            (
                &plain,
                "2026-01-10T12:00:00+01:00",
                0,
                "2026-01-10T12:00:00+01:00",
            ),
            (
                &plain,
                "2026-01-10T12:00:00+01:00",
                -5,
                "2026-01-10T12:00:00+01:00",
            ),
        ]);
    }

    #[test]
    fn budgets_with_a_midnight_end_and_several_intervals() {
        let evenings = calendar("UTC", WEEKDAYS, "20:00-24:00", &[]);
        let split = calendar("UTC", WEEKDAYS, "13:00-18:00,09:00-12:00", &[]);
        check_adds(&[
            (
                &evenings,
                "2026-01-05T23:00:00Z",
                2 * HOUR,
                "2026-01-06T21:00:00Z",
            ),
            (
                &evenings,
                "2026-01-05T20:00:00Z",
                4 * HOUR,
                "2026-01-06T00:00:00Z",
            ),
            (
                &evenings,
                "2026-01-09T23:30:00Z",
                HOUR,
                "2026-01-12T20:30:00Z",
            ),
            (
                &split,
                "2026-01-05T11:00:00Z",
                2 * HOUR,
                "2026-01-05T14:00:00Z",
            ),
            (&split, "2026-01-05T12:30:00Z", HOUR, "2026-01-05T14:00:00Z"),
            (&split, "2026-01-05T11:00:00Z", HOUR, "2026-01-05T12:00:00Z"),
            (
                &split,
                "2026-01-05T17:00:00Z",
                2 * HOUR,
                "2026-01-06T10:00:00Z",
            ),
        ]);
        assert_eq!(
            evenings
                .business_seconds_between(at("2026-01-05T00:00:00Z"), at("2026-01-12T00:00:00Z")),
            20 * HOUR
        );
    }

    #[test]
    fn long_budgets_skip_whole_weeks() {
        // One hour a day: 48 h is 9 weeks and 3 days of work.
        let hour_a_day = calendar("Europe/Rome", WEEKDAYS, "09:00-10:00", &[]);
        let always = calendar("UTC", EVERY_DAY, "00:00-24:00", &[]);
        let from = at("2026-01-05T09:00:00+01:00");
        check_adds(&[
            (
                &hour_a_day,
                "2026-01-05T09:00:00+01:00",
                48 * HOUR,
                "2026-03-11T10:00:00+01:00",
            ),
            (
                &hour_a_day,
                "2026-01-05T09:00:00+01:00",
                5 * HOUR,
                "2026-01-09T10:00:00+01:00",
            ),
            (
                &always,
                "2026-01-05T00:00:00Z",
                7 * 24 * HOUR,
                "2026-01-12T00:00:00Z",
            ),
            (
                &always,
                "2026-01-05T00:00:00Z",
                1_000_000 * HOUR,
                "2140-02-03T16:00:00Z",
            ),
        ]);
        // A century of office hours in Rome: ~200 DST changes, each a week walked by days.
        let office = office(&["2030-12-25", "2031-01-01"]);
        let seconds = 100 * 52 * 45 * HOUR;
        let due = office
            .add_business_seconds(from, seconds)
            .expect("a valid calendar always has a due time");
        assert_eq!(office.business_seconds_between(from, due), seconds);
        // 5200 weeks end on Monday 2125-09-03 09:00; the two (Wednesday)
        // holidays push the last 18 h to Monday and Tuesday.
        assert_eq!(due, at("2125-09-04T18:00:00+02:00"));
    }

    #[test]
    fn daylight_saving_days_have_23_and_25_business_hours_around_the_clock() {
        // Rome: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00 (both 01:00 UTC).
        let always = calendar("Europe/Rome", EVERY_DAY, "00:00-24:00", &[]);
        let sundays = calendar("Europe/Rome", &["sun"], "00:00-24:00", &[]);
        for calendar in [&always, &sundays] {
            assert_eq!(
                calendar.business_seconds_between(
                    at("2026-03-29T00:00:00+01:00"),
                    at("2026-03-30T00:00:00+02:00")
                ),
                23 * HOUR
            );
            assert_eq!(
                calendar.business_seconds_between(
                    at("2026-10-25T00:00:00+02:00"),
                    at("2026-10-26T00:00:00+01:00")
                ),
                25 * HOUR
            );
        }
        check_adds(&[
            (
                &always,
                "2026-03-28T12:00:00+01:00",
                24 * HOUR,
                "2026-03-29T13:00:00+02:00",
            ),
            (
                &always,
                "2026-10-24T12:00:00+02:00",
                24 * HOUR,
                "2026-10-25T11:00:00+01:00",
            ),
            (
                &sundays,
                "2026-03-28T12:00:00+01:00",
                24 * HOUR,
                "2026-04-05T01:00:00+02:00",
            ),
            (
                &sundays,
                "2026-03-29T01:30:00+01:00",
                HOUR,
                "2026-03-29T03:30:00+02:00",
            ),
            (
                &sundays,
                "2026-10-25T02:30:00+02:00",
                HOUR,
                "2026-10-25T02:30:00+01:00",
            ),
        ]);
    }

    #[test]
    fn working_hours_across_a_dst_change_follow_the_wall_clock() {
        let early = calendar("Europe/Rome", &["sunday"], "01:00-04:00", &[]);
        let gap_opening = calendar("Europe/Rome", &["sunday"], "02:30-05:00", &[]);
        let day = |calendar: &BusinessCalendar, from: &str, to: &str| {
            calendar.business_seconds_between(at(from), at(to))
        };
        let (march, march_end) = ("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00");
        let (october, october_end) = ("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00");
        // 01:00-02:00 happens, 02:00-03:00 does not; 02:00-03:00 happens twice.
        assert_eq!(day(&early, march, march_end), 2 * HOUR);
        assert_eq!(day(&early, october, october_end), 4 * HOUR);
        // The 02:30 opening does not exist in March: open from 03:00.
        assert_eq!(day(&gap_opening, march, march_end), 2 * HOUR);
        // In October 02:30-03:00 happens twice.
        assert_eq!(day(&gap_opening, october, october_end), 3 * HOUR);
        check_adds(&[
            (&early, march, 90 * 60, "2026-03-29T03:30:00+02:00"),
            (&early, october, 90 * 60, "2026-10-25T02:30:00+02:00"),
            (&early, october, 150 * 60, "2026-10-25T02:30:00+01:00"),
            (&gap_opening, march, HOUR, "2026-03-29T04:00:00+02:00"),
            (&gap_opening, october, 45 * 60, "2026-10-25T02:45:00+01:00"),
            (&gap_opening, october, 30 * 60, "2026-10-25T03:00:00+02:00"),
        ]);
    }

    #[test]
    fn a_calendar_without_working_time_has_no_due_time() {
        let idle = BusinessCalendar {
            working_days: 0,
            ..BusinessCalendar::default()
        };
        let from = at("2026-01-05T09:00:00Z");
        assert_eq!(idle.add_business_seconds(from, HOUR), None);
        assert_eq!(
            idle.business_seconds_between(from, at("2027-01-05T09:00:00Z")),
            0
        );
        let unknown_zone = BusinessCalendar {
            timezone: "Nowhere/Atlantis".to_owned(),
            ..BusinessCalendar::default()
        };
        assert_eq!(unknown_zone.add_business_seconds(from, HOUR), None);
        // Holidays covering more than IDLE_DAYS_MAX days: the walk gives up.
        let mut blocked = calendar("UTC", &["mon"], "09:00-10:00", &[]);
        blocked.holidays = (0..600)
            .map(|week| Date::from_julian_day(2_461_046 + 7 * week).expect("in range"))
            .collect();
        assert_eq!(blocked.holidays[0].weekday(), time::Weekday::Monday);
        assert_eq!(blocked.add_business_seconds(from, HOUR), None);
        // Zero budget is still due at once.
        assert_eq!(idle.add_business_seconds(from, 0), Some(from));
    }

    #[test]
    fn overlapping_hours_of_a_hand_built_calendar_count_once() {
        let calendar = BusinessCalendar {
            hours: vec![
                WorkingHours {
                    start_minute: 600,
                    end_minute: 720,
                },
                WorkingHours {
                    start_minute: 540,
                    end_minute: 660,
                },
                WorkingHours {
                    start_minute: 1400,
                    end_minute: 2000,
                },
            ],
            ..BusinessCalendar::default()
        };
        let day = calendar
            .business_seconds_between(at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z"));
        assert_eq!(day, 3 * HOUR + 40 * 60);
    }

    #[test]
    fn sub_second_instants_count_exactly() {
        let always = calendar("UTC", EVERY_DAY, "00:00-24:00", &[]);
        let from = at("2026-01-05T09:00:00.250Z");
        assert_eq!(
            always.business_nanos_between(from, at("2026-01-05T09:00:01Z")),
            750_000_000
        );
        assert_eq!(
            always.business_seconds_between(from, at("2026-01-05T09:00:01Z")),
            0
        );
        assert_eq!(
            always.add_business_nanos(from, 750_000_000),
            Some(at("2026-01-05T09:00:01Z"))
        );
    }

    /// An oracle that knows nothing of segments: look at the wall clock of
    /// every minute (every boundary here falls on a whole minute).
    fn minute_by_minute(calendar: &BusinessCalendar, from: OffsetDateTime, minutes: i64) -> i64 {
        let zone = TimeZoneDatabase::bundled()
            .get(&calendar.timezone)
            .expect("known zone");
        let mut business_minutes = 0;
        for minute in 0..minutes {
            let instant = from + time::Duration::minutes(minute);
            let timestamp = Timestamp::from_second(instant.unix_timestamp()).expect("in range");
            let local = zone.to_datetime(timestamp);
            let weekday = local.date().weekday().to_monday_zero_offset();
            let date = Date::from_calendar_date(
                i32::from(local.year()),
                time::Month::try_from(local.month() as u8).expect("a month"),
                local.day() as u8,
            )
            .expect("a date");
            let minute_of_day = local.hour() as u16 * 60 + local.minute() as u16;
            let working = calendar.working_days & (1 << weekday) != 0
                && !calendar.holidays.contains(&date)
                && calendar
                    .hours
                    .iter()
                    .any(|h| (h.start_minute..h.end_minute).contains(&minute_of_day));
            business_minutes += i64::from(working);
        }
        business_minutes * 60
    }

    prop_compose! {
        fn any_calendar()(
            zone in prop::sample::select(vec![
                "UTC", "Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
                "America/Santiago", "Pacific/Chatham",
            ]),
            working_days in 1u8..128,
            cuts in prop::collection::btree_set(0u16..=1440, 2..8),
            holidays in prop::collection::vec(0i32..60, 0..6),
        ) -> BusinessCalendar {
            // Cut points paired up: [c0, c1), [c2, c3), ...; dates near the DST changes below.
            let cuts: Vec<u16> = cuts.into_iter().collect();
            let hours = cuts
                .chunks_exact(2)
                .map(|pair| WorkingHours { start_minute: pair[0], end_minute: pair[1] })
                .collect();
            let base = Date::from_calendar_date(2026, time::Month::March, 1).expect("a date");
            let mut holidays: Vec<Date> = holidays
                .into_iter()
                .map(|offset| base + time::Duration::days(i64::from(offset)))
                .collect();
            holidays.sort();
            holidays.dedup();
            BusinessCalendar { timezone: zone.to_owned(), working_days, hours, holidays }
        }
    }

    fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
        // Whole minutes around the March and October/November DST changes of 2026.
        let windows = prop::sample::select(vec![
            at("2026-03-01T00:00:00Z"),
            at("2026-03-25T00:00:00Z"),
            at("2026-04-01T00:00:00Z"),
            at("2026-10-20T00:00:00Z"),
            at("2026-09-01T00:00:00Z"),
        ]);
        (windows, 0i64..(20 * 24 * 60))
            .prop_map(|(base, minutes)| base + time::Duration::minutes(minutes))
    }

    #[test]
    fn a_walk_chains_the_same_segments_as_fresh_zone_queries() {
        for zone in [
            "UTC",
            "Europe/Rome",
            "America/New_York",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
            "America/Santiago",
        ] {
            let calendar = BusinessCalendar {
                timezone: zone.to_owned(),
                working_days: 0b0001_1111,
                hours: vec![WorkingHours {
                    start_minute: 9 * 60,
                    end_minute: 18 * 60,
                }],
                holidays: Vec::new(),
            };
            let schedule = Schedule::new(&calendar).expect("a known zone");
            let mut at = at("2025-12-30T13:17:00Z").unix_timestamp_nanos();
            let mut previous = None;
            // A year and more: every DST change of 2026 in both directions.
            for _ in 0..800 {
                let chained = schedule.segment_from(previous, at).expect("in range");
                let fresh = schedule.segment(at).expect("in range");
                assert_eq!(chained, fresh, "{zone} at {at}");
                previous = Some(chained);
                at = chained.end;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn between_agrees_with_a_minute_by_minute_oracle(
            calendar in any_calendar(),
            from in any_instant(),
            minutes in 0i64..(10 * 24 * 60),
        ) {
            let to = from + time::Duration::minutes(minutes);
            prop_assert_eq!(calendar.business_seconds_between(from, to), minute_by_minute(&calendar, from, minutes));
        }
    }

    proptest! {
        #[test]
        fn add_inverts_between(
            calendar in any_calendar(),
            from in any_instant(),
            seconds in 0i64..(400 * HOUR),
        ) {
            let due = calendar.add_business_seconds(from, seconds);
            let due = due.expect("these calendars have working time");
            prop_assert!(due >= from);
            prop_assert_eq!(calendar.business_seconds_between(from, due), seconds);
            // Earliest such instant: one nanosecond less is not enough.
            if seconds > 0 {
                let just_before = due - time::Duration::nanoseconds(1);
                prop_assert!(calendar.business_nanos_between(from, just_before) < i128::from(seconds) * 1_000_000_000);
            }
        }

        #[test]
        fn between_then_add_lands_at_the_same_business_instant(
            calendar in any_calendar(),
            from in any_instant(),
            seconds in 0i64..(200 * 24 * HOUR),
        ) {
            let to = from + time::Duration::seconds(seconds);
            let spent = calendar.business_seconds_between(from, to);
            let due = calendar.add_business_seconds(from, spent).expect("these calendars have working time");
            prop_assert!(due <= to);
            prop_assert_eq!(calendar.business_seconds_between(from, due), spent);
            prop_assert_eq!(calendar.business_nanos_between(due, to), 0);
        }

        #[test]
        fn between_is_additive(
            calendar in any_calendar(),
            a in any_instant(),
            b_after in 0i64..(30 * 24 * HOUR),
            c_after in 0i64..(30 * 24 * HOUR),
        ) {
            let b = a + time::Duration::seconds(b_after);
            let c = b + time::Duration::seconds(c_after);
            prop_assert_eq!(
                calendar.business_nanos_between(a, c),
                calendar.business_nanos_between(a, b) + calendar.business_nanos_between(b, c)
            );
        }
    }
}
