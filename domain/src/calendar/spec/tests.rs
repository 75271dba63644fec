use super::*;
use crate::calendar::test_calendars::{calendar, WEEKDAYS};

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
    let too_many_intervals: Vec<String> = (0..25).map(|h| format!("{h:02}:00-{h:02}:30")).collect();
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
    let parsed: CalendarSpec = serde_json::from_str(r#"{"hours": "09:00-17:00"}"#).expect("valid");
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
