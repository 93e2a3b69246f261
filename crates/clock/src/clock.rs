//! The state machine: [`FocusClock`].
//!
//! Time only moves when the caller says so ([`FocusClock::observe`], [`FocusClock::tick`],
//! [`FocusClock::pause`], [`FocusClock::resume`], [`FocusClock::finish`]);
//! [`FocusClock::snapshot`] looks ahead without moving it. The rules are written out, with
//! a worked example, in `docs/focus-clock.md`.

use crate::attention::{Attention, Reason};
use crate::events::{FocusEvent, Stretch};
use crate::params::ClockParams;
use crate::report::{Snapshot, Summary, focus_percent};
use crate::state::ClockState;
use crate::zone::{ZoneId, ZoneTimes};

mod drift;
mod pending;

use drift::Drift;
use pending::{Candidate, Pending};

/// The server-side focus clock of one session.
///
/// Feed it every analysed frame with [`observe`](Self::observe), call
/// [`tick`](Self::tick) from a timer (about every 500 ms) so no-signal and alerts are
/// noticed while no frames arrive, read [`snapshot`](Self::snapshot) for the live page,
/// [`pause`](Self::pause) and [`resume`](Self::resume) it when the user does, and call
/// [`finish`](Self::finish) once at the end. A session continued after the server was down
/// gets a clock from [`restore`](Self::restore). Every method takes the server time in ms;
/// none reads a clock, none blocks, none panics.
///
/// Time is attributed live: the state at any instant is the state as it was known then,
/// and a change is never backdated. So the five totals (focused, unfocused, starting,
/// paused, offline) always add up to the elapsed time and none ever decreases.
#[derive(Debug, Clone)]
pub struct FocusClock {
    params: ClockParams,
    started_at_ms: u64,
    /// Time up to which the clock has accounted; never decreases.
    now_ms: u64,
    /// Timestamp of the last accepted frame as given (or of the last resume), for
    /// rejecting stale frames.
    last_frame_stamp_ms: u64,
    /// When the last accepted frame took effect (its timestamp, or `now_ms` if that was
    /// later); the no-signal grace counts from here.
    last_frame_ms: u64,
    /// The state and since when it holds.
    state: ClockState,
    state_since_ms: u64,
    /// No usable signal: starting, or frames stopped for longer than the grace. Frames
    /// must settle (a run of [`MIN_FLIP_FRAMES`](crate::params::MIN_FLIP_FRAMES) spanning the debounce) before a verdict
    /// counts, and no further signal loss can happen.
    waiting_for_signal: bool,
    /// A change being debounced, or the signal settling.
    pending: Option<Pending>,
    /// The current drift; `Some` exactly when `state` is unfocused.
    drift: Option<Drift>,
    /// The extra zone the user is focused on (`None`: the screen, or not focused), and
    /// since when: a part of the focused state, switched under the same debounce.
    zone: Option<ZoneId>,
    zone_since_ms: u64,
    /// Time per zone up to `zone_since_ms`.
    zone_closed: ZoneTimes,
    /// Totals over closed stretches.
    closed: Totals,
    longest_focus_closed_ms: u64,
    breaks: u32,
    /// Set by `finish`; the clock is frozen from then on.
    summary: Option<Summary>,
}

/// Time per state over closed stretches.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    focused_ms: u64,
    unfocused_ms: u64,
    starting_ms: u64,
    paused_ms: u64,
    offline_ms: u64,
}

impl Totals {
    fn slot(&mut self, state: ClockState) -> &mut u64 {
        match state {
            ClockState::Starting => &mut self.starting_ms,
            ClockState::Focused => &mut self.focused_ms,
            ClockState::Unfocused(_) => &mut self.unfocused_ms,
            ClockState::Paused => &mut self.paused_ms,
            ClockState::Offline => &mut self.offline_ms,
        }
    }

    fn add(&mut self, state: ClockState, ms: u64) {
        let slot = self.slot(state);
        *slot = slot.saturating_add(ms);
    }
}

impl FocusClock {
    /// A clock for a session that starts at `started_at_ms`.
    ///
    /// The clock starts in [`ClockState::Starting`]: no time counts as focused or
    /// unfocused until the frames have settled on a verdict (rule 2 of
    /// `docs/focus-clock.md`). A session that never gets frames stays starting.
    pub fn new(params: ClockParams, started_at_ms: u64) -> Self {
        FocusClock {
            params,
            started_at_ms,
            now_ms: started_at_ms,
            last_frame_stamp_ms: started_at_ms,
            last_frame_ms: started_at_ms,
            state: ClockState::Starting,
            state_since_ms: started_at_ms,
            waiting_for_signal: true,
            pending: None,
            drift: None,
            zone: None,
            zone_since_ms: started_at_ms,
            zone_closed: ZoneTimes::default(),
            closed: Totals::default(),
            longest_focus_closed_ms: 0,
            breaks: 0,
            summary: None,
        }
    }

    /// The clock of a session continued after the server was down: its totals up to the
    /// interruption are `before` (the summary it was closed with), the time from the
    /// interruption (`started_at_ms + before.total_ms`) to `resumed_at_ms` is
    /// [`ClockState::Offline`], and from `resumed_at_ms` the clock is starting again.
    ///
    /// Returns the clock and the events of the restore: the offline stretch (if it lasted
    /// at all) and the change to starting.
    pub fn restore(
        params: ClockParams,
        started_at_ms: u64,
        before: &Summary,
        resumed_at_ms: u64,
    ) -> (Self, Vec<FocusEvent>) {
        let interrupted_ms = started_at_ms.saturating_add(before.total_ms);
        let resumed_at_ms = resumed_at_ms.max(interrupted_ms);
        let mut clock = FocusClock::new(params, started_at_ms);
        clock.closed = Totals {
            focused_ms: before.focused_ms,
            unfocused_ms: before.unfocused_ms,
            starting_ms: before.starting_ms,
            paused_ms: before.paused_ms,
            offline_ms: before.offline_ms,
        };
        clock.longest_focus_closed_ms = before.longest_focus_ms;
        clock.zone_closed = before.zone_ms;
        clock.breaks = before.breaks;
        // If the totals do not add up to the time of the interruption (they always do when
        // they came from this clock), the difference counts as offline, so the invariant
        // holds from here on.
        let accounted_ms = clock
            .closed
            .focused_ms
            .saturating_add(clock.closed.unfocused_ms)
            .saturating_add(clock.closed.starting_ms)
            .saturating_add(clock.closed.paused_ms)
            .saturating_add(clock.closed.offline_ms);
        let mut events = Vec::new();
        let offline_from_ms = started_at_ms
            .saturating_add(accounted_ms)
            .min(resumed_at_ms);
        clock.state = ClockState::Offline;
        clock.state_since_ms = offline_from_ms;
        clock.close_stretch(resumed_at_ms, &mut events);
        clock.state = ClockState::Starting;
        events.push(FocusEvent::StateChanged {
            at_ms: resumed_at_ms,
            state: ClockState::Starting,
        });
        clock.now_ms = resumed_at_ms;
        clock.last_frame_stamp_ms = resumed_at_ms;
        clock.last_frame_ms = resumed_at_ms;
        (clock, events)
    }

    /// The parameters the clock was built with.
    pub fn params(&self) -> ClockParams {
        self.params
    }

    /// When the session started, server clock ms.
    pub fn started_at_ms(&self) -> u64 {
        self.started_at_ms
    }

    /// The state as of the last call that moved time (a pending no-signal is not applied;
    /// use [`snapshot`](Self::snapshot) for that).
    pub fn state(&self) -> ClockState {
        self.state
    }

    /// The time up to which the clock has accounted (the latest time it was given), server
    /// ms.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Since when the current state holds (the start of the open stretch), server ms.
    pub fn state_since_ms(&self) -> u64 {
        self.state_since_ms
    }

    /// Whether the clock is paused.
    pub fn is_paused(&self) -> bool {
        self.state == ClockState::Paused
    }

    /// The summary, once [`finish`](Self::finish) has been called.
    pub fn summary(&self) -> Option<Summary> {
        self.summary
    }

    /// Feeds one analysed frame: its verdict and the server time it was received at.
    ///
    /// - A frame stamped earlier than the last accepted frame (or the last resume) is
    ///   stale and ignored (no events). A frame stamped earlier than the last
    ///   [`tick`](Self::tick) but not than the last frame (its analysis finished after a
    ///   tick) takes effect at the tick's time.
    /// - While starting or after the signal was lost, frames must settle first:
    ///   [`MIN_FLIP_FRAMES`](crate::params::MIN_FLIP_FRAMES) frames, each within `no_signal_after_ms` of the previous,
    ///   spanning at least [`ClockParams::debounce_ms`]; the frame that completes the run
    ///   sets the state. Otherwise a change needs [`MIN_FLIP_FRAMES`](crate::params::MIN_FLIP_FRAMES) consecutive frames
    ///   agreeing on it, spanning at least the debounce.
    /// - While paused the verdict does not count: the frame only moves time, like a tick.
    ///   After [`finish`](Self::finish) it does nothing.
    ///
    /// Returns the events up to and including this frame's time, in time order.
    pub fn observe(&mut self, attention: Attention, at_ms: u64) -> Vec<FocusEvent> {
        let mut events = Vec::new();
        if self.summary.is_some() || at_ms < self.last_frame_stamp_ms {
            return events;
        }
        let at_ms = at_ms.max(self.now_ms);
        self.advance_to(at_ms, &mut events);
        if self.is_paused() {
            // Moves time like a tick; the verdict does not count.
            return events;
        }
        if self.waiting_for_signal {
            let grace_ms = self.no_signal_grace_ms();
            let run = match self.pending {
                Some(run)
                    if run.candidate == Candidate::Settle
                        && at_ms.saturating_sub(run.last_ms) <= grace_ms =>
                {
                    run.extend(at_ms)
                }
                _ => Pending::new(Candidate::Settle, at_ms),
            };
            if run.complete(self.params.debounce_ms) {
                self.waiting_for_signal = false;
                self.pending = None;
                self.apply_verdict(attention, at_ms, &mut events);
            } else {
                self.pending = Some(run);
            }
        } else if let Some(next) = self.debounce(attention, at_ms) {
            self.apply_verdict(next, at_ms, &mut events);
        }
        self.last_frame_stamp_ms = at_ms;
        self.last_frame_ms = at_ms;
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

    /// Pauses the session at `at_ms` (or the clock's time, if later): closes the open
    /// stretch, ends the current drift (with its `BreakClosed` if it was a break; the alert
    /// clears) and counts the time from here as paused. Frames are ignored until
    /// [`resume`](Self::resume). When already paused it only moves time, like a tick;
    /// after [`finish`](Self::finish) it does nothing.
    pub fn pause(&mut self, at_ms: u64) -> Vec<FocusEvent> {
        let mut events = Vec::new();
        if self.summary.is_some() {
            return events;
        }
        let at_ms = at_ms.max(self.now_ms);
        self.advance_to(at_ms, &mut events);
        if self.is_paused() {
            return events;
        }
        self.close_stretch(at_ms, &mut events);
        self.state = ClockState::Paused;
        self.zone = None;
        self.pending = None;
        // No signal can be lost while paused.
        self.waiting_for_signal = true;
        events.push(FocusEvent::StateChanged {
            at_ms,
            state: ClockState::Paused,
        });
        if let Some(drift) = self.drift.take().filter(|drift| drift.alerted) {
            events.push(FocusEvent::BreakClosed(drift.to_break(at_ms)));
        }
        events
    }

    /// Resumes a paused session at `at_ms` (or the clock's time, if later): the clock is
    /// starting again, waiting for frames to settle on a verdict. Frames stamped before
    /// `at_ms` are stale. When not paused it only moves time, like a tick; after
    /// [`finish`](Self::finish) it does nothing.
    pub fn resume(&mut self, at_ms: u64) -> Vec<FocusEvent> {
        let mut events = Vec::new();
        if self.summary.is_some() {
            return events;
        }
        let at_ms = at_ms.max(self.now_ms);
        self.advance_to(at_ms, &mut events);
        if !self.is_paused() {
            return events;
        }
        self.close_stretch(at_ms, &mut events);
        self.state = ClockState::Starting;
        self.waiting_for_signal = true;
        self.pending = None;
        self.last_frame_stamp_ms = at_ms;
        self.last_frame_ms = at_ms;
        events.push(FocusEvent::StateChanged {
            at_ms,
            state: ClockState::Starting,
        });
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
    /// Calling it again returns the same summary and no events; after it, `observe`,
    /// `tick`, `pause` and `resume` do nothing and `snapshot` returns the final numbers.
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
            starting_ms: numbers.starting_ms,
            paused_ms: numbers.paused_ms,
            offline_ms: numbers.offline_ms,
            breaks: numbers.breaks,
            focus_percent: numbers.focus_percent,
            longest_focus_ms: numbers.longest_focus_ms,
            zone_ms: numbers.zone_ms,
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
                .filter(|&lost_at| !self.waiting_for_signal && lost_at < to_ms);
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
    /// at least 1 ms. A frame holds its state for at least its own millisecond.
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
        self.waiting_for_signal = true;
        self.pending = None;
        self.transition(ClockState::Unfocused(Reason::NoSignal), at_ms, events);
    }

    /// Adds `attention` seen at `at_ms` to the debounce; returns the state to flip to when
    /// the run is long enough. Only called while the signal is good (the state is focused
    /// or unfocused).
    fn debounce(&mut self, attention: Attention, at_ms: u64) -> Option<Attention> {
        let candidate = match (self.state, attention) {
            // Focused on the screen or a zone: a change of zone is debounced like a change
            // of reason, so a flicker between the screen and the notes changes nothing.
            (ClockState::Focused, Attention::Focused | Attention::FocusedOn(_)) => {
                (attention.zone() != self.zone).then_some(Candidate::Zone(attention.zone()))
            }
            (ClockState::Focused, Attention::Unfocused(_)) => Some(Candidate::Unfocus),
            (ClockState::Unfocused(_), Attention::Focused | Attention::FocusedOn(_)) => {
                Some(Candidate::Focus)
            }
            (ClockState::Unfocused(current), Attention::Unfocused(seen)) => {
                (current != seen).then_some(Candidate::Reason(seen))
            }
            // Not reached: these states wait for the signal to settle instead.
            (ClockState::Starting | ClockState::Paused | ClockState::Offline, _) => None,
        };
        let Some(candidate) = candidate else {
            // A frame agreeing with the state breaks any run.
            self.pending = None;
            return None;
        };
        let run = match self.pending {
            Some(run) if run.candidate == candidate => run.extend(at_ms),
            _ => Pending::new(candidate, at_ms),
        };
        if run.complete(self.params.debounce_ms) {
            self.pending = None;
            Some(attention)
        } else {
            self.pending = Some(run);
            None
        }
    }

    /// Sets the state to a settled or debounced verdict at `at_ms`: the state, and when
    /// focused the zone (a change of zone alone closes no stretch).
    fn apply_verdict(&mut self, verdict: Attention, at_ms: u64, events: &mut Vec<FocusEvent>) {
        let next = ClockState::from(verdict);
        if next == self.state {
            self.switch_zone(verdict.zone(), at_ms);
        } else {
            self.transition(next, at_ms, events);
            self.zone = verdict.zone();
            self.zone_since_ms = at_ms;
        }
    }

    /// While focused, moves to another zone (`None`: the screen) at `at_ms`.
    fn switch_zone(&mut self, zone: Option<ZoneId>, at_ms: u64) {
        if zone == self.zone {
            return;
        }
        self.close_zone(at_ms);
        self.zone = zone;
    }

    /// Adds the open zone's time up to `at_ms` to its total; the zone stays open from there.
    fn close_zone(&mut self, at_ms: u64) {
        if let Some(zone) = self.zone {
            self.zone_closed
                .add(zone, at_ms.saturating_sub(self.zone_since_ms));
        }
        self.zone_since_ms = at_ms;
    }

    /// Switches the state to `next` at `at_ms` (a no-op if it already holds). Only for the
    /// judged states: pausing and resuming have their own methods. Leaving focused ends the
    /// zone; the caller sets the zone of a new focused state.
    fn transition(&mut self, next: ClockState, at_ms: u64, events: &mut Vec<FocusEvent>) {
        if next == self.state {
            return;
        }
        self.close_stretch(at_ms, events);
        self.state = next;
        self.zone = None;
        self.pending = None;
        events.push(FocusEvent::StateChanged { at_ms, state: next });
        match next {
            ClockState::Unfocused(reason) => match self.drift.as_mut() {
                Some(drift) => drift.switch_reason(reason, at_ms),
                None => {
                    self.drift = Some(Drift::new(at_ms, reason));
                    events.push(FocusEvent::DriftStarted { at_ms, reason });
                }
            },
            ClockState::Focused => {
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
            ClockState::Starting | ClockState::Paused | ClockState::Offline => {}
        }
    }

    /// Ends the open stretch at `at_ms`: adds it (and the open zone's time) to the totals
    /// and reports it (unless empty).
    fn close_stretch(&mut self, at_ms: u64, events: &mut Vec<FocusEvent>) {
        self.close_zone(at_ms);
        let length_ms = at_ms.saturating_sub(self.state_since_ms);
        self.closed.add(self.state, length_ms);
        if self.state.is_focused() {
            self.longest_focus_closed_ms = self.longest_focus_closed_ms.max(length_ms);
        }
        if length_ms > 0 {
            events.push(FocusEvent::StretchClosed(Stretch {
                start_ms: self.state_since_ms,
                end_ms: at_ms,
                state: self.state,
            }));
        }
        self.state_since_ms = at_ms;
    }

    /// The live numbers at `at_ms`, which must not be before the clock's time.
    fn numbers(&self, at_ms: u64) -> Snapshot {
        let open_ms = at_ms.saturating_sub(self.state_since_ms);
        let mut totals = self.closed;
        totals.add(self.state, open_ms);
        let mut zone_ms = self.zone_closed;
        let zone = self.zone.filter(|_| self.state.is_focused());
        if let Some(zone) = zone {
            zone_ms.add(zone, at_ms.saturating_sub(self.zone_since_ms));
        }
        let longest_focus_ms = if self.state.is_focused() {
            self.longest_focus_closed_ms.max(open_ms)
        } else {
            self.longest_focus_closed_ms
        };
        Snapshot {
            state: self.state,
            focused: self.state.is_focused(),
            alert: self.drift.is_some_and(|drift| drift.alerted),
            focused_ms: totals.focused_ms,
            unfocused_ms: totals.unfocused_ms,
            starting_ms: totals.starting_ms,
            paused_ms: totals.paused_ms,
            offline_ms: totals.offline_ms,
            breaks: self.breaks,
            focus_percent: focus_percent(totals.focused_ms, totals.unfocused_ms),
            longest_focus_ms,
            drift_ms: self
                .drift
                .map_or(0, |drift| at_ms.saturating_sub(drift.started_ms)),
            state_ms: open_ms,
            zone,
            zone_ms,
        }
    }
}

#[cfg(test)]
mod tests;
