//! The server's wall-clock time, the one source of truth for every session timestamp.
//!
//! Times are milliseconds since the Unix epoch (`i64`), as stored in the database and sent to
//! the page (which formats them in the user's time zone). The source is injectable so tests
//! can jump ahead ("the planned end has passed") instead of sleeping: [`ShiftedTime`] runs
//! with the real clock plus an offset the test advances, or stands still between the test's
//! steps ([`ShiftedTime::frozen`]) where frames must arrive at exact times.
//!
//! `focus_types::time` writes such a time as RFC 3339 for people and for JSON.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from.
pub trait TimeSource: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTimeSource;

impl TimeSource for SystemTimeSource {
    fn now_ms(&self) -> i64 {
        system_now_ms()
    }
}

fn system_now_ms() -> i64 {
    // A clock before 1970 is a broken machine; count it as the epoch rather than panic.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The system clock plus an offset that only moves forward: for tests that need minutes to
/// pass in milliseconds. Time keeps flowing between jumps, so tickers behave as in
/// production.
#[derive(Debug, Default)]
pub struct ShiftedTime {
    offset_ms: AtomicI64,
    /// `Some(start)`: the clock does not flow; it is `start` plus the offset.
    frozen_at_ms: Option<i64>,
}

impl ShiftedTime {
    /// Starts with no offset.
    pub fn new() -> Arc<Self> {
        Arc::new(ShiftedTime::default())
    }

    /// A clock that stands at the system's time now and moves only by
    /// [`advance_ms`](Self::advance_ms): frames stamped with it are exactly as far apart as
    /// the test says, however long their analysis takes.
    pub fn frozen() -> Arc<Self> {
        Arc::new(ShiftedTime {
            offset_ms: AtomicI64::new(0),
            frozen_at_ms: Some(system_now_ms()),
        })
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms.max(0), Ordering::SeqCst);
    }
}

impl TimeSource for ShiftedTime {
    fn now_ms(&self) -> i64 {
        self.frozen_at_ms
            .unwrap_or_else(system_now_ms)
            .saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_time_moves_forward() {
        let t = ShiftedTime::new();
        let before = t.now_ms();
        t.advance_ms(60_000);
        assert!(t.now_ms() >= before + 60_000);
        t.advance_ms(-5);
        assert!(t.now_ms() >= before + 60_000);
    }

    #[test]
    fn frozen_time_moves_only_when_told() {
        let t = ShiftedTime::frozen();
        let start = t.now_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(t.now_ms(), start);
        t.advance_ms(208);
        assert_eq!(t.now_ms(), start + 208);
    }
}
