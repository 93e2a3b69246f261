//! The numbers the clock reports: [`Snapshot`] for the live page, [`Summary`] at the end.

use serde::{Deserialize, Serialize};

use crate::attention::Reason;
use crate::state::ClockState;
use crate::zone::{ZoneId, ZoneTimes};

/// Live numbers as of one instant, for the session page.
///
/// `focused_ms + unfocused_ms + starting_ms + paused_ms + offline_ms` is the time since the
/// session started ([`Snapshot::elapsed_ms`]); none of those, nor `breaks` or
/// `longest_focus_ms`, ever decreases from one snapshot to the next.
///
/// Serialised with the state flattened: `"state":"unfocused","reason":"no_face"` (no
/// `reason` key in the other states).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The clock's state now: starting, focused, unfocused (with the reason) or paused.
    #[serde(flatten)]
    pub state: ClockState,
    /// The state is focused (the same as `state == Focused`, for simple clients).
    pub focused: bool,
    /// The current drift has reached the alert threshold (cleared on refocus or pause).
    pub alert: bool,
    /// Time focused so far, including the open stretch.
    pub focused_ms: u64,
    /// Time unfocused so far (every reason, no signal included), including the open stretch.
    pub unfocused_ms: u64,
    /// Time with no verdict yet (the start, and after each resume), including the open one.
    pub starting_ms: u64,
    /// Time paused, including the open pause.
    pub paused_ms: u64,
    /// Time the server was down, from an interruption to the session's resume.
    pub offline_ms: u64,
    /// Breaks so far (alerts fired), including the current drift if it is one.
    pub breaks: u32,
    /// `focused_ms / (focused_ms + unfocused_ms) * 100`, truncated to one decimal place,
    /// in `[0, 100]`; `0.0` when nothing was measured yet. See [`focus_percent`].
    pub focus_percent: f64,
    /// Longest focused stretch so far, including the open one.
    pub longest_focus_ms: u64,
    /// Length of the current drift (0 when not unfocused). At most `unfocused_ms`.
    pub drift_ms: u64,
    /// How long the current state (and, when unfocused, its reason) has held: the open
    /// stretch. At most `drift_ms` when unfocused. "Eyes closed for N s" is this.
    pub state_ms: u64,
    /// The extra zone the user is focused on (debounced like the state); `None` on the
    /// screen and whenever not focused. Not serialised when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    /// Focused time per extra zone so far, including the open one: a part of
    /// `focused_ms` (their sum is at most it). Not serialised when every zone is at 0.
    #[serde(default, skip_serializing_if = "ZoneTimes::is_empty")]
    pub zone_ms: ZoneTimes,
}

impl Snapshot {
    /// Why not focused, when unfocused.
    pub const fn reason(&self) -> Option<Reason> {
        self.state.reason()
    }

    /// Time since the session start: the sum of the five totals.
    pub const fn elapsed_ms(&self) -> u64 {
        self.focused_ms
            .saturating_add(self.unfocused_ms)
            .saturating_add(self.starting_ms)
            .saturating_add(self.paused_ms)
            .saturating_add(self.offline_ms)
    }
}

/// The final numbers of a session, from [`FocusClock::finish`](crate::FocusClock::finish).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Session length: finish time minus start time. Equals `focused_ms + unfocused_ms +
    /// starting_ms + paused_ms + offline_ms`.
    pub total_ms: u64,
    /// Time focused.
    pub focused_ms: u64,
    /// Time unfocused (every reason, no-signal included).
    pub unfocused_ms: u64,
    /// Time with no verdict (the start, and after each resume).
    pub starting_ms: u64,
    /// Time paused.
    pub paused_ms: u64,
    /// Time the server was down between an interruption and the resume.
    pub offline_ms: u64,
    /// Number of breaks (drifts that reached the alert threshold).
    pub breaks: u32,
    /// As [`Snapshot::focus_percent`]: over the measured time, focused + unfocused.
    pub focus_percent: f64,
    /// Longest focused stretch.
    pub longest_focus_ms: u64,
    /// Focused time per extra zone: a part of `focused_ms`. Not serialised when every zone
    /// is at 0.
    #[serde(default, skip_serializing_if = "ZoneTimes::is_empty")]
    pub zone_ms: ZoneTimes,
}

/// `focused_ms / (focused_ms + unfocused_ms) * 100`, truncated (not rounded) to one decimal
/// place, so `100.0` means no unfocused time at all and `0.0` no focused time (or no time).
///
/// Computed in integers, so the live page and the stored summary agree to the digit.
pub fn focus_percent(focused_ms: u64, unfocused_ms: u64) -> f64 {
    let total = u128::from(focused_ms) + u128::from(unfocused_ms);
    if total == 0 {
        return 0.0;
    }
    // Per mille, truncated: at most 1000, so the conversion to f64 is exact.
    let per_mille = u128::from(focused_ms) * 1000 / total;
    let per_mille = u32::try_from(per_mille).unwrap_or(1000);
    f64::from(per_mille) / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_percent_table() {
        let cases: [(u64, u64, f64); 8] = [
            (0, 0, 0.0),
            (0, 5, 0.0),
            (5, 0, 100.0),
            (1, 1, 50.0),
            (2, 1, 66.6),     // 66.67 truncates, does not round up
            (9_999, 1, 99.9), // 99.99 stays below 100: there was unfocused time
            (1, 9_999, 0.0),
            (u64::MAX, u64::MAX, 50.0), // no overflow
        ];
        for (focused, unfocused, want) in cases {
            assert_eq!(
                focus_percent(focused, unfocused),
                want,
                "focus_percent({focused}, {unfocused})"
            );
        }
    }
}
