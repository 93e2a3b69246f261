//! The state machine: [`FocusClock`].
//!
//! Time only moves when the caller says so ([`FocusClock::observe`], [`FocusClock::tick`],
//! [`FocusClock::finish`]); [`FocusClock::snapshot`] looks ahead without moving it. The
//! rules are written out, with a worked example, in `docs/focus-clock.md`.

use std::cmp::Reverse;

use crate::attention::{Attention, Reason};
use crate::events::{Break, FocusEvent, Stretch};
use crate::params::{ClockParams, MIN_FLIP_FRAMES};
use crate::report::{Snapshot, Summary, focus_percent};

/// The server-side focus clock of one session.
///
/// Feed it every analysed frame with [`observe`](Self::observe), call
/// [`tick`](Self::tick) from a timer (about every 500 ms) so no-signal and alerts are
/// noticed while no frames arrive, read [`snapshot`](Self::snapshot) for the live page and
/// call [`finish`](Self::finish) once at the end. Every method takes the server time in
/// ms; none reads a clock, none blocks, none panics.
///
/// Time is attributed live: the state at any instant is the debounced state as it was
/// known then, and a flip is never backdated. So `focused_ms + unfocused_ms` always equals
/// the elapsed time and neither ever decreases.
#[derive(Debug, Clone)]
pub struct FocusClock {
    params: ClockParams,
    started_at_ms: u64,
    /// Time up to which the clock has accounted; never decreases.
    now_ms: u64,
    /// Timestamp of the last accepted frame as given, for rejecting stale frames.
    last_frame_stamp_ms: u64,
    /// When the last accepted frame took effect (its timestamp, or `now_ms` if that was
    /// later); the no-signal grace counts from here.
    last_frame_ms: u64,
    /// The debounced state and since when it holds.
    state: Attention,
    state_since_ms: u64,
    /// No frame for more than `no_signal_after_ms`: waiting for frames to resume.
    in_gap: bool,
    /// A flip being debounced.
    pending: Option<Pending>,
    /// The current drift; `Some` exactly when `state` is unfocused.
    drift: Option<Drift>,
    /// Totals over closed stretches.
    focused_closed_ms: u64,
    unfocused_closed_ms: u64,
    longest_focus_closed_ms: u64,
    breaks: u32,
    /// Set by `finish`; the clock is frozen from then on.
    summary: Option<Summary>,
}

/// What a run of frames is trying to flip to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Candidate {
    /// Unfocused -> focused.
    Focus,
    /// Focused -> unfocused, whatever the reasons in the run (the last one wins).
    Unfocus,
    /// Unfocused with another reason -> unfocused with this one.
    Reason(Reason),
}

/// A run of consecutive frames agreeing on a [`Candidate`].
#[derive(Debug, Clone, Copy)]
struct Pending {
    candidate: Candidate,
    /// Effective time of the first frame of the run.
    first_ms: u64,
    frames: u32,
}

/// The unfocused time since the last focused stretch.
#[derive(Debug, Clone, Copy)]
struct Drift {
    started_ms: u64,
    /// The alert fired: this drift is a break.
    alerted: bool,
    /// The current reason and since when.
    reason: Reason,
    reason_since_ms: u64,
    /// Closed time per reason, indexed by [`Reason::index`].
    reason_ms: [u64; 4],
    /// When each reason first appeared in this drift (for ties).
    first_seen_ms: [Option<u64>; 4],
}

impl Drift {
    fn new(at_ms: u64, reason: Reason) -> Self {
        let mut first_seen_ms = [None; 4];
        first_seen_ms[reason.index()] = Some(at_ms);
        Drift {
            started_ms: at_ms,
            alerted: false,
            reason,
            reason_since_ms: at_ms,
            reason_ms: [0; 4],
            first_seen_ms,
        }
    }

    fn switch_reason(&mut self, reason: Reason, at_ms: u64) {
        let held_ms = at_ms.saturating_sub(self.reason_since_ms);
        let slot = &mut self.reason_ms[self.reason.index()];
        *slot = slot.saturating_add(held_ms);
        self.reason = reason;
        self.reason_since_ms = at_ms;
        self.first_seen_ms[reason.index()].get_or_insert(at_ms);
    }

    /// The drift's reason as of `at_ms`: the one held longest in total, ties going to the
    /// one that appeared first.
    fn main_reason(&self, at_ms: u64) -> Reason {
        let held_ms = |reason: Reason| {
            let closed = self.reason_ms[reason.index()];
            if reason == self.reason {
                closed.saturating_add(at_ms.saturating_sub(self.reason_since_ms))
            } else {
                closed
            }
        };
        Reason::ALL
            .into_iter()
            .filter_map(|reason| {
                let seen_ms = self.first_seen_ms[reason.index()]?;
                Some((reason, held_ms(reason), seen_ms))
            })
            .max_by_key(|&(_, held_ms, seen_ms)| (held_ms, Reverse(seen_ms)))
            .map_or(self.reason, |(reason, _, _)| reason)
    }

    fn to_break(self, end_ms: u64) -> Break {
        Break {
            start_ms: self.started_ms,
            end_ms,
            reason: self.main_reason(end_ms),
        }
    }
}

impl FocusClock {
    /// A clock for a session that starts at `started_at_ms`.
    ///
    /// The start counts as a focused frame: the state is focused, and the no-signal grace
    /// runs from the start, so a session that never receives a frame turns unfocused
    /// (no signal) after `no_signal_after_ms`.
    pub fn new(params: ClockParams, started_at_ms: u64) -> Self {
        FocusClock {
            params,
            started_at_ms,
            now_ms: started_at_ms,
            last_frame_stamp_ms: started_at_ms,
            last_frame_ms: started_at_ms,
            state: Attention::Focused,
            state_since_ms: started_at_ms,
            in_gap: false,
            pending: None,
            drift: None,
            focused_closed_ms: 0,
            unfocused_closed_ms: 0,
            longest_focus_closed_ms: 0,
            breaks: 0,
            summary: None,
        }
    }

    /// The parameters the clock was built with.
    pub fn params(&self) -> ClockParams {
        self.params
    }

    /// When the session started, server clock ms.
    pub fn started_at_ms(&self) -> u64 {
        self.started_at_ms
    }

    /// The debounced state as of the last call that moved time (a pending no-signal is
    /// not applied; use [`snapshot`](Self::snapshot) for that).
    pub fn attention(&self) -> Attention {
        self.state
    }

    /// The summary, once [`finish`](Self::finish) has been called.
    pub fn summary(&self) -> Option<Summary> {
        self.summary
    }

    /// Feeds one analysed frame: its verdict and the server time it was received at.
    ///
    /// - A frame stamped earlier than the last accepted frame is stale and ignored (no
    ///   events). A frame stamped earlier than the last [`tick`](Self::tick) but not than
    ///   the last frame (its analysis finished after a tick) takes effect at the tick's time.
    /// - The first frame after a no-signal gap sets the state at once; otherwise a flip
    ///   needs [`MIN_FLIP_FRAMES`] consecutive agreeing frames spanning at least
    ///   [`ClockParams::debounce_ms`].
    /// - Does nothing after [`finish`](Self::finish).
    ///
    /// Returns the events up to and including this frame's time, in time order.
    pub fn observe(&mut self, attention: Attention, at_ms: u64) -> Vec<FocusEvent> {
        let mut events = Vec::new();
        if self.summary.is_some() || at_ms < self.last_frame_stamp_ms {
            return events;
        }
        let at_ms = at_ms.max(self.now_ms);
        self.advance_to(at_ms, &mut events);
        self.last_frame_stamp_ms = at_ms;
        self.last_frame_ms = at_ms;
        if self.in_gap {
            // Nothing to debounce against: the feed was silent, this is the best reading.
            self.in_gap = false;
            self.pending = None;
            self.transition(attention, at_ms, &mut events);
        } else if let Some(next) = self.debounce(attention, at_ms) {
            self.transition(next, at_ms, &mut events);
        }
        // A drift that began just now is already a break if the threshold is 0.
        self.advance_to(at_ms, &mut events);
        events
    }

    /// Moves time to `at_ms` without a frame: fires the no-signal flip and the alert when
    /// they fall due. A time earlier than the clock's is a no-op. Does nothing after
    /// [`finish`](Self::finish).
    pub fn tick(&mut self, at_ms: u64) -> Vec<FocusEvent> {
        let mut events = Vec::new();
        if self.summary.is_none() {
            self.advance_to(at_ms, &mut events);
        }
        events
    }

    /// The live numbers as of `at_ms`, counting the open stretch up to `at_ms` and applying
    /// any no-signal flip or alert that would fall due by then (without emitting events;
    /// the next `tick` or `observe` will).
    ///
    /// A time earlier than the clock's is read as the clock's time, so successive
    /// snapshots never go backwards. After [`finish`](Self::finish), the final numbers.
    pub fn snapshot(&self, at_ms: u64) -> Snapshot {
        if self.summary.is_some() {
            return self.numbers(self.now_ms);
        }
        let at_ms = at_ms.max(self.now_ms);
        let mut ahead = self.clone();
        ahead.advance_to(at_ms, &mut Vec::new());
        ahead.numbers(at_ms)
    }

    /// Ends the session at `at_ms` (or the clock's time, if later): applies what falls due,
    /// closes the open stretch and, if the current drift is a break, the break.
    ///
    /// Calling it again returns the same summary and no events; after it, `observe` and
    /// `tick` do nothing and `snapshot` returns the final numbers.
    pub fn finish(&mut self, at_ms: u64) -> (Summary, Vec<FocusEvent>) {
        if let Some(summary) = self.summary {
            return (summary, Vec::new());
        }
        let mut events = Vec::new();
        let at_ms = at_ms.max(self.now_ms);
        self.advance_to(at_ms, &mut events);
        self.close_stretch(at_ms, &mut events);
        if let Some(drift) = self.drift.filter(|drift| drift.alerted) {
            events.push(FocusEvent::BreakClosed(drift.to_break(at_ms)));
        }
        self.pending = None;
        let numbers = self.numbers(at_ms);
        let summary = Summary {
            total_ms: at_ms.saturating_sub(self.started_at_ms),
            focused_ms: numbers.focused_ms,
            unfocused_ms: numbers.unfocused_ms,
            breaks: numbers.breaks,
            focus_percent: numbers.focus_percent,
            longest_focus_ms: numbers.longest_focus_ms,
        };
        self.summary = Some(summary);
        (summary, events)
    }

    /// Applies, in time order, every alert and no-signal flip due by `to_ms`, then moves
    /// the clock to `to_ms` (if later).
    fn advance_to(&mut self, to_ms: u64, events: &mut Vec<FocusEvent>) {
        loop {
            let alert_at = self
                .drift
                .filter(|drift| !drift.alerted)
                .and_then(|drift| drift.started_ms.checked_add(self.params.alert_threshold_ms))
                .filter(|&alert_at| alert_at <= to_ms);
            // Past the end of u64, a deadline is never due.
            let signal_lost_at = self
                .last_frame_ms
                .checked_add(self.no_signal_grace_ms())
                .filter(|&lost_at| !self.in_gap && lost_at < to_ms);
            // On a tie the alert goes first: the drift reached the threshold before the
            // reason changed to no signal.
            match (alert_at, signal_lost_at) {
                (Some(alert_at), Some(lost_at)) if lost_at < alert_at => {
                    self.lose_signal(lost_at, events);
                }
                (Some(alert_at), _) => self.fire_alert(alert_at, events),
                (None, Some(lost_at)) => self.lose_signal(lost_at, events),
                (None, None) => break,
            }
        }
        self.now_ms = self.now_ms.max(to_ms);
    }

    /// How long after the last frame the signal counts as lost: `no_signal_after_ms`, but
    /// at least 1 ms. A frame holds its state for at least its own millisecond; with a grace
    /// of 0, the state a frame set after a gap would last no time at all and the timeline
    /// would show the gap twice in a row around an empty stretch.
    fn no_signal_grace_ms(&self) -> u64 {
        self.params.no_signal_after_ms.max(1)
    }

    fn fire_alert(&mut self, at_ms: u64, events: &mut Vec<FocusEvent>) {
        let Some(drift) = self.drift.as_mut() else {
            return;
        };
        drift.alerted = true;
        self.breaks = self.breaks.saturating_add(1);
        events.push(FocusEvent::Alert {
            at_ms,
            drift_started_ms: drift.started_ms,
            reason: drift.main_reason(at_ms),
        });
    }

    fn lose_signal(&mut self, at_ms: u64, events: &mut Vec<FocusEvent>) {
        self.in_gap = true;
        self.pending = None;
        self.transition(Attention::Unfocused(Reason::NoSignal), at_ms, events);
    }

    /// Adds `attention` seen at `at_ms` to the debounce; returns the state to flip to when
    /// the run is long enough.
    fn debounce(&mut self, attention: Attention, at_ms: u64) -> Option<Attention> {
        let candidate = match (self.state, attention) {
            (Attention::Focused, Attention::Focused) => None,
            (Attention::Focused, Attention::Unfocused(_)) => Some(Candidate::Unfocus),
            (Attention::Unfocused(_), Attention::Focused) => Some(Candidate::Focus),
            (Attention::Unfocused(current), Attention::Unfocused(seen)) => {
                (current != seen).then_some(Candidate::Reason(seen))
            }
        };
        let Some(candidate) = candidate else {
            // A frame agreeing with the state breaks any run.
            self.pending = None;
            return None;
        };
        let run = match self.pending {
            Some(run) if run.candidate == candidate => Pending {
                frames: run.frames.saturating_add(1),
                ..run
            },
            _ => Pending {
                candidate,
                first_ms: at_ms,
                frames: 1,
            },
        };
        if run.frames >= MIN_FLIP_FRAMES
            && at_ms.saturating_sub(run.first_ms) >= self.params.debounce_ms
        {
            self.pending = None;
            Some(attention)
        } else {
            self.pending = Some(run);
            None
        }
    }

    /// Switches the debounced state to `next` at `at_ms` (a no-op if it already holds).
    fn transition(&mut self, next: Attention, at_ms: u64, events: &mut Vec<FocusEvent>) {
        if next == self.state {
            return;
        }
        self.close_stretch(at_ms, events);
        self.state = next;
        self.pending = None;
        events.push(FocusEvent::StateChanged {
            at_ms,
            attention: next,
        });
        match next {
            Attention::Unfocused(reason) => match self.drift.as_mut() {
                Some(drift) => drift.switch_reason(reason, at_ms),
                None => {
                    self.drift = Some(Drift::new(at_ms, reason));
                    events.push(FocusEvent::DriftStarted { at_ms, reason });
                }
            },
            Attention::Focused => {
                if let Some(drift) = self.drift.take() {
                    events.push(FocusEvent::Refocused {
                        at_ms,
                        drift_started_ms: drift.started_ms,
                        was_break: drift.alerted,
                    });
                    if drift.alerted {
                        events.push(FocusEvent::BreakClosed(drift.to_break(at_ms)));
                    }
                }
            }
        }
    }

    /// Ends the open stretch at `at_ms`: adds it to the totals and reports it (unless empty).
    fn close_stretch(&mut self, at_ms: u64, events: &mut Vec<FocusEvent>) {
        let length_ms = at_ms.saturating_sub(self.state_since_ms);
        if self.state.is_focused() {
            self.focused_closed_ms = self.focused_closed_ms.saturating_add(length_ms);
            self.longest_focus_closed_ms = self.longest_focus_closed_ms.max(length_ms);
        } else {
            self.unfocused_closed_ms = self.unfocused_closed_ms.saturating_add(length_ms);
        }
        if length_ms > 0 {
            events.push(FocusEvent::StretchClosed(Stretch {
                start_ms: self.state_since_ms,
                end_ms: at_ms,
                attention: self.state,
            }));
        }
        self.state_since_ms = at_ms;
    }

    /// The live numbers at `at_ms`, which must not be before the clock's time.
    fn numbers(&self, at_ms: u64) -> Snapshot {
        let open_ms = at_ms.saturating_sub(self.state_since_ms);
        let focused = self.state.is_focused();
        let (focused_ms, unfocused_ms, longest_focus_ms) = if focused {
            (
                self.focused_closed_ms.saturating_add(open_ms),
                self.unfocused_closed_ms,
                self.longest_focus_closed_ms.max(open_ms),
            )
        } else {
            (
                self.focused_closed_ms,
                self.unfocused_closed_ms.saturating_add(open_ms),
                self.longest_focus_closed_ms,
            )
        };
        Snapshot {
            focused,
            reason: self.state.reason(),
            alert: self.drift.is_some_and(|drift| drift.alerted),
            focused_ms,
            unfocused_ms,
            breaks: self.breaks,
            focus_percent: focus_percent(focused_ms, unfocused_ms),
            longest_focus_ms,
            drift_ms: self
                .drift
                .map_or(0, |drift| at_ms.saturating_sub(drift.started_ms)),
        }
    }
}

#[cfg(test)]
mod tests;
