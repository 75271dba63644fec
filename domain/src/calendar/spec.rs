//! The calendar as an org's policy writes it: time zone, working days,
//! working hours and holidays, parsed and validated from the contract's
//! `calendar` object ([`CalendarSpec`]) into a [`BusinessCalendar`], and
//! shown back with [`BusinessCalendar::to_spec`].
//!
//! Validation lives here and nowhere else: it is what guarantees the walk in
//! `schedule` always finds business time (a known zone, some working days,
//! at most [`HOLIDAYS_MAX`] holidays). Zones come from the tz database
//! bundled with the binary, so every machine gives the same answer.

use std::fmt;

use jiff::tz::{TimeZone, TimeZoneDatabase};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::DomainError;

/// At most this many working intervals a day.
pub const INTERVALS_MAX: usize = 24;
/// At most this many holidays in a calendar. Any
/// [`IDLE_DAYS_MAX`](super::IDLE_DAYS_MAX) days hold at least 522 working
/// days of a calendar that works one day a week; 500 holidays, plus at most
/// one DST gap a year swallowing a day's hours, cannot block them all, so a
/// validated calendar always finds its next working time.
pub const HOLIDAYS_MAX: usize = 500;

/// Working hours of a day, in minutes after local midnight: `[start, end)`,
/// half-open, `end` may be 1440 (`24:00`). Non-empty, non-overlapping, sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkingHours {
    /// Minutes after local midnight at which work starts (0..1440).
    pub start_minute: u16,
    /// Minutes after local midnight at which work stops, after
    /// `start_minute` (at most 1440, `24:00`).
    pub end_minute: u16,
}

/// An org's business calendar, validated: what SLA budgets are counted on.
/// Built with [`BusinessCalendar::from_spec`]; the walk also copes with one
/// built by hand that bypassed validation (it then may find no due time).
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
    /// The zone is not in the bundled tz database.
    #[error("timezone {name:?} is not an IANA time zone name (e.g. \"Europe/Rome\")")]
    UnknownTimezone {
        /// The name as given.
        name: String,
    },
    /// A working day that is not a day name.
    #[error("working day {name:?} is not a day name (mon..sun or monday..sunday)")]
    UnknownWorkingDay {
        /// The name as given.
        name: String,
    },
    /// An empty list of working days: no business time, ever.
    #[error("working_days is empty: a calendar needs some working time every week")]
    NoWorkingDays,
    /// Working hours that do not parse or do not make sense.
    #[error("hours {text:?} {problem}")]
    InvalidHours {
        /// The hours text (or the one interval of it) at fault.
        text: String,
        /// What is wrong with it.
        problem: HoursProblem,
    },
    /// A holiday that is not a `YYYY-MM-DD` date.
    #[error("holiday {text:?} is not a date (YYYY-MM-DD)")]
    InvalidHoliday {
        /// The text as given.
        text: String,
    },
    /// More distinct holidays than [`HOLIDAYS_MAX`].
    #[error("{count} holidays given; at most {max} are allowed")]
    TooManyHolidays {
        /// Distinct holidays given.
        count: usize,
        /// [`HOLIDAYS_MAX`].
        max: usize,
    },
}

/// What is wrong with a working-hours text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursProblem {
    /// Nothing but blanks.
    Empty,
    /// Not `HH:MM-HH:MM`.
    Syntax,
    /// An hour past 23 (other than an ending `24:00`) or a minute past 59.
    TimeOutOfRange,
    /// The interval does not end after it starts.
    EmptyInterval,
    /// Two intervals share some minutes (touching is fine).
    Overlapping,
    /// More than [`INTERVALS_MAX`] intervals.
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
}

/// The bundled tz database only: the same answer on every machine, and no
/// file system read from the domain.
pub(super) fn lookup_zone(name: &str) -> Option<TimeZone> {
    TimeZoneDatabase::bundled()
        .get(name)
        .ok()
        .filter(|zone| !zone.is_unknown())
}

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

fn canonical_zone_name(name: &str) -> Result<String, CalendarProblem> {
    let zone = lookup_zone(name).ok_or_else(|| CalendarProblem::UnknownTimezone {
        name: name.to_owned(),
    })?;
    Ok(zone.iana_name().unwrap_or(name).to_owned())
}

/// serde's `with` for a `Vec<Date>`: each date as `crate::types::date`
/// writes one (`YYYY-MM-DD` for humans, a Julian day number for postcard).
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

    /// Writes `dates` as a sequence of dates.
    pub fn serialize<S: Serializer>(dates: &[Date], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(dates.iter().map(|date| One(*date)))
    }

    /// Reads a sequence of dates.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Date>, D::Error> {
        Ok(Vec::<One>::deserialize(deserializer)?
            .into_iter()
            .map(|One(date)| date)
            .collect())
    }
}

#[cfg(test)]
mod tests;
