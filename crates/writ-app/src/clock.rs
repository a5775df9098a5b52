//! The time every rule reads. Use cases take a [`Clock`] instead of reading the system time, so
//! expiry and lifecycle rules are tested at a fixed instant.

use std::sync::Mutex;

use time::OffsetDateTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// The current time at microsecond precision (what every backend stores, so a value read back
    /// equals the value written).
    fn now(&self) -> OffsetDateTime;

    /// The current time in whole seconds since the Unix epoch (JWT `iat`, `exp`).
    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        writ_core::now()
    }
}

/// A clock that stands still until told to move: for tests of time-dependent rules.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn at(t: OffsetDateTime) -> Self {
        Self(Mutex::new(t))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let start = OffsetDateTime::from_unix_timestamp(1_795_953_600).unwrap();
        let clock = FixedClock::at(start);
        assert_eq!(clock.now(), start);
        clock.advance(time::Duration::seconds(90));
        assert_eq!(clock.unix(), start.unix_timestamp() + 90);
    }

    #[test]
    fn the_system_clock_keeps_microseconds() {
        assert_eq!(SystemClock.now().nanosecond() % 1000, 0);
    }
}
