//! The server's clock: the real one, or with `--test-clock` one that an admin
//! sets and that stands still between sets. Every envelope records it.

use crate::error::AppError;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::watch;

/// The clock every command and SLA answer reads; cheap to clone.
#[derive(Clone)]
pub struct ServerClock {
    inner: Arc<ClockInner>,
}

enum ClockInner {
    Real,
    /// Unix nanoseconds of the time last set; moves only forward.
    Test {
        now_unix_nanos: AtomicI64,
        changed: watch::Sender<i64>,
    },
}

impl ServerClock {
    /// The real clock.
    pub fn real() -> ServerClock {
        ServerClock {
            inner: Arc::new(ClockInner::Real),
        }
    }

    /// A test clock that reads the real time of the server's start until set.
    pub fn test_starting_now() -> ServerClock {
        let start = unix_nanos(OffsetDateTime::now_utc());
        let (changed, _) = watch::channel(start);
        ServerClock {
            inner: Arc::new(ClockInner::Test {
                now_unix_nanos: AtomicI64::new(start),
                changed,
            }),
        }
    }

    /// Whether this is the test clock (`--test-clock`).
    pub fn is_test(&self) -> bool {
        matches!(*self.inner, ClockInner::Test { .. })
    }

    /// The time now, as this clock tells it.
    pub fn now(&self) -> OffsetDateTime {
        match &*self.inner {
            ClockInner::Real => OffsetDateTime::now_utc(),
            ClockInner::Test { now_unix_nanos, .. } => {
                from_unix_nanos(now_unix_nanos.load(Ordering::Acquire))
            }
        }
    }

    /// Moves the test clock to `to` (equal is allowed, earlier is not).
    pub fn set(&self, to: OffsetDateTime) -> Result<OffsetDateTime, AppError> {
        let ClockInner::Test {
            now_unix_nanos,
            changed,
        } = &*self.inner
        else {
            return Err(AppError::ClockNotTest);
        };
        let target = unix_nanos(to);
        let previous = now_unix_nanos.fetch_max(target, Ordering::AcqRel);
        if previous > target {
            return Err(AppError::ClockWouldGoBack {
                now: from_unix_nanos(previous),
            });
        }
        changed.send_replace(target);
        Ok(from_unix_nanos(target))
    }

    /// Fires whenever the test clock is set; never for the real clock.
    pub fn changes(&self) -> Option<watch::Receiver<i64>> {
        match &*self.inner {
            ClockInner::Real => None,
            ClockInner::Test { changed, .. } => Some(changed.subscribe()),
        }
    }
}

/// Instants are kept as i64 unix nanoseconds (good until 2262).
pub fn unix_nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// The instant `unix_nanos` nanoseconds after the Unix epoch.
pub fn from_unix_nanos(unix_nanos: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nanos))
        .expect("every i64 of nanoseconds is a representable instant")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_test_clock_stands_still_and_never_goes_back() {
        let clock = ServerClock::test_starting_now();
        let at = datetime!(2030-01-01 09:00 UTC);
        assert_eq!(clock.set(at).ok(), Some(at));
        assert_eq!(clock.now(), at);
        assert_eq!(clock.now(), at);
        assert_eq!(clock.set(at).ok(), Some(at));
        assert!(matches!(
            clock.set(datetime!(2029-12-31 09:00 UTC)),
            Err(AppError::ClockWouldGoBack { now }) if now == at
        ));
        assert_eq!(clock.now(), at);
    }

    #[test]
    fn the_real_clock_cannot_be_set() {
        let clock = ServerClock::real();
        assert!(matches!(
            clock.set(datetime!(2030-01-01 09:00 UTC)),
            Err(AppError::ClockNotTest)
        ));
    }
}
