//! Focus Sentry's focus clock: turns per-frame attention verdicts and server timestamps into
//! focused and unfocused time, drifts, breaks and alerts.
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
//! use focus_clock::{Attention, ClockParams, FocusClock, FocusEvent, Reason};
//!
//! let mut clock = FocusClock::new(ClockParams::default(), 0);
//! let away = Attention::Unfocused(Reason::LookingAway);
//! let mut events = Vec::new();
//! for at_ms in [250, 500, 750] {
//!     events.extend(clock.observe(away, at_ms)); // three frames spanning 500 ms: a flip
//! }
//! assert!(events.contains(&FocusEvent::DriftStarted { at_ms: 750, reason: Reason::LookingAway }));
//! let live = clock.snapshot(1_000);
//! assert_eq!((live.focused_ms, live.unfocused_ms, live.drift_ms), (750, 250, 250));
//! let (summary, _closing_events) = clock.finish(1_000);
//! assert_eq!((summary.total_ms, summary.breaks), (1_000, 0));
//! ```
//!
//! # Layout
//! - [`attention`]: one frame's verdict, [`Attention`], and [`Reason`].
//! - [`params`]: [`ClockParams`] and [`MIN_FLIP_FRAMES`].
//! - [`clock`]: the state machine, [`FocusClock`].
//! - [`events`]: [`FocusEvent`] and the timeline records [`Stretch`] and [`Break`].
//! - [`report`]: the live [`Snapshot`], the final [`Summary`] and [`focus_percent`].

pub mod attention;
pub mod clock;
pub mod events;
pub mod params;
pub mod report;

pub use attention::{Attention, Reason, UnknownReason};
pub use clock::FocusClock;
pub use events::{Break, FocusEvent, Stretch};
pub use params::{ClockParams, MIN_FLIP_FRAMES};
pub use report::{Snapshot, Summary, focus_percent};
