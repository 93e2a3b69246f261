//! Focus Sentry's focus clock: turns per-frame attention verdicts and server timestamps into
//! focused and unfocused time, drifts, breaks and alerts; keeps the time with no verdict
//! (starting), paused and offline apart from both. Focused time on the user's extra zones
//! ("notes") is kept per zone, as a part of the focused time, under the same debounce.
//!
//! A pure state machine with time passed in: no clock is read, nothing is awaited, nothing
//! is written. The web layer feeds each analysed frame to [`FocusClock::observe`] with the
//! time the server received it, calls [`FocusClock::tick`] from a timer, shows
//! [`FocusClock::snapshot`] live, persists the [`FocusEvent`]s it gets back (the
//! [`Stretch`]es of the timeline, the [`Break`]s) and stores the [`Summary`] from
//! [`FocusClock::finish`]. Times are `u64` ms on the server's clock (e.g. unix ms);
//! durations are `u64` ms.
//!
//! The exact rules (debounce, drifts and breaks, no signal, out-of-order times) and a
//! worked example are in `docs/focus-clock.md`.
//!
//! ```
//! use focus_clock::{Attention, ClockParams, ClockState, FocusClock, FocusEvent, Reason};
//!
//! let mut clock = FocusClock::new(ClockParams::default(), 0);
//! let mut events = Vec::new();
//! for at_ms in [250, 500, 750] {
//!     events.extend(clock.observe(Attention::Focused, at_ms)); // settles the start at 750
//! }
//! let away = Attention::Unfocused(Reason::LookingAway);
//! for at_ms in [1_000, 1_250, 1_500] {
//!     events.extend(clock.observe(away, at_ms)); // three frames spanning 500 ms: a flip
//! }
//! assert!(events.contains(&FocusEvent::DriftStarted { at_ms: 1_500, reason: Reason::LookingAway }));
//! let live = clock.snapshot(1_750);
//! assert_eq!(live.state, ClockState::Unfocused(Reason::LookingAway));
//! assert_eq!((live.starting_ms, live.focused_ms, live.unfocused_ms), (750, 750, 250));
//! let (summary, _closing_events) = clock.finish(1_750);
//! assert_eq!((summary.total_ms, summary.breaks), (1_750, 0));
//! ```
//!
//! # Layout
//! - [`attention`]: one frame's verdict, [`Attention`], and [`Reason`].
//! - [`params`]: [`ClockParams`] and [`MIN_FLIP_FRAMES`].
//! - [`clock`]: the state machine, [`FocusClock`].
//! - [`events`]: [`FocusEvent`] and the timeline records [`Stretch`] and [`Break`].
//! - [`state`]: what a stretch of time counts as, [`ClockState`] (starting, focused,
//!   unfocused, paused, offline).
//! - [`report`]: the live [`Snapshot`], the final [`Summary`] and [`focus_percent`].
//! - [`zone`]: extra zones ("notes"): [`ZoneId`] and the focused time in each,
//!   [`ZoneTimes`].

pub mod attention;
pub mod clock;
pub mod events;
pub mod params;
pub mod report;
pub mod state;
pub mod zone;

pub use attention::{Attention, Reason, UnknownReason};
pub use clock::FocusClock;
pub use events::{Break, FocusEvent, Stretch};
pub use params::{ClockParams, MIN_FLIP_FRAMES};
pub use report::{Snapshot, Summary, focus_percent};
pub use state::ClockState;
pub use zone::{MAX_ZONES, ZoneId, ZoneTimes};
