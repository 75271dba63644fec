//! Business time on an org's calendar: an IANA time zone (with its DST
//! changes), working days, working hours and holidays. SLA budgets are counted
//! in business seconds on such a calendar.

use serde::{Deserialize, Serialize};
use time::Date;

/// Working hours of a day, in minutes after local midnight: `[start, end)`,
/// half-open, `end` may be 1440 (`24:00`). Non-empty, non-overlapping, sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkingHours {
    pub start_minute: u16,
    pub end_minute: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
