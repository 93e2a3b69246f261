//! What the clock reports as it runs: [`FocusEvent`]s, and the timeline records
//! [`Stretch`] and [`Break`] they carry.

use serde::{Deserialize, Serialize};

use crate::attention::Reason;
use crate::state::ClockState;

/// A closed interval `[start_ms, end_ms)` of one state, for the history timeline.
///
/// The stretches of a session tile it: the first starts at the session start, each starts
/// where the previous ended, the last ends at [`FocusClock::finish`](crate::FocusClock::finish).
/// Stretches of zero length are never reported, and a stretch the clock ends by itself
/// (a debounced flip, a lost or regained signal) lasts at least
/// `min(debounce_ms, no_signal_after_ms)`; only the user (pause, resume, end) can cut one
/// shorter.
///
/// Serialised with the state flattened:
/// `{"start_ms":0,"end_ms":1750,"state":"unfocused","reason":"no_face"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stretch {
    /// Start, server clock ms (inclusive).
    pub start_ms: u64,
    /// End, server clock ms (exclusive); always greater than `start_ms`.
    pub end_ms: u64,
    /// The state held over the whole stretch (an unfocused reason change starts a new one).
    #[serde(flatten)]
    pub state: ClockState,
}

impl Stretch {
    /// `end_ms - start_ms`.
    pub const fn duration_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// A drift that lasted at least the alert threshold, as persisted in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Break {
    /// When the drift started (the debounced flip to unfocused), server clock ms.
    pub start_ms: u64,
    /// When focus returned, or the session finished, server clock ms.
    pub end_ms: u64,
    /// The reason that held longest over the whole drift (ties: the one seen first).
    pub reason: Reason,
}

impl Break {
    /// `end_ms - start_ms`; at least the alert threshold.
    pub const fn duration_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// Something that happened on the clock. All times are server clock ms.
///
/// Events come out in time order (`at_ms` never decreases over a session). A flip at `t`
/// yields, in this order: `StretchClosed` (the stretch ending at `t`), `StateChanged`, then
/// `DriftStarted` or `Refocused`, then `BreakClosed` if the drift was a break. A pause
/// yields `StretchClosed`, `StateChanged` (to paused), then `BreakClosed` if the drift it
/// ended was a break (a pause ends a drift without a `Refocused`).
///
/// Serialised internally tagged, e.g. `{"type":"drift_started","at_ms":1750,"reason":"looking_away"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FocusEvent {
    /// The state changed: a debounced flip (focused <-> unfocused, or the unfocused
    /// reason), the signal lost or settled, a pause or a resume.
    StateChanged {
        /// When the new state took effect.
        at_ms: u64,
        /// The new state (flattened: `"state":"unfocused","reason":"no_face"`).
        #[serde(flatten)]
        state: ClockState,
    },
    /// The user became unfocused: a drift began (it may yet turn out to be a glance).
    DriftStarted {
        /// When the drift started (same as the `StateChanged` beside it).
        at_ms: u64,
        /// The reason at the start of the drift.
        reason: Reason,
    },
    /// The drift reached the alert threshold: it is now a break (counted in `breaks`) and
    /// the alert is on until focus returns. Fires at most once per drift.
    Alert {
        /// Exactly `drift_started_ms + alert_threshold_ms`, whenever it was detected.
        at_ms: u64,
        /// When the drift started.
        drift_started_ms: u64,
        /// The drift's reason so far: the one that held longest up to `at_ms`.
        reason: Reason,
    },
    /// Focus returned; the drift is over and the alert (if any) clears.
    Refocused {
        /// When focus returned.
        at_ms: u64,
        /// When the drift started.
        drift_started_ms: u64,
        /// Whether the drift had become a break (an `Alert` fired for it).
        was_break: bool,
    },
    /// A stretch of one state ended; append it to the timeline.
    StretchClosed(Stretch),
    /// A break ended (on refocus or at finish); persist it.
    BreakClosed(Break),
}

impl FocusEvent {
    /// When the event happened: `at_ms`, or `end_ms` for the closed records.
    pub const fn at_ms(&self) -> u64 {
        match self {
            FocusEvent::StateChanged { at_ms, .. }
            | FocusEvent::DriftStarted { at_ms, .. }
            | FocusEvent::Alert { at_ms, .. }
            | FocusEvent::Refocused { at_ms, .. } => *at_ms,
            FocusEvent::StretchClosed(stretch) => stretch.end_ms,
            FocusEvent::BreakClosed(brk) => brk.end_ms,
        }
    }
}
