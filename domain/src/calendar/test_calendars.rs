//! Calendars the unit tests of `spec` and `schedule` share, built through
//! [`BusinessCalendar::from_spec`] as an org's policy builds them.

use super::{BusinessCalendar, CalendarSpec};

/// A valid calendar from its parts, as the contract writes them.
pub(super) fn calendar(
    timezone: &str,
    days: &[&str],
    hours: &str,
    holidays: &[&str],
) -> BusinessCalendar {
    BusinessCalendar::from_spec(&CalendarSpec {
        timezone: Some(timezone.to_owned()),
        working_days: Some(days.iter().map(|d| d.to_string()).collect()),
        hours: Some(hours.to_owned()),
        holidays: Some(holidays.iter().map(|d| d.to_string()).collect()),
    })
    .expect("test calendars are valid")
}

/// Monday to Friday.
pub(super) const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri"];
