//! Tuning of the clock: [`ClockParams`] and the fixed [`MIN_FLIP_FRAMES`].

use serde::{Deserialize, Serialize};

/// A debounced flip needs at least this many consecutive frames agreeing on the new state,
/// so one odd frame between normal ones can never flip the state, whatever
/// [`ClockParams::debounce_ms`] is. Not configurable for that reason.
pub const MIN_FLIP_FRAMES: u32 = 2;

/// Tuning of a [`FocusClock`](crate::FocusClock). All values are milliseconds.
///
/// Any value is accepted (none can make the clock panic); the defaults are the product's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClockParams {
    /// A drift that lasts at least this long (`>=`) becomes a break: the alert fires at
    /// `drift start + alert_threshold_ms`. Default 10 000 ms: well above a glance at a
    /// phone or a note (1-3 s, plus the debounce), short enough that the nudge is still
    /// useful. `0` makes every drift a break.
    pub alert_threshold_ms: u64,
    /// A flip needs [`MIN_FLIP_FRAMES`] consecutive frames with the new state whose
    /// timestamps span at least this long (first to last, `>=`). Default 500 ms: about
    /// three frames at the browser's usual 4-5 frames per second, longer than a blink.
    pub debounce_ms: u64,
    /// When no frame arrives for more than this long (strictly), the time after
    /// `last frame + no_signal_after_ms` is unfocused with [`Reason::NoSignal`].
    /// Default 2 000 ms. `0` acts as 1 ms: a frame always holds its state for its own
    /// millisecond.
    ///
    /// [`Reason::NoSignal`]: crate::Reason::NoSignal
    pub no_signal_after_ms: u64,
}

impl ClockParams {
    /// The product defaults: alert after 10 s, 500 ms debounce, no signal after 2 s.
    pub const DEFAULT: ClockParams = ClockParams {
        alert_threshold_ms: 10_000,
        debounce_ms: 500,
        no_signal_after_ms: 2_000,
    };
}

impl Default for ClockParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}
