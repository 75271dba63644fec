//! The schedule walk: business time between two instants and the instant a
//! business-time budget runs out, on a [`BusinessCalendar`].
//!
//! Instants are nanoseconds since the Unix epoch (`i128`, as `time` gives
//! them), local dates are days since 1970-01-01.
//!
//! # Cost
//! The walk goes segment by segment, a segment being a stretch of one local
//! date at one UTC offset (one or two per day). Between two irregularities (a
//! DST transition or a holiday) every 7 days hold exactly the calendar's
//! weekly business time, so whole weeks are skipped arithmetically: a budget
//! of a year on Europe/Rome costs ~2 transitions × ~7 days of segments, a
//! few dozen steps. The walk gives up (no due time) after
//! [`IDLE_DAYS_MAX`] days without any business time, which a validated
//! calendar can never reach (see [`HOLIDAYS_MAX`](super::HOLIDAYS_MAX)).

use std::cell::RefCell;
use std::cmp::{max, min};
use std::collections::HashMap;
use std::rc::Rc;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use time::OffsetDateTime;

use super::spec::{lookup_zone, BusinessCalendar};

/// The walk looking for business time gives up after this many days (ten
/// years) without any; only an unvalidated calendar can get there.
pub const IDLE_DAYS_MAX: i64 = 3660;

impl BusinessCalendar {
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
    /// `business_nanos_between(from, t) >= budget_nanos` (so `from` itself
    /// when `budget_nanos <= 0`). `None` when the calendar cannot be used
    /// (unknown zone, no working time: only possible for a calendar that
    /// bypassed [`BusinessCalendar::from_spec`]), or the result would lie
    /// past the year 9999.
    pub fn add_business_nanos(
        &self,
        from: OffsetDateTime,
        budget_nanos: i128,
    ) -> Option<OffsetDateTime> {
        if budget_nanos <= 0 {
            return Some(from);
        }
        let due_unix_nanos = Schedule::of(self)?.add(from.unix_timestamp_nanos(), budget_nanos)?;
        OffsetDateTime::from_unix_timestamp_nanos(due_unix_nanos).ok()
    }

    /// [`BusinessCalendar::add_business_nanos`] in whole seconds.
    pub fn add_business_seconds(
        &self,
        from: OffsetDateTime,
        budget_seconds: i64,
    ) -> Option<OffsetDateTime> {
        self.add_business_nanos(from, i128::from(budget_seconds) * NANOS_PER_SECOND)
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

/// A calendar prepared for the walk. Built from any `BusinessCalendar`, even
/// one that bypassed validation: intervals are clamped to the day, sorted and
/// merged, so the walk never counts an instant twice.
struct Schedule {
    zone: TimeZone,
    /// Bit 0 = Monday.
    working_days: u8,
    /// Nanoseconds after local midnight, `[start, end)`, sorted, disjoint.
    intervals_nanos: Vec<(i128, i128)>,
    /// Local dates, sorted.
    holidays_unix_days: Vec<i64>,
    /// Business time in any 7 days without a holiday or an offset change.
    weekly_nanos: i128,
}

/// A stretch of time on one local date at one UTC offset: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// The local date.
    date_unix_days: i64,
    /// The instant this segment's offset maps to local midnight of its date.
    midnight_unix_nanos: i128,
    end_unix_nanos: i128,
    /// Local time minus UTC.
    offset_nanos: i128,
    /// The next instant at which the offset may change.
    next_transition_unix_nanos: Option<i128>,
}

// foldhash, not SipHash: the key is a whole calendar (strings and vectors)
// hashed on every lookup, and SipHash's resistance to crafted collisions
// buys nothing for a memo this small that is cleared when full.
type ScheduleMemo = HashMap<BusinessCalendar, Option<Rc<Schedule>>, foldhash::fast::RandomState>;

/// Calendars a thread remembers prepared, at most; then it starts over.
const SCHEDULES_REMEMBERED: usize = 256;

thread_local! {
    /// Prepared schedules by calendar. Preparing one looks the zone up by
    /// name in the bundled database and sorts hours and holidays, and
    /// folding one SLA clock event prepares its calendar several times, so
    /// without the memo a read-model rebuild would redo that work for
    /// every event (`docs/benchmarks.md`, "Rebuild"). Orgs are few, so
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
        let mut intervals_nanos: Vec<(i128, i128)> = calendar
            .hours
            .iter()
            .map(|h| {
                let start = i128::from(h.start_minute.min(24 * 60)) * NANOS_PER_MINUTE;
                let end = i128::from(h.end_minute.min(24 * 60)) * NANOS_PER_MINUTE;
                (start, end)
            })
            .filter(|(start, end)| start < end)
            .collect();
        intervals_nanos.sort();
        let mut merged: Vec<(i128, i128)> = Vec::with_capacity(intervals_nanos.len());
        for (start, end) in intervals_nanos {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let working_days = calendar.working_days & 0b0111_1111;
        let daily_nanos: i128 = merged.iter().map(|(start, end)| end - start).sum();
        let mut holidays_unix_days: Vec<i64> = calendar
            .holidays
            .iter()
            .map(|date| i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
            .collect();
        holidays_unix_days.sort_unstable();
        Some(Schedule {
            zone,
            working_days,
            intervals_nanos: merged,
            holidays_unix_days,
            weekly_nanos: daily_nanos * i128::from(working_days.count_ones()),
        })
    }

    fn between(&self, from_unix_nanos: i128, to_unix_nanos: i128) -> i128 {
        if to_unix_nanos <= from_unix_nanos || self.weekly_nanos == 0 {
            return 0;
        }
        let mut total_nanos = 0;
        let mut at_unix_nanos = from_unix_nanos;
        // Terminates: every pass moves `at_unix_nanos` forward (a segment
        // ends after its start), and `to_unix_nanos` bounds it.
        let mut previous: Option<Segment> = None;
        while at_unix_nanos < to_unix_nanos {
            let Some(segment) = self.segment_from(previous, at_unix_nanos) else {
                break; // past the tz database's range (year 9999)
            };
            previous = Some(segment);
            let skip_until_unix_nanos = min(to_unix_nanos, self.regular_until(&segment));
            let weeks = (skip_until_unix_nanos - at_unix_nanos).div_euclid(NANOS_PER_WEEK);
            if weeks > 0 {
                at_unix_nanos += weeks * NANOS_PER_WEEK;
                total_nanos += weeks * self.weekly_nanos;
                continue;
            }
            let end_unix_nanos = min(segment.end_unix_nanos, to_unix_nanos);
            for (start, stop) in self.working_pieces(&segment, at_unix_nanos, end_unix_nanos) {
                total_nanos += stop - start;
            }
            at_unix_nanos = end_unix_nanos;
        }
        total_nanos
    }

    fn add(&self, from_unix_nanos: i128, budget_nanos: i128) -> Option<i128> {
        debug_assert!(budget_nanos > 0);
        if self.weekly_nanos == 0 {
            return None;
        }
        let mut left_nanos = budget_nanos;
        let mut at_unix_nanos = from_unix_nanos;
        let mut last_work_unix_nanos = from_unix_nanos;
        // Terminates: every pass either spends budget (weeks) or moves
        // `at_unix_nanos` forward to the segment's end, and gives up after
        // IDLE_DAYS_MAX days without business time or at the end of the tz
        // range.
        let mut previous: Option<Segment> = None;
        loop {
            let segment = self.segment_from(previous, at_unix_nanos)?;
            previous = Some(segment);
            // `left_nanos - 1`: a budget of exactly N weeks must end at the
            // last closing time inside them, which the day walk finds.
            let weeks = min(
                (left_nanos - 1) / self.weekly_nanos,
                (self.regular_until(&segment) - at_unix_nanos).div_euclid(NANOS_PER_WEEK),
            );
            if weeks > 0 {
                at_unix_nanos += weeks * NANOS_PER_WEEK;
                left_nanos -= weeks * self.weekly_nanos;
                last_work_unix_nanos = at_unix_nanos;
                continue;
            }
            for (start, stop) in
                self.working_pieces(&segment, at_unix_nanos, segment.end_unix_nanos)
            {
                if stop - start >= left_nanos {
                    return Some(start + left_nanos);
                }
                left_nanos -= stop - start;
                last_work_unix_nanos = stop;
            }
            if segment.end_unix_nanos - last_work_unix_nanos
                > i128::from(IDLE_DAYS_MAX) * NANOS_PER_DAY
            {
                return None;
            }
            at_unix_nanos = segment.end_unix_nanos;
        }
    }

    /// The segment containing instant `at_unix_nanos`, which a walk reached
    /// from `previous`: the next local midnight before the next offset
    /// change has the previous segment's offset, so the walk asks the zone
    /// (offset and next transition, its costliest step) only where the
    /// offset changes, not once a day (`docs/benchmarks.md`, "Rebuild").
    fn segment_from(&self, previous: Option<Segment>, at_unix_nanos: i128) -> Option<Segment> {
        match previous {
            // A segment ending before the next transition ends at its
            // day's next midnight, where the new day starts.
            Some(previous)
                if at_unix_nanos == previous.end_unix_nanos
                    && previous
                        .next_transition_unix_nanos
                        .is_none_or(|transition| at_unix_nanos < transition) =>
            {
                let end_unix_nanos = match previous.next_transition_unix_nanos {
                    Some(transition) => min(at_unix_nanos + NANOS_PER_DAY, transition),
                    None => at_unix_nanos + NANOS_PER_DAY,
                };
                Some(Segment {
                    date_unix_days: previous.date_unix_days.checked_add(1)?,
                    midnight_unix_nanos: at_unix_nanos,
                    end_unix_nanos,
                    offset_nanos: previous.offset_nanos,
                    next_transition_unix_nanos: previous.next_transition_unix_nanos,
                })
            }
            _ => self.segment(at_unix_nanos),
        }
    }

    /// The segment containing instant `at_unix_nanos`.
    fn segment(&self, at_unix_nanos: i128) -> Option<Segment> {
        let timestamp = Timestamp::from_nanosecond(at_unix_nanos).ok()?;
        let offset_nanos = i128::from(self.zone.to_offset(timestamp).seconds()) * NANOS_PER_SECOND;
        let date_unix_days =
            i64::try_from((at_unix_nanos + offset_nanos).div_euclid(NANOS_PER_DAY)).ok()?;
        let midnight_unix_nanos = i128::from(date_unix_days) * NANOS_PER_DAY - offset_nanos;
        let next_transition_unix_nanos = self
            .zone
            .following(timestamp)
            .next()
            .map(|transition| transition.timestamp().as_nanosecond());
        let end_unix_nanos = match next_transition_unix_nanos {
            Some(transition) => min(midnight_unix_nanos + NANOS_PER_DAY, transition),
            None => midnight_unix_nanos + NANOS_PER_DAY,
        };
        debug_assert!(
            end_unix_nanos > at_unix_nanos,
            "a segment ends after the instant it contains"
        );
        Some(Segment {
            date_unix_days,
            midnight_unix_nanos,
            end_unix_nanos,
            offset_nanos,
            next_transition_unix_nanos,
        })
    }

    /// The business parts of `[from, to)`, a range inside `segment`.
    fn working_pieces<'a>(
        &'a self,
        segment: &'a Segment,
        from_unix_nanos: i128,
        to_unix_nanos: i128,
    ) -> impl Iterator<Item = (i128, i128)> + 'a {
        let working = self.is_working_day(segment.date_unix_days);
        self.intervals_nanos
            .iter()
            .filter(move |_| working)
            .map(move |(start, end)| {
                (
                    max(from_unix_nanos, segment.midnight_unix_nanos + start),
                    min(to_unix_nanos, segment.midnight_unix_nanos + end),
                )
            })
            .filter(|(start, end)| start < end)
    }

    fn is_working_day(&self, date_unix_days: i64) -> bool {
        // 1970-01-01 was a Thursday (index 3 from Monday).
        let weekday = (date_unix_days + 3).rem_euclid(7);
        self.working_days & (1 << weekday) != 0
            && self
                .holidays_unix_days
                .binary_search(&date_unix_days)
                .is_err()
    }

    /// Up to which instant from the segment on every week holds exactly
    /// `weekly_nanos`: the next offset change or the local midnight starting
    /// the next holiday, whichever comes first.
    fn regular_until(&self, segment: &Segment) -> i128 {
        let next_holiday = self
            .holidays_unix_days
            .partition_point(|&day| day < segment.date_unix_days);
        let holiday_start_unix_nanos = self
            .holidays_unix_days
            .get(next_holiday)
            .map_or(i128::MAX, |&day| {
                i128::from(day) * NANOS_PER_DAY - segment.offset_nanos
            });
        min(
            segment.next_transition_unix_nanos.unwrap_or(i128::MAX),
            holiday_start_unix_nanos,
        )
    }
}

#[cfg(test)]
mod tests;
