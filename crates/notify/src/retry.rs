//! When to try a failed send again: exponential backoff with a cap.
//!
//! The delivery queue lives in the app; this module only answers "how long
//! until attempt N+1, if at all". Attempts are counted from 1: after the
//! first failure, `delay_after(1)` is the wait before the second attempt.

use crate::{ErrorKind, SendError};

/// Backoff settings for one notification.
///
/// With the defaults a notification is tried 5 times, waiting
/// 2 s, 4 s, 8 s and 16 s in between (30 s in all); `max_delay_ms` matters
/// when `max_attempts` is raised (the 9th wait would be 512 s, capped to 300 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included. 0 behaves like 1.
    pub max_attempts: u32,
    /// Wait after the first failed attempt, in milliseconds; doubles after
    /// each further failure.
    pub base_delay_ms: u64,
    /// Upper bound of any single wait, in milliseconds.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay_ms: 2_000,
            max_delay_ms: 5 * 60 * 1_000,
        }
    }
}

impl RetryPolicy {
    /// Milliseconds to wait after attempt number `attempt` (1-based) failed,
    /// or `None` when that was the last attempt allowed.
    ///
    /// `delay_after(0)` (nothing tried yet) is `Some(0)`: go now.
    pub fn delay_after(&self, attempt: u32) -> Option<u64> {
        if attempt == 0 {
            return Some(0);
        }
        if attempt >= self.max_attempts {
            return None;
        }
        // base * 2^(attempt-1), saturating: 2^64 ms is far past any cap.
        let factor = 1u64.checked_shl(attempt - 1).unwrap_or(u64::MAX);
        Some(
            self.base_delay_ms
                .saturating_mul(factor)
                .min(self.max_delay_ms),
        )
    }

    /// Like [`RetryPolicy::delay_after`], but `None` straight away for a
    /// permanent error: retrying bad credentials only locks the account.
    pub fn retry_delay(&self, attempt: u32, error: &SendError) -> Option<u64> {
        match error.kind {
            ErrorKind::Transient => self.delay_after(attempt),
            ErrorKind::Permanent => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_doubles_then_stops() {
        let p = RetryPolicy::default();
        let delays: Vec<Option<u64>> = (0..=6).map(|a| p.delay_after(a)).collect();
        assert_eq!(
            delays,
            vec![
                Some(0),
                Some(2_000),
                Some(4_000),
                Some(8_000),
                Some(16_000),
                None,
                None
            ]
        );
    }

    #[test]
    fn delay_is_capped_and_never_overflows() {
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            base_delay_ms: 2_000,
            max_delay_ms: 300_000,
        };
        assert_eq!(p.delay_after(8), Some(256_000));
        assert_eq!(p.delay_after(9), Some(300_000));
        assert_eq!(p.delay_after(64), Some(300_000));
        assert_eq!(p.delay_after(1_000), Some(300_000));
    }

    #[test]
    fn single_attempt_policies_never_retry() {
        for max_attempts in [0, 1] {
            let p = RetryPolicy {
                max_attempts,
                ..RetryPolicy::default()
            };
            assert_eq!(p.delay_after(1), None);
        }
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let p = RetryPolicy::default();
        assert_eq!(p.retry_delay(1, &SendError::permanent("535")), None);
        assert_eq!(p.retry_delay(1, &SendError::transient("421")), Some(2_000));
        assert_eq!(p.retry_delay(5, &SendError::transient("421")), None);
    }
}
