//! Time as a parameter.
//!
//! Every time-dependent operation in gatepass reads the time from a [`Clock`] (or takes an
//! explicit `now` in its `_at` form), so tests pin or advance time instead of sleeping and
//! forensics can ask "was this token valid at 03:12?".

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds since the Unix epoch, the unit of every JWT time claim.
pub type UnixTime = u64;

/// A source of the current time in unix seconds.
///
/// ```
/// use gatepass::{Clock, ManualClock};
/// let clock = ManualClock::new(1_700_000_000);
/// clock.advance(30);
/// assert_eq!(clock.now(), 1_700_000_030);
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in unix seconds.
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
///
/// ```
/// use gatepass::{Clock, SystemClock};
/// assert!(SystemClock.now() > 1_600_000_000);
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a unit struct users construct by name"
)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        // A clock set before 1970 is a broken machine; treat it as the epoch rather than panic.
        u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
    }
}

/// A clock that only moves when told to: for tests, replays and `--at`.
///
/// ```
/// use gatepass::{Clock, ManualClock};
/// let clock = ManualClock::new(100);
/// clock.set(50);
/// assert_eq!(clock.now(), 50);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `now` until moved.
    pub fn new(now: UnixTime) -> Self {
        Self(AtomicU64::new(now))
    }

    /// Move the clock to `now` (backwards too).
    pub fn set(&self, now: UnixTime) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Move the clock forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(10);
        assert_eq!(clock.now(), 10);
        clock.advance(5);
        assert_eq!(clock.now(), 15);
        clock.set(3);
        assert_eq!(clock.now(), 3);
    }
}
