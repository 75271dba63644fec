use jiff::tz::TimeZoneDatabase;
use proptest::prelude::*;
use time::format_description::well_known::Rfc3339;
use time::Date;

use super::*;
use crate::calendar::test_calendars::{calendar, WEEKDAYS};
use crate::calendar::WorkingHours;

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("test instants are RFC 3339")
}

const EVERY_DAY: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Seconds in an hour.
const HOUR_S: i64 = 3600;

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
            48 * HOUR_S,
            "2026-01-19T11:00:00+01:00",
        ),
        (
            &wednesday_off,
            "2026-01-09T17:00:00+01:00",
            48 * HOUR_S,
            "2026-01-20T11:00:00+01:00",
        ),
        (
            &monday_off,
            "2026-01-09T17:00:00+01:00",
            48 * HOUR_S,
            "2026-01-20T11:00:00+01:00",
        ),
        // Runs out exactly at a closing time: due then, not at the next opening.
        (
            &plain,
            "2026-01-12T09:00:00+01:00",
            9 * HOUR_S,
            "2026-01-12T18:00:00+01:00",
        ),
        (
            &plain,
            "2026-01-09T17:00:00+01:00",
            HOUR_S,
            "2026-01-09T18:00:00+01:00",
        ),
        (
            &plain,
            "2026-01-09T17:00:00+01:00",
            46 * HOUR_S,
            "2026-01-16T18:00:00+01:00",
        ),
        // Starts outside hours: before opening, after closing, weekend, holiday.
        (
            &plain,
            "2026-01-12T07:00:00+01:00",
            HOUR_S,
            "2026-01-12T10:00:00+01:00",
        ),
        (
            &plain,
            "2026-01-12T19:00:00+01:00",
            HOUR_S,
            "2026-01-13T10:00:00+01:00",
        ),
        (
            &plain,
            "2026-01-10T12:00:00+01:00",
            HOUR_S,
            "2026-01-12T10:00:00+01:00",
        ),
        (
            &first_monday_off,
            "2026-01-12T10:00:00+01:00",
            HOUR_S,
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
            2 * HOUR_S,
            "2026-01-06T21:00:00Z",
        ),
        (
            &evenings,
            "2026-01-05T20:00:00Z",
            4 * HOUR_S,
            "2026-01-06T00:00:00Z",
        ),
        (
            &evenings,
            "2026-01-09T23:30:00Z",
            HOUR_S,
            "2026-01-12T20:30:00Z",
        ),
        (
            &split,
            "2026-01-05T11:00:00Z",
            2 * HOUR_S,
            "2026-01-05T14:00:00Z",
        ),
        (
            &split,
            "2026-01-05T12:30:00Z",
            HOUR_S,
            "2026-01-05T14:00:00Z",
        ),
        (
            &split,
            "2026-01-05T11:00:00Z",
            HOUR_S,
            "2026-01-05T12:00:00Z",
        ),
        (
            &split,
            "2026-01-05T17:00:00Z",
            2 * HOUR_S,
            "2026-01-06T10:00:00Z",
        ),
    ]);
    assert_eq!(
        evenings.business_seconds_between(at("2026-01-05T00:00:00Z"), at("2026-01-12T00:00:00Z")),
        20 * HOUR_S
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
            48 * HOUR_S,
            "2026-03-11T10:00:00+01:00",
        ),
        (
            &hour_a_day,
            "2026-01-05T09:00:00+01:00",
            5 * HOUR_S,
            "2026-01-09T10:00:00+01:00",
        ),
        (
            &always,
            "2026-01-05T00:00:00Z",
            7 * 24 * HOUR_S,
            "2026-01-12T00:00:00Z",
        ),
        (
            &always,
            "2026-01-05T00:00:00Z",
            1_000_000 * HOUR_S,
            "2140-02-03T16:00:00Z",
        ),
    ]);
    // A century of office hours in Rome: ~200 DST changes, each a week walked by days.
    let office = office(&["2030-12-25", "2031-01-01"]);
    let seconds = 100 * 52 * 45 * HOUR_S;
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
            23 * HOUR_S
        );
        assert_eq!(
            calendar.business_seconds_between(
                at("2026-10-25T00:00:00+02:00"),
                at("2026-10-26T00:00:00+01:00")
            ),
            25 * HOUR_S
        );
    }
    check_adds(&[
        (
            &always,
            "2026-03-28T12:00:00+01:00",
            24 * HOUR_S,
            "2026-03-29T13:00:00+02:00",
        ),
        (
            &always,
            "2026-10-24T12:00:00+02:00",
            24 * HOUR_S,
            "2026-10-25T11:00:00+01:00",
        ),
        (
            &sundays,
            "2026-03-28T12:00:00+01:00",
            24 * HOUR_S,
            "2026-04-05T01:00:00+02:00",
        ),
        (
            &sundays,
            "2026-03-29T01:30:00+01:00",
            HOUR_S,
            "2026-03-29T03:30:00+02:00",
        ),
        (
            &sundays,
            "2026-10-25T02:30:00+02:00",
            HOUR_S,
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
    assert_eq!(day(&early, march, march_end), 2 * HOUR_S);
    assert_eq!(day(&early, october, october_end), 4 * HOUR_S);
    // The 02:30 opening does not exist in March: open from 03:00.
    assert_eq!(day(&gap_opening, march, march_end), 2 * HOUR_S);
    // In October 02:30-03:00 happens twice.
    assert_eq!(day(&gap_opening, october, october_end), 3 * HOUR_S);
    check_adds(&[
        (&early, march, 90 * 60, "2026-03-29T03:30:00+02:00"),
        (&early, october, 90 * 60, "2026-10-25T02:30:00+02:00"),
        (&early, october, 150 * 60, "2026-10-25T02:30:00+01:00"),
        (&gap_opening, march, HOUR_S, "2026-03-29T04:00:00+02:00"),
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
    assert_eq!(idle.add_business_seconds(from, HOUR_S), None);
    assert_eq!(
        idle.business_seconds_between(from, at("2027-01-05T09:00:00Z")),
        0
    );
    let unknown_zone = BusinessCalendar {
        timezone: "Nowhere/Atlantis".to_owned(),
        ..BusinessCalendar::default()
    };
    assert_eq!(unknown_zone.add_business_seconds(from, HOUR_S), None);
    // Holidays covering more than IDLE_DAYS_MAX days: the walk gives up.
    let mut blocked = calendar("UTC", &["mon"], "09:00-10:00", &[]);
    blocked.holidays = (0..600)
        .map(|week| Date::from_julian_day(2_461_046 + 7 * week).expect("in range"))
        .collect();
    assert_eq!(blocked.holidays[0].weekday(), time::Weekday::Monday);
    assert_eq!(blocked.add_business_seconds(from, HOUR_S), None);
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
    let day =
        calendar.business_seconds_between(at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z"));
    assert_eq!(day, 3 * HOUR_S + 40 * 60);
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
        let mut at_unix_nanos = at("2025-12-30T13:17:00Z").unix_timestamp_nanos();
        let mut previous = None;
        // A year and more: every DST change of 2026 in both directions.
        for _ in 0..800 {
            let chained = schedule
                .segment_from(previous, at_unix_nanos)
                .expect("in range");
            let fresh = schedule.segment(at_unix_nanos).expect("in range");
            assert_eq!(chained, fresh, "{zone} at {at_unix_nanos}");
            previous = Some(chained);
            at_unix_nanos = chained.end_unix_nanos;
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
        seconds in 0i64..(400 * HOUR_S),
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
        seconds in 0i64..(200 * 24 * HOUR_S),
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
        b_after_s in 0i64..(30 * 24 * HOUR_S),
        c_after_s in 0i64..(30 * 24 * HOUR_S),
    ) {
        let b = a + time::Duration::seconds(b_after_s);
        let c = b + time::Duration::seconds(c_after_s);
        prop_assert_eq!(
            calendar.business_nanos_between(a, c),
            calendar.business_nanos_between(a, b) + calendar.business_nanos_between(b, c)
        );
    }
}
