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
//! # Where each part lives
//! `spec`: the calendar as a policy writes it ([`CalendarSpec`]), parsed
//! and validated into a [`BusinessCalendar`], and the problems that refuse
//! it. `schedule`: the walk over a calendar that counts business time
//! ([`BusinessCalendar::business_nanos_between`]) and finds due times
//! ([`BusinessCalendar::add_business_nanos`]). Validation is kept apart
//! from the walk because the walk must also cope with a calendar that
//! bypassed it.

mod schedule;
mod spec;
#[cfg(test)]
mod test_calendars;

pub(crate) use schedule::nanos_to_seconds_floor;
pub use schedule::IDLE_DAYS_MAX;
pub use spec::{
    BusinessCalendar, CalendarProblem, CalendarSpec, HoursProblem, WorkingHours, HOLIDAYS_MAX,
    INTERVALS_MAX,
};
