//! Fatigue figures from eye counts: blink rate and PERCLOS, one rule for every place that
//! shows them (the live page, the summary, history, the CSV, email and SMS).
//!
//! The counts come from the vision crate's `FatigueMeter` (a blink is a closure of 50-500 ms;
//! PERCLOS counts time with the eyes at least 80% closed); the figures are over the time the
//! eyes were seen: time without a face, behind dark glasses or looking down with lowered lids
//! counts for neither. Under [`MIN_EYES_SEEN_MS`] of seen time there is too little to say,
//! and the figures are `None` (shown as "not enough seen").

use serde::{Deserialize, Serialize};

/// Seen time the figures need, ms: below 10 s one blink more or less swings the rate by 6 a
/// minute, so no figure is given.
pub const MIN_EYES_SEEN_MS: u64 = 10_000;

/// What a stretch of a stream saw of the eyes: the counts blink rate and PERCLOS are made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EyeCounts {
    /// Closures of 50-500 ms.
    pub blinks: u32,
    /// Closures longer than a blink (they read `eyes_closed`).
    pub long_closures: u32,
    /// Time with the eyes seen, ms.
    pub eyes_seen_ms: u64,
    /// Of that, time with the eyes at least 80% closed, ms.
    pub eyes_shut_ms: u64,
}

impl EyeCounts {
    /// Blinks per minute of seen time, rounded to a tenth; `None` under [`MIN_EYES_SEEN_MS`].
    pub fn blink_rate_per_min(&self) -> Option<f64> {
        blink_rate_per_min(u64::from(self.blinks), self.eyes_seen_ms)
    }

    /// PERCLOS as a percentage of seen time, 0-100, rounded to a tenth; `None` under
    /// [`MIN_EYES_SEEN_MS`].
    pub fn perclos_percent(&self) -> Option<f64> {
        perclos_percent(self.eyes_shut_ms, self.eyes_seen_ms)
    }

    /// These counts followed by `later` (a session continued after a restart).
    #[must_use]
    pub fn plus(self, later: EyeCounts) -> EyeCounts {
        EyeCounts {
            blinks: self.blinks.saturating_add(later.blinks),
            long_closures: self.long_closures.saturating_add(later.long_closures),
            eyes_seen_ms: self.eyes_seen_ms.saturating_add(later.eyes_seen_ms),
            eyes_shut_ms: self.eyes_shut_ms.saturating_add(later.eyes_shut_ms),
        }
    }
}

/// `blinks` per minute of `seen_ms`, rounded to a tenth; `None` under [`MIN_EYES_SEEN_MS`].
pub fn blink_rate_per_min(blinks: u64, seen_ms: u64) -> Option<f64> {
    (seen_ms >= MIN_EYES_SEEN_MS).then(|| tenths(blinks as f64 * 60_000.0 / seen_ms as f64))
}

/// `shut_ms` as a percentage of `seen_ms`, clamped to 0-100, rounded to a tenth; `None`
/// under [`MIN_EYES_SEEN_MS`].
pub fn perclos_percent(shut_ms: u64, seen_ms: u64) -> Option<f64> {
    (seen_ms >= MIN_EYES_SEEN_MS)
        .then(|| tenths((shut_ms.min(seen_ms) as f64 * 100.0 / seen_ms as f64).min(100.0)))
}

fn tenths(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_over_seen_time_and_need_ten_seconds_of_it() {
        let counts = EyeCounts {
            blinks: 7,
            long_closures: 1,
            eyes_seen_ms: 30_000,
            eyes_shut_ms: 1_234,
        };
        assert_eq!(counts.blink_rate_per_min(), Some(14.0));
        assert_eq!(counts.perclos_percent(), Some(4.1));
        let short = EyeCounts {
            eyes_seen_ms: 9_999,
            ..counts
        };
        assert_eq!(
            (short.blink_rate_per_min(), short.perclos_percent()),
            (None, None)
        );
        assert_eq!(blink_rate_per_min(1, 45_000), Some(1.3));
        // Inconsistent counts (more shut than seen) never make more than 100%.
        assert_eq!(perclos_percent(90_000, 60_000), Some(100.0));
    }

    #[test]
    fn counts_add_up_across_a_restart() {
        let before = EyeCounts {
            blinks: 3,
            long_closures: 1,
            eyes_seen_ms: 20_000,
            eyes_shut_ms: 900,
        };
        let after = EyeCounts {
            blinks: 2,
            long_closures: 0,
            eyes_seen_ms: 10_000,
            eyes_shut_ms: 100,
        };
        assert_eq!(
            before.plus(after),
            EyeCounts {
                blinks: 5,
                long_closures: 1,
                eyes_seen_ms: 30_000,
                eyes_shut_ms: 1_000
            }
        );
        assert_eq!(before.plus(after).blink_rate_per_min(), Some(10.0));
    }
}
