//! Table-driven tests of the clock's rules. Every script is also checked, after every
//! step, for the invariants (the five totals add up to the elapsed time, counters never
//! decrease).
//!
//! Most tables test one rule from a clock that has already settled on focused at `START`
//! ([`Run::script`]); the start itself (rule 2) is tested from a fresh clock
//! ([`Run::fresh`]), as is the worked example of the docs.

use super::*;
use crate::events::Break;
use crate::params::MIN_FLIP_FRAMES;

const START: u64 = 0;
const FOCUSED: ClockState = ClockState::Focused;
const AWAY: ClockState = ClockState::Unfocused(Reason::LookingAway);
const CLOSED: ClockState = ClockState::Unfocused(Reason::EyesClosed);
const NO_FACE: ClockState = ClockState::Unfocused(Reason::NoFace);
const NO_SIGNAL: ClockState = ClockState::Unfocused(Reason::NoSignal);
const STARTING: ClockState = ClockState::Starting;
const PAUSED: ClockState = ClockState::Paused;

/// Expected `StateChanged` events: `(at_ms, state)`.
type Changes = Vec<(u64, ClockState)>;
/// Expected `DriftStarted` events: `(at_ms, reason)`.
type Drifts = Vec<(u64, Reason)>;

#[derive(Debug, Clone, Copy)]
enum Step {
    /// A frame with this verdict (a judged state: focused or unfocused).
    Frame(u64, ClockState),
    Tick(u64),
    Pause(u64),
    Resume(u64),
    Finish(u64),
    /// A focused frame on extra zone number `.1` ("notes").
    ZoneFrame(u64, usize),
}
use Step::{Finish, Frame, Pause, Resume, Tick, ZoneFrame};

/// The frame verdict a test means by a judged state.
fn verdict(state: ClockState) -> Attention {
    match state.attention() {
        Some(attention) => attention,
        None => panic!("a frame carries a verdict (focused or unfocused), not {state:?}"),
    }
}

/// A clock that has settled on focused at `started_at_ms`, as if the start phase had
/// ended there: the state every rule after rule 2 starts from.
fn settled_clock(params: ClockParams, started_at_ms: u64) -> FocusClock {
    let mut clock = FocusClock::new(params, started_at_ms);
    clock.state = ClockState::Focused;
    clock.waiting_for_signal = false;
    clock
}

/// Frames of one verdict at `from, from + every, ...` up to `to` inclusive.
fn frames(from: u64, to: u64, every: u64, attention: ClockState) -> Vec<Step> {
    (from..=to)
        .step_by(every as usize)
        .map(|at| Frame(at, attention))
        .collect()
}

/// Ticks at `from, from + every, ...` up to `to` inclusive.
fn ticks(from: u64, to: u64, every: u64) -> Vec<Step> {
    (from..=to).step_by(every as usize).map(Tick).collect()
}

fn params(alert_threshold_ms: u64, debounce_ms: u64, no_signal_after_ms: u64) -> ClockParams {
    ClockParams {
        alert_threshold_ms,
        debounce_ms,
        no_signal_after_ms,
    }
}

/// A clock driven through a script, with every event and the last snapshot kept.
struct Run {
    clock: FocusClock,
    events: Vec<FocusEvent>,
    snapshots: Vec<(u64, Snapshot)>,
    summary: Option<Summary>,
    /// Latest time seen before finish: the clock's time.
    horizon_ms: u64,
}

impl Run {
    /// A fresh clock, starting.
    fn new(params: ClockParams, started_at_ms: u64) -> Self {
        Run::with_clock(FocusClock::new(params, started_at_ms))
    }

    fn with_clock(clock: FocusClock) -> Self {
        let started_at_ms = clock.started_at_ms();
        Run {
            clock,
            events: Vec::new(),
            snapshots: Vec::new(),
            summary: None,
            horizon_ms: started_at_ms,
        }
    }

    /// `steps` on a clock settled on focused at `START`.
    fn script(params: ClockParams, steps: &[Step]) -> Self {
        let mut run = Run::with_clock(settled_clock(params, START));
        run.steps(steps);
        run
    }

    /// `steps` on a fresh clock, starting at `START`.
    fn fresh(params: ClockParams, steps: &[Step]) -> Self {
        let mut run = Run::new(params, START);
        run.steps(steps);
        run
    }

    fn steps(&mut self, steps: &[Step]) {
        for &step in steps {
            self.step(step);
        }
    }

    fn step(&mut self, step: Step) {
        let was_finished = self.summary.is_some();
        let at_ms = match step {
            Frame(at_ms, state) => {
                let events = self.clock.observe(verdict(state), at_ms);
                self.events.extend(events);
                at_ms
            }
            ZoneFrame(at_ms, zone) => {
                let Some(zone) = ZoneId::new(zone) else {
                    panic!("zone {zone} is past MAX_ZONES");
                };
                let events = self.clock.observe(Attention::FocusedOn(zone), at_ms);
                self.events.extend(events);
                at_ms
            }
            Tick(at_ms) => {
                let events = self.clock.tick(at_ms);
                self.events.extend(events);
                at_ms
            }
            Pause(at_ms) => {
                let events = self.clock.pause(at_ms);
                self.events.extend(events);
                at_ms
            }
            Resume(at_ms) => {
                let events = self.clock.resume(at_ms);
                self.events.extend(events);
                at_ms
            }
            Finish(at_ms) => {
                let (summary, events) = self.clock.finish(at_ms);
                self.events.extend(events);
                self.summary = Some(summary);
                at_ms
            }
        };
        if !was_finished {
            self.horizon_ms = self.horizon_ms.max(at_ms);
        }
        let snapshot = self.clock.snapshot(at_ms);
        self.check_invariants(step, &snapshot);
        self.snapshots.push((at_ms, snapshot));
    }

    fn check_invariants(&self, step: Step, snapshot: &Snapshot) {
        let elapsed_ms = self.horizon_ms - self.clock.started_at_ms();
        assert_eq!(
            snapshot.elapsed_ms(),
            elapsed_ms,
            "the totals do not add up to the elapsed time after {step:?}: {snapshot:?}"
        );
        if let Some((_, previous)) = self.snapshots.last() {
            assert!(
                snapshot.focused_ms >= previous.focused_ms
                    && snapshot.unfocused_ms >= previous.unfocused_ms
                    && snapshot.starting_ms >= previous.starting_ms
                    && snapshot.paused_ms >= previous.paused_ms
                    && snapshot.offline_ms >= previous.offline_ms
                    && snapshot.breaks >= previous.breaks
                    && snapshot.longest_focus_ms >= previous.longest_focus_ms,
                "a counter went backwards after {step:?}: {previous:?} -> {snapshot:?}"
            );
            assert!(
                (snapshot.zone_ms.as_slice().iter())
                    .zip(previous.zone_ms.as_slice())
                    .all(|(now, before)| now >= before),
                "a zone's time went backwards after {step:?}: {previous:?} -> {snapshot:?}"
            );
        }
        assert!(
            snapshot.zone_ms.total_ms() <= snapshot.focused_ms,
            "zone time beyond the focused time after {step:?}: {snapshot:?}"
        );
        assert!(
            snapshot.zone.is_none() || snapshot.focused,
            "a zone while not focused after {step:?}: {snapshot:?}"
        );
        let alerts = self.alerts().len();
        assert_eq!(
            snapshot.breaks as usize, alerts,
            "breaks != alerts after {step:?}"
        );
        assert!(
            self.events
                .windows(2)
                .all(|pair| pair[0].at_ms() <= pair[1].at_ms()),
            "events out of time order after {step:?}: {:?}",
            self.events
        );
    }

    fn changes(&self) -> Changes {
        self.events
            .iter()
            .filter_map(|event| match *event {
                FocusEvent::StateChanged { at_ms, state } => Some((at_ms, state)),
                _ => None,
            })
            .collect()
    }

    fn drifts_started(&self) -> Drifts {
        self.events
            .iter()
            .filter_map(|event| match *event {
                FocusEvent::DriftStarted { at_ms, reason } => Some((at_ms, reason)),
                _ => None,
            })
            .collect()
    }

    /// `(at_ms, drift_started_ms, reason)` of each alert.
    fn alerts(&self) -> Vec<(u64, u64, Reason)> {
        self.events
            .iter()
            .filter_map(|event| match *event {
                FocusEvent::Alert {
                    at_ms,
                    drift_started_ms,
                    reason,
                } => Some((at_ms, drift_started_ms, reason)),
                _ => None,
            })
            .collect()
    }

    /// `(at_ms, drift_started_ms, was_break)` of each refocus.
    fn refocuses(&self) -> Vec<(u64, u64, bool)> {
        self.events
            .iter()
            .filter_map(|event| match *event {
                FocusEvent::Refocused {
                    at_ms,
                    drift_started_ms,
                    was_break,
                } => Some((at_ms, drift_started_ms, was_break)),
                _ => None,
            })
            .collect()
    }

    fn breaks(&self) -> Vec<Break> {
        self.events
            .iter()
            .filter_map(|event| match *event {
                FocusEvent::BreakClosed(brk) => Some(brk),
                _ => None,
            })
            .collect()
    }

    fn stretches(&self) -> Vec<Stretch> {
        self.events
            .iter()
            .filter_map(|event| match *event {
                FocusEvent::StretchClosed(stretch) => Some(stretch),
                _ => None,
            })
            .collect()
    }

    /// The snapshot taken right after the step at `at_ms` (the last one if several).
    fn snapshot_at(&self, at_ms: u64) -> Snapshot {
        match self.snapshots.iter().rev().find(|(at, _)| *at == at_ms) {
            Some((_, snapshot)) => *snapshot,
            None => panic!("no step at {at_ms}"),
        }
    }
}

#[test]
fn debounce_table() {
    let default = ClockParams::default();
    let cases: Vec<(&str, ClockParams, Vec<Step>, Changes)> = vec![
        (
            "one odd frame among frames every 250 ms never flips",
            default,
            [
                frames(250, 750, 250, FOCUSED),
                vec![Frame(1000, AWAY)],
                frames(1250, 4000, 250, FOCUSED),
            ]
            .concat(),
            vec![],
        ),
        (
            "one odd frame never flips when frames are sparse (1.5 s apart)",
            default,
            vec![
                Frame(1500, FOCUSED),
                Frame(3000, AWAY),
                Frame(4500, FOCUSED),
                Frame(6000, FOCUSED),
            ],
            vec![],
        ),
        (
            "one odd frame never flips even with debounce 0",
            params(10_000, 0, 2_000),
            vec![Frame(250, FOCUSED), Frame(500, AWAY), Frame(750, FOCUSED)],
            vec![],
        ),
        (
            "alternating frames never flip",
            default,
            (1..=20)
                .map(|i| Frame(i * 250, if i % 2 == 0 { AWAY } else { FOCUSED }))
                .collect(),
            vec![],
        ),
        (
            "two frames spanning less than the debounce do not flip",
            default,
            [
                vec![Frame(1000, AWAY), Frame(1250, AWAY)],
                frames(1500, 3000, 250, FOCUSED),
            ]
            .concat(),
            vec![],
        ),
        (
            "repeated timestamps do not span the debounce",
            default,
            vec![
                Frame(1000, AWAY),
                Frame(1000, AWAY),
                Frame(1000, AWAY),
                Frame(1250, FOCUSED),
            ],
            vec![],
        ),
        (
            "a run spanning the debounce flips at the frame that completes it",
            default,
            [
                frames(1000, 1500, 250, AWAY),
                frames(1750, 2250, 250, FOCUSED),
            ]
            .concat(),
            vec![(1500, AWAY), (2250, FOCUSED)],
        ),
        (
            "sparse frames: two frames are enough",
            default,
            vec![Frame(1500, AWAY), Frame(3000, AWAY)],
            vec![(3000, AWAY)],
        ),
        (
            "mixed reasons flip to unfocused with the last frame's reason",
            default,
            vec![Frame(1000, AWAY), Frame(1250, CLOSED), Frame(1500, NO_FACE)],
            vec![(1500, NO_FACE)],
        ),
        (
            "a focused frame restarts the run",
            default,
            vec![
                Frame(1000, AWAY),
                Frame(1250, AWAY),
                Frame(1400, FOCUSED),
                Frame(1500, AWAY),
                Frame(1750, AWAY),
                Frame(2000, AWAY),
            ],
            vec![(2000, AWAY)],
        ),
        (
            "one odd focused frame in a drift does not refocus",
            default,
            [
                frames(1000, 1500, 250, AWAY),
                vec![Frame(1750, FOCUSED)],
                frames(2000, 3000, 250, AWAY),
            ]
            .concat(),
            vec![(1500, AWAY)],
        ),
        (
            "a reason change mid-drift is debounced like a flip",
            default,
            [
                frames(1000, 1500, 250, AWAY),
                vec![Frame(1750, CLOSED)],
                frames(2000, 2000, 250, AWAY),
                frames(2250, 2750, 250, CLOSED),
            ]
            .concat(),
            vec![(1500, AWAY), (2750, CLOSED)],
        ),
        (
            "alternating reasons in a drift keep the current reason",
            default,
            [
                frames(1000, 1500, 250, AWAY),
                (7..=20)
                    .map(|i| Frame(i * 250, if i % 2 == 0 { AWAY } else { CLOSED }))
                    .collect(),
            ]
            .concat(),
            vec![(1500, AWAY)],
        ),
    ];
    for (name, params, steps, want) in cases {
        let run = Run::script(params, &steps);
        assert_eq!(run.changes(), want, "{name}");
    }
}

#[test]
fn flips_are_live_not_backdated() {
    // The run starts at 1000 but the flip takes effect at 1500: the 500 ms in between
    // stay focused, so no counter ever has to go back.
    let run = Run::script(
        ClockParams::default(),
        &[
            frames(250, 750, 250, FOCUSED),
            frames(1000, 1500, 250, AWAY),
        ]
        .concat(),
    );
    assert_eq!(run.changes(), vec![(1500, AWAY)]);
    let snapshot = run.snapshot_at(1250);
    assert!(snapshot.focused);
    assert_eq!((snapshot.focused_ms, snapshot.unfocused_ms), (1250, 0));
    let snapshot = run.snapshot_at(1500);
    assert!(!snapshot.focused);
    assert_eq!((snapshot.focused_ms, snapshot.unfocused_ms), (1500, 0));
    assert_eq!(
        run.stretches(),
        vec![Stretch {
            start_ms: 0,
            end_ms: 1500,
            state: FOCUSED
        }]
    );
}

/// Drift of `length_ms` from a flip at 1500, ended by focused frames.
fn drift_of(length_ms: u64) -> Vec<Step> {
    let refocus_ms = 1500 + length_ms;
    let first_focused_ms = refocus_ms - 500;
    [
        frames(1000, first_focused_ms - 1, 250, AWAY),
        vec![
            Frame(first_focused_ms, FOCUSED),
            Frame(first_focused_ms + 250, FOCUSED),
            Frame(refocus_ms, FOCUSED),
        ],
    ]
    .concat()
}

#[test]
fn a_drift_is_a_break_when_it_lasts_at_least_the_threshold() {
    // (drift length, is a break)
    let cases = [
        (1_000, false),
        (9_750, false),
        (9_999, false),
        (10_000, true),
        (10_001, true),
        (60_000, true),
    ];
    for (length_ms, want_break) in cases {
        let mut run = Run::script(ClockParams::default(), &drift_of(length_ms));
        let refocus_ms = 1500 + length_ms;
        run.step(Finish(refocus_ms + 1000));
        let name = format!("drift of {length_ms} ms");
        assert_eq!(
            run.drifts_started(),
            vec![(1500, Reason::LookingAway)],
            "{name}"
        );
        assert_eq!(
            run.refocuses(),
            vec![(refocus_ms, 1500, want_break)],
            "{name}"
        );
        let (want_alerts, want_breaks) = if want_break {
            (
                vec![(11_500, 1500, Reason::LookingAway)],
                vec![Break {
                    start_ms: 1500,
                    end_ms: refocus_ms,
                    reason: Reason::LookingAway,
                }],
            )
        } else {
            (vec![], vec![])
        };
        assert_eq!(run.alerts(), want_alerts, "{name}");
        assert_eq!(run.breaks(), want_breaks, "{name}");
        assert_eq!(
            run.summary.map(|summary| summary.breaks),
            Some(u32::from(want_break)),
            "{name}"
        );
    }
}

#[test]
fn a_sustained_drift_alerts_exactly_once_at_the_threshold() {
    // Frames every 250 ms with a timer tick every 500 ms, for a minute looking away.
    let mut steps = Vec::new();
    for at_ms in (250..=61_000).step_by(250) {
        steps.push(Frame(at_ms, if at_ms < 1000 { FOCUSED } else { AWAY }));
        if at_ms % 500 == 0 {
            steps.push(Tick(at_ms + 100));
        }
    }
    let run = Run::script(ClockParams::default(), &steps);
    assert_eq!(run.changes(), vec![(1500, AWAY)]);
    assert_eq!(run.alerts(), vec![(11_500, 1500, Reason::LookingAway)]);
    assert!(!run.snapshot_at(11_250).alert);
    let at_threshold = run.snapshot_at(11_500);
    assert!(at_threshold.alert);
    assert_eq!(at_threshold.breaks, 1);
    assert_eq!(at_threshold.drift_ms, 10_000);
    let last = run.snapshot_at(61_000);
    assert!(last.alert);
    assert_eq!(last.breaks, 1);
    assert_eq!(last.drift_ms, 59_500);
}

#[test]
fn the_alert_is_detected_by_a_tick_and_stamped_at_the_threshold() {
    // Frames stop being needed: the tick that first passes the threshold fires it, with
    // the exact threshold time, not the tick's.
    let mut run = Run::script(ClockParams::default(), &frames(1000, 1500, 250, AWAY));
    run.steps(&frames(1750, 11_250, 250, AWAY));
    assert!(run.alerts().is_empty());
    // Still looking away, the next frame is slow: a tick passes the threshold first.
    run.step(Tick(11_700));
    assert_eq!(run.alerts(), vec![(11_500, 1500, Reason::LookingAway)]);
    run.step(Frame(11_750, AWAY));
    run.step(Tick(12_200));
    assert_eq!(run.alerts().len(), 1);
}

#[test]
fn refocus_clears_the_alert_and_the_next_drift_alerts_again() {
    let steps = [
        frames(1000, 12_000, 250, AWAY),      // drift 1500.., alert at 11 500
        frames(12_250, 20_000, 250, FOCUSED), // refocus at 12 750
        frames(20_250, 32_000, 250, CLOSED),  // drift 20 750.., alert at 30 750
        frames(32_250, 33_000, 250, FOCUSED), // refocus at 32 750
    ]
    .concat();
    let run = Run::script(ClockParams::default(), &steps);
    assert!(run.snapshot_at(12_500).alert);
    let refocused = run.snapshot_at(12_750);
    assert!(!refocused.alert);
    assert!(refocused.focused);
    assert_eq!(refocused.drift_ms, 0);
    assert_eq!(refocused.breaks, 1);
    assert_eq!(
        run.alerts(),
        vec![
            (11_500, 1500, Reason::LookingAway),
            (30_750, 20_750, Reason::EyesClosed)
        ]
    );
    assert_eq!(
        run.refocuses(),
        vec![(12_750, 1500, true), (32_750, 20_750, true)]
    );
    assert_eq!(
        run.breaks(),
        vec![
            Break {
                start_ms: 1500,
                end_ms: 12_750,
                reason: Reason::LookingAway
            },
            Break {
                start_ms: 20_750,
                end_ms: 32_750,
                reason: Reason::EyesClosed
            },
        ]
    );
    assert!(!run.snapshot_at(33_000).alert);
    assert_eq!(run.snapshot_at(33_000).breaks, 2);
}

#[test]
fn no_signal_table() {
    let default = ClockParams::default();
    // (name, steps, state changes, drifts started)
    let cases: Vec<(&str, Vec<Step>, Changes, Drifts)> = vec![
        (
            "frames stop: no signal from the last frame + 2 s",
            [frames(250, 1000, 250, FOCUSED), ticks(1500, 5000, 500)].concat(),
            vec![(3000, NO_SIGNAL)],
            vec![(3000, Reason::NoSignal)],
        ),
        (
            "a gap of exactly 2 s is not no signal",
            vec![
                Frame(1000, FOCUSED),
                Tick(3000),
                Frame(3000, FOCUSED),
                Tick(5000),
                Frame(5000, FOCUSED),
            ],
            vec![],
            vec![],
        ),
        (
            "a settled clock with no frame at all: no signal from its start + 2 s",
            ticks(500, 4000, 500),
            vec![(2000, NO_SIGNAL)],
            vec![(2000, Reason::NoSignal)],
        ),
        (
            "losing the signal is not debounced and needs no tick: the next frame applies it",
            vec![Frame(1000, FOCUSED), Frame(3500, FOCUSED)],
            vec![(3000, NO_SIGNAL)],
            vec![(3000, Reason::NoSignal)],
        ),
        (
            "losing the signal while unfocused continues the same drift",
            [frames(1000, 2000, 250, AWAY), ticks(2500, 6000, 500)].concat(),
            vec![(1500, AWAY), (4000, NO_SIGNAL)],
            vec![(1500, Reason::LookingAway)],
        ),
        (
            "a pending run is dropped when the signal is lost",
            vec![
                Frame(1000, AWAY),
                Frame(1250, AWAY),
                Tick(3500),
                Frame(3600, FOCUSED),
                Frame(3700, AWAY),
            ],
            vec![(3250, NO_SIGNAL)],
            vec![(3250, Reason::NoSignal)],
        ),
    ];
    for (name, steps, want_changes, want_drifts) in cases {
        let run = Run::script(default, &steps);
        assert_eq!(run.changes(), want_changes, "{name}");
        assert_eq!(run.drifts_started(), want_drifts, "{name}");
    }
}

#[test]
fn snapshot_counts_no_signal_before_any_tick() {
    let mut clock = settled_clock(ClockParams::default(), START);
    assert!(clock.observe(verdict(FOCUSED), 1000).is_empty());
    let at_grace_end = clock.snapshot(3000);
    assert!(at_grace_end.focused);
    assert_eq!(at_grace_end.focused_ms, 3000);
    let after = clock.snapshot(3500);
    assert!(!after.focused);
    assert_eq!(after.reason(), Some(Reason::NoSignal));
    assert_eq!((after.focused_ms, after.unfocused_ms), (3000, 500));
    assert_eq!(after.drift_ms, 500);
    // The snapshot emitted nothing; the tick reports what the snapshot already showed.
    assert_eq!(clock.state(), FOCUSED);
    let events = clock.tick(3500);
    assert!(events.contains(&FocusEvent::DriftStarted {
        at_ms: 3000,
        reason: Reason::NoSignal
    }));
    assert_eq!(clock.snapshot(3500), after);
}

#[test]
fn frames_resuming_after_no_signal() {
    let lost = [frames(250, 1000, 250, FOCUSED), ticks(1500, 6000, 500)].concat();
    // (name, steps after the gap, changes after the gap, refocuses, drifts started)
    type Case = (
        &'static str,
        Vec<Step>,
        Changes,
        Vec<(u64, u64, bool)>,
        Drifts,
    );
    let cases: Vec<Case> = vec![
        (
            "frames settle: the frame completing a run that spans the debounce sets the state",
            frames(6250, 7000, 250, FOCUSED),
            vec![(6750, FOCUSED)],
            vec![(6750, 3000, false)],
            vec![(3000, Reason::NoSignal)],
        ),
        (
            "an unfocused verdict changes the reason once settled, same drift",
            frames(6250, 7000, 250, CLOSED),
            vec![(6750, CLOSED)],
            vec![],
            vec![(3000, Reason::NoSignal)],
        ),
        (
            "a settling run takes any verdicts; the last one decides",
            [
                vec![Frame(6250, FOCUSED), Frame(6500, AWAY)],
                frames(6750, 7500, 250, FOCUSED),
            ]
            .concat(),
            vec![(6750, FOCUSED)],
            vec![(6750, 3000, false)],
            vec![(3000, Reason::NoSignal)],
        ),
        (
            "after settling the debounce applies again",
            [
                vec![Frame(6250, AWAY), Frame(6500, AWAY), Frame(6750, FOCUSED)],
                vec![Frame(7000, AWAY)],
                frames(7250, 8000, 250, FOCUSED),
            ]
            .concat(),
            vec![(6750, FOCUSED)],
            vec![(6750, 3000, false)],
            vec![(3000, Reason::NoSignal)],
        ),
        (
            "frames further apart than the grace do not settle",
            [
                vec![Frame(6250, FOCUSED), Frame(8500, FOCUSED)],
                ticks(9000, 11_000, 500),
                frames(11_250, 11_750, 250, FOCUSED),
            ]
            .concat(),
            vec![(11_750, FOCUSED)],
            vec![(11_750, 3000, false)],
            vec![(3000, Reason::NoSignal)],
        ),
        (
            "a long gap is a break with reason no_signal",
            [
                ticks(6500, 20_000, 500),
                frames(20_100, 20_600, 250, FOCUSED),
            ]
            .concat(),
            vec![(20_600, FOCUSED)],
            vec![(20_600, 3000, true)],
            vec![(3000, Reason::NoSignal)],
        ),
    ];
    for (name, after, want_changes, want_refocuses, want_drifts) in cases {
        let run = Run::script(ClockParams::default(), &[lost.clone(), after].concat());
        let mut changes = run.changes();
        assert_eq!(changes.first(), Some(&(3000, NO_SIGNAL)), "{name}");
        changes.remove(0);
        assert_eq!(changes, want_changes, "{name}");
        assert_eq!(run.refocuses(), want_refocuses, "{name}");
        assert_eq!(run.drifts_started(), want_drifts, "{name}");
    }
    // The long gap: the alert came during the gap, the break carries no_signal.
    let run = Run::script(
        ClockParams::default(),
        &[
            lost,
            ticks(6500, 20_000, 500),
            frames(20_100, 20_600, 250, FOCUSED),
        ]
        .concat(),
    );
    assert_eq!(run.alerts(), vec![(13_000, 3000, Reason::NoSignal)]);
    assert_eq!(
        run.breaks(),
        vec![Break {
            start_ms: 3000,
            end_ms: 20_600,
            reason: Reason::NoSignal
        }]
    );
}

#[test]
fn mid_drift_reason_changes() {
    // (name, params, steps, alert reasons, break reasons)
    type Case = (
        &'static str,
        ClockParams,
        Vec<Step>,
        Vec<Reason>,
        Vec<Reason>,
    );
    let cases: Vec<Case> = vec![
        (
            // away 1500..5000 (3.5 s), eyes closed 5000..30 750 (25.75 s)
            "the reason held longest wins",
            ClockParams::default(),
            [
                frames(1000, 4250, 250, AWAY),
                frames(4500, 30_000, 250, CLOSED),
                frames(30_250, 30_750, 250, FOCUSED),
            ]
            .concat(),
            vec![Reason::EyesClosed],
            vec![Reason::EyesClosed],
        ),
        (
            // away 1500..9000 (7.5 s), eyes closed from 9000: at the alert (11 500) away
            // leads 7.5 s to 2.5 s; by the refocus eyes closed leads.
            "the alert carries the longest so far, the break the longest overall",
            ClockParams::default(),
            [
                frames(1000, 8250, 250, AWAY),
                frames(8500, 40_000, 250, CLOSED),
                frames(40_250, 40_750, 250, FOCUSED),
            ]
            .concat(),
            vec![Reason::LookingAway],
            vec![Reason::EyesClosed],
        ),
        (
            // away 1500..6500, eyes closed 6500..11 500: 5 s each
            "a tie goes to the reason seen first",
            ClockParams::default(),
            [
                frames(1000, 5750, 250, AWAY),
                frames(6000, 10_750, 250, CLOSED),
                frames(11_000, 11_500, 250, FOCUSED),
            ]
            .concat(),
            vec![Reason::LookingAway],
            vec![Reason::LookingAway],
        ),
        (
            // away 1500..3500 (2 s), closed 3500..6500 (3 s), away 6500..8500 (2 s):
            // alert at 6500 sees closed ahead; over the drift away adds up to 4 s.
            "time for a reason that comes back adds up",
            params(5_000, 500, 2_000),
            [
                frames(1000, 2750, 250, AWAY),
                frames(3000, 5750, 250, CLOSED),
                frames(6000, 7750, 250, AWAY),
                frames(8000, 8500, 250, FOCUSED),
            ]
            .concat(),
            vec![Reason::EyesClosed],
            vec![Reason::LookingAway],
        ),
    ];
    for (name, params, steps, want_alerts, want_breaks) in cases {
        let run = Run::script(params, &steps);
        let alerts: Vec<Reason> = run.alerts().iter().map(|alert| alert.2).collect();
        let breaks: Vec<Reason> = run.breaks().iter().map(|brk| brk.reason).collect();
        assert_eq!(alerts, want_alerts, "{name}");
        assert_eq!(breaks, want_breaks, "{name}");
        assert_eq!(run.drifts_started().len(), 1, "{name}: one drift");
    }
}

#[test]
fn stretches_split_at_every_change_including_reasons() {
    let steps = [
        frames(1000, 4250, 250, AWAY),
        frames(4500, 6000, 250, CLOSED),
        frames(6250, 7000, 250, FOCUSED),
        vec![Finish(8000)],
    ]
    .concat();
    let run = Run::script(ClockParams::default(), &steps);
    let stretch = |start_ms, end_ms, state| Stretch {
        start_ms,
        end_ms,
        state,
    };
    assert_eq!(
        run.stretches(),
        vec![
            stretch(0, 1500, FOCUSED),
            stretch(1500, 5000, AWAY),
            stretch(5000, 6750, CLOSED),
            stretch(6750, 8000, FOCUSED),
        ]
    );
    let summary = run.summary;
    assert_eq!(
        summary,
        Some(Summary {
            total_ms: 8000,
            focused_ms: 2750,
            unfocused_ms: 5250,
            starting_ms: 0,
            paused_ms: 0,
            offline_ms: 0,
            breaks: 0,
            focus_percent: 34.3,
            longest_focus_ms: 1500,
            zone_ms: ZoneTimes::default(),
        })
    );
}

#[test]
fn finish_is_idempotent_and_freezes_the_clock() {
    let mut run = Run::script(
        ClockParams::default(),
        &[
            frames(250, 3000, 250, FOCUSED),
            frames(3250, 4000, 250, AWAY),
        ]
        .concat(),
    );
    let (first, first_events) = run.clock.finish(5000);
    assert_eq!(
        first_events,
        vec![FocusEvent::StretchClosed(Stretch {
            start_ms: 3750,
            end_ms: 5000,
            state: AWAY
        })]
    );
    let (second, second_events) = run.clock.finish(9000);
    assert_eq!(second, first);
    assert!(second_events.is_empty());
    assert_eq!(run.clock.summary(), Some(first));
    assert!(run.clock.observe(verdict(FOCUSED), 9000).is_empty());
    assert!(run.clock.observe(verdict(FOCUSED), 9500).is_empty());
    assert!(run.clock.tick(20_000).is_empty());
    assert!(run.clock.pause(20_000).is_empty());
    assert!(run.clock.resume(20_000).is_empty());
    let frozen = run.clock.snapshot(20_000);
    assert_eq!(frozen.focused_ms, first.focused_ms);
    assert_eq!(frozen.unfocused_ms, first.unfocused_ms);
    assert_eq!(first.total_ms, 5000);
    assert_eq!((first.focused_ms, first.unfocused_ms), (3750, 1250));
}

#[test]
fn finish_table() {
    // (name, steps including the finish, summary, events of the finish)
    type Case = (&'static str, Vec<Step>, Summary, Vec<FocusEvent>);
    let summary = |total_ms, focused_ms, breaks, focus_percent, longest_focus_ms| Summary {
        total_ms,
        focused_ms,
        unfocused_ms: total_ms - focused_ms,
        starting_ms: 0,
        paused_ms: 0,
        offline_ms: 0,
        breaks,
        focus_percent,
        longest_focus_ms,
        zone_ms: ZoneTimes::default(),
    };
    let cases: Vec<Case> = vec![
        (
            "finish at the start: nothing happened",
            vec![Finish(0)],
            summary(0, 0, 0, 0.0, 0),
            vec![],
        ),
        (
            "finish in a break closes it, without a refocus",
            [frames(1000, 13_000, 250, AWAY), vec![Finish(14_000)]].concat(),
            summary(14_000, 1500, 1, 10.7, 1500),
            vec![
                FocusEvent::StretchClosed(Stretch {
                    start_ms: 1500,
                    end_ms: 14_000,
                    state: AWAY,
                }),
                FocusEvent::BreakClosed(Break {
                    start_ms: 1500,
                    end_ms: 14_000,
                    reason: Reason::LookingAway,
                }),
            ],
        ),
        (
            "finish in a glance: no break",
            [frames(1000, 3000, 250, AWAY), vec![Finish(3000)]].concat(),
            summary(3000, 1500, 0, 50.0, 1500),
            vec![FocusEvent::StretchClosed(Stretch {
                start_ms: 1500,
                end_ms: 3000,
                state: AWAY,
            })],
        ),
        (
            "finish applies a no-signal flip that is due",
            vec![Frame(1000, FOCUSED), Finish(4000)],
            summary(4000, 3000, 0, 75.0, 3000),
            vec![
                FocusEvent::StretchClosed(Stretch {
                    start_ms: 0,
                    end_ms: 3000,
                    state: FOCUSED,
                }),
                FocusEvent::StateChanged {
                    at_ms: 3000,
                    state: NO_SIGNAL,
                },
                FocusEvent::DriftStarted {
                    at_ms: 3000,
                    reason: Reason::NoSignal,
                },
                FocusEvent::StretchClosed(Stretch {
                    start_ms: 3000,
                    end_ms: 4000,
                    state: NO_SIGNAL,
                }),
            ],
        ),
        (
            "finish earlier than the clock ends at the clock's time",
            vec![Frame(1000, FOCUSED), Frame(1500, FOCUSED), Finish(700)],
            summary(1500, 1500, 0, 100.0, 1500),
            vec![FocusEvent::StretchClosed(Stretch {
                start_ms: 0,
                end_ms: 1500,
                state: FOCUSED,
            })],
        ),
    ];
    for (name, steps, want_summary, want_events) in cases {
        let Some((&Finish(finish_ms), before)) = steps.split_last() else {
            panic!("{name}: the script must end with Finish");
        };
        let mut run = Run::script(ClockParams::default(), before);
        let events_before = run.events.len();
        run.step(Finish(finish_ms));
        assert_eq!(run.summary, Some(want_summary), "{name}");
        assert_eq!(
            &run.events[events_before..],
            want_events.as_slice(),
            "{name}"
        );
    }
}

#[test]
fn out_of_order_frames_and_ticks() {
    // A frame older than the last frame is ignored: it neither emits nor counts in a run.
    // Counted, LA@1100 and LA@1600 would span 500 ms and flip.
    let run = Run::script(
        ClockParams::default(),
        &[
            Frame(1000, AWAY),
            Frame(1250, FOCUSED),
            Frame(1100, AWAY),
            Frame(1600, AWAY),
        ],
    );
    assert!(run.changes().is_empty());

    // A stale frame does not extend the no-signal grace.
    let run = Run::script(
        ClockParams::default(),
        &[Frame(1000, FOCUSED), Frame(500, FOCUSED), Tick(3100)],
    );
    assert_eq!(run.changes(), vec![(3000, NO_SIGNAL)]);

    // A frame older than the last tick (but not the last frame) takes effect at the
    // tick's time: its analysis finished after the tick.
    let run = Run::script(
        ClockParams::default(),
        &[
            Frame(1000, AWAY),
            Frame(1250, AWAY),
            Tick(1600),
            Frame(1500, AWAY),
        ],
    );
    assert_eq!(run.changes(), vec![(1600, AWAY)]);

    // A tick earlier than the clock is a no-op.
    let mut clock = settled_clock(ClockParams::default(), START);
    let _ = clock.observe(verdict(FOCUSED), 1000);
    let before = clock.snapshot(1000);
    assert!(clock.tick(400).is_empty());
    assert_eq!(clock.snapshot(400), before);
    assert_eq!(clock.snapshot(0).focused_ms, 1000);

    // A frame before the session start is ignored.
    let mut clock = FocusClock::new(ClockParams::default(), 10_000);
    assert!(clock.observe(verdict(AWAY), 9_000).is_empty());
    assert!(clock.observe(verdict(AWAY), 9_600).is_empty());
    assert_eq!(clock.snapshot(10_000).elapsed_ms(), 0);
}

#[test]
fn extreme_times_and_params_do_not_panic() {
    // Near the end of u64: no overflow anywhere.
    let start = u64::MAX - 5_000;
    let mut run = Run::new(ClockParams::default(), start);
    run.steps(&[
        Frame(start + 1000, AWAY),
        Frame(start + 1500, AWAY),
        Tick(u64::MAX - 1),
        Frame(u64::MAX, FOCUSED),
        Tick(u64::MAX),
        Finish(u64::MAX),
    ]);
    assert_eq!(run.summary.map(|summary| summary.total_ms), Some(5_000));
    // The two frames settle the start on looking away; the last frame, alone after the
    // gap, cannot settle the signal again.
    assert_eq!(
        run.changes(),
        vec![(start + 1500, AWAY), (start + 3500, NO_SIGNAL)]
    );

    // Huge thresholds: never an alert, never no signal.
    let mut run = Run::new(params(u64::MAX, u64::MAX, u64::MAX), 0);
    run.steps(&[Frame(1000, AWAY), Frame(u64::MAX / 2, AWAY), Tick(u64::MAX)]);
    assert!(run.changes().is_empty());
    assert!(run.alerts().is_empty());

    // All zeros: two frames at one instant flip, every drift is a break at once, a gap of
    // more than a millisecond between frames is no signal (a zero grace acts as 1 ms, so
    // the state a frame sets holds for its own millisecond), and two frames at one instant
    // settle the signal again.
    let run = Run::script(
        params(0, 0, 0),
        &[
            Frame(0, AWAY),
            Frame(0, AWAY),
            Tick(0),
            Frame(10, FOCUSED),
            Frame(10, FOCUSED),
        ],
    );
    assert_eq!(
        run.changes(),
        vec![(0, AWAY), (1, NO_SIGNAL), (10, FOCUSED)]
    );
    assert_eq!(run.alerts(), vec![(0, 0, Reason::LookingAway)]);
    assert_eq!(run.refocuses(), vec![(10, 0, true)]);
}

#[test]
fn counters_add_up_at_every_millisecond() {
    // Snapshot every 50 ms through flips, a no-signal gap and a break: the invariants
    // hold at each (checked by Run) and the numbers match the stretches.
    let mut run = Run::new(ClockParams::default(), START);
    let script = [
        frames(250, 1000, 250, FOCUSED),
        frames(1250, 4000, 250, AWAY),
        frames(4250, 6000, 250, FOCUSED),
        ticks(6500, 9000, 500),
        frames(9250, 22_000, 250, CLOSED),
        frames(22_250, 23_000, 250, FOCUSED),
    ]
    .concat();
    for step in script {
        run.step(step);
        let (Frame(at_ms, _)
        | ZoneFrame(at_ms, _)
        | Tick(at_ms)
        | Pause(at_ms)
        | Resume(at_ms)
        | Finish(at_ms)) = step;
        for probe_ms in (at_ms..at_ms + 250).step_by(50) {
            let snapshot = run.clock.snapshot(probe_ms);
            assert_eq!(snapshot.elapsed_ms(), probe_ms, "at {probe_ms}");
        }
    }
    run.step(Finish(24_000));
    let Some(summary) = run.summary else {
        panic!("finished");
    };
    let stretches = run.stretches();
    let focused: u64 = stretches
        .iter()
        .filter(|stretch| stretch.state.is_focused())
        .map(Stretch::duration_ms)
        .sum();
    let longest = stretches
        .iter()
        .filter(|stretch| stretch.state.is_focused())
        .map(Stretch::duration_ms)
        .max();
    assert_eq!(summary.focused_ms, focused);
    assert_eq!(Some(summary.longest_focus_ms), longest);
    // The frames settled the start at 750.
    assert_eq!(summary.starting_ms, 750);
    assert_eq!(
        summary.focused_ms + summary.unfocused_ms + summary.starting_ms,
        24_000
    );
    assert_eq!(summary.breaks, 1);
}

/// The worked example of `docs/focus-clock.md`, event for event.
#[test]
fn worked_example_from_the_docs() {
    let steps = [
        frames(250, 750, 250, FOCUSED),                // settles at 750
        vec![Frame(1000, AWAY), Frame(1250, FOCUSED)], // one odd frame: no flip
        frames(1500, 2000, 250, AWAY),                 // flip at 2000
        vec![Frame(2250, FOCUSED), Frame(2500, AWAY)], // run broken: no flip
        frames(3000, 3500, 500, FOCUSED),              // flip at 3500: a glance
        frames(3750, 4000, 250, FOCUSED),              // then nothing until 9000
        ticks(4500, 8500, 500),                        // no signal from 6000
        frames(9000, 16_000, 500, CLOSED),             // settles at 9500; alert at 16 000
        frames(16_500, 19_500, 500, FOCUSED),          // refocus at 17 000
        vec![Pause(19_600), Resume(21_000)],           // paused 1.4 s
        frames(21_250, 23_000, 250, FOCUSED),          // settles at 21 750
        vec![Finish(23_000)],
    ]
    .concat();
    let run = Run::fresh(ClockParams::default(), &steps);
    let stretch = |start_ms, end_ms, state| {
        FocusEvent::StretchClosed(Stretch {
            start_ms,
            end_ms,
            state,
        })
    };
    let changed = |at_ms, state| FocusEvent::StateChanged { at_ms, state };
    assert_eq!(
        run.events,
        vec![
            stretch(0, 750, STARTING),
            changed(750, FOCUSED),
            stretch(750, 2000, FOCUSED),
            changed(2000, AWAY),
            FocusEvent::DriftStarted {
                at_ms: 2000,
                reason: Reason::LookingAway
            },
            stretch(2000, 3500, AWAY),
            changed(3500, FOCUSED),
            FocusEvent::Refocused {
                at_ms: 3500,
                drift_started_ms: 2000,
                was_break: false
            },
            stretch(3500, 6000, FOCUSED),
            changed(6000, NO_SIGNAL),
            FocusEvent::DriftStarted {
                at_ms: 6000,
                reason: Reason::NoSignal
            },
            stretch(6000, 9500, NO_SIGNAL),
            changed(9500, CLOSED),
            FocusEvent::Alert {
                at_ms: 16_000,
                drift_started_ms: 6000,
                reason: Reason::EyesClosed
            },
            stretch(9500, 17_000, CLOSED),
            changed(17_000, FOCUSED),
            FocusEvent::Refocused {
                at_ms: 17_000,
                drift_started_ms: 6000,
                was_break: true
            },
            FocusEvent::BreakClosed(Break {
                start_ms: 6000,
                end_ms: 17_000,
                reason: Reason::EyesClosed
            }),
            stretch(17_000, 19_600, FOCUSED),
            changed(19_600, PAUSED),
            stretch(19_600, 21_000, PAUSED),
            changed(21_000, STARTING),
            stretch(21_000, 21_750, STARTING),
            changed(21_750, FOCUSED),
            stretch(21_750, 23_000, FOCUSED),
        ]
    );
    assert_eq!(
        run.summary,
        Some(Summary {
            total_ms: 23_000,
            focused_ms: 7_600,
            unfocused_ms: 12_500,
            starting_ms: 1_500,
            paused_ms: 1_400,
            offline_ms: 0,
            breaks: 1,
            focus_percent: 37.8,
            longest_focus_ms: 2_600,
            zone_ms: ZoneTimes::default(),
        })
    );
    let live = run.snapshot_at(16_000);
    assert_eq!(
        live,
        Snapshot {
            state: CLOSED,
            focused: false,
            alert: true,
            focused_ms: 3_750,
            unfocused_ms: 11_500,
            starting_ms: 750,
            paused_ms: 0,
            offline_ms: 0,
            breaks: 1,
            focus_percent: 24.5,
            longest_focus_ms: 2_500,
            drift_ms: 10_000,
            state_ms: 6_500,
            zone: None,
            zone_ms: ZoneTimes::default(),
        }
    );
}

/// With a grace of 0, a state set after a gap still holds for its own millisecond, so the
/// timeline never shows the gap twice in a row around an empty stretch (found by the
/// property test when a single frame still ended a gap).
#[test]
fn a_zero_grace_still_lets_a_frame_hold_its_state() {
    let mut clock = FocusClock::new(params(0, 1, 0), START);
    let mut events = clock.observe(verdict(FOCUSED), 2);
    events.extend(clock.observe(verdict(FOCUSED), 3));
    let (summary, finish_events) = clock.finish(5);
    events.extend(finish_events);
    let stretches: Vec<(u64, u64, ClockState)> = events
        .iter()
        .filter_map(|e| match *e {
            FocusEvent::StretchClosed(s) => Some((s.start_ms, s.end_ms, s.state)),
            _ => None,
        })
        .collect();
    assert_eq!(
        stretches,
        [(0, 3, STARTING), (3, 4, FOCUSED), (4, 5, NO_SIGNAL)]
    );
    assert_eq!(
        (
            summary.starting_ms,
            summary.focused_ms,
            summary.unfocused_ms
        ),
        (3, 1, 1)
    );
    assert_eq!(summary.breaks, 1, "a 1 ms gap is a break at a 0 threshold");
}

#[test]
fn no_credit_before_the_first_verdict() {
    let default = ClockParams::default();
    // (name, steps, state changes, starting_ms and focused_ms at the last step)
    type Case = (&'static str, Vec<Step>, Changes, (u64, u64));
    let cases: Vec<Case> = vec![
        (
            "no frame at all: starting for as long as it lasts, never no signal",
            ticks(500, 30_000, 500),
            vec![],
            (30_000, 0),
        ),
        (
            "the first frames say eyes closed: not a millisecond counts as focused",
            frames(600, 1100, 250, CLOSED),
            vec![(1100, CLOSED)],
            (1100, 0),
        ),
        (
            "focused frames: focused from the frame that settles them, not from the start",
            frames(600, 2000, 200, FOCUSED),
            vec![(1200, FOCUSED)],
            (1200, 800),
        ),
        (
            "mixed verdicts settle too; the last one decides",
            vec![Frame(600, AWAY), Frame(850, FOCUSED), Frame(1100, FOCUSED)],
            vec![(1100, FOCUSED)],
            (1100, 0),
        ),
        (
            "one frame and then silence: still starting",
            [vec![Frame(600, FOCUSED)], ticks(1000, 10_000, 500)].concat(),
            vec![],
            (10_000, 0),
        ),
        (
            "frames further apart than the grace never settle",
            (1..=5).map(|i| Frame(i * 2_100, FOCUSED)).collect(),
            vec![],
            (10_500, 0),
        ),
    ];
    for (name, steps, want_changes, (want_starting, want_focused)) in cases {
        let run = Run::fresh(default, &steps);
        assert_eq!(run.changes(), want_changes, "{name}");
        let (_, last) = run.snapshots[run.snapshots.len() - 1];
        assert_eq!(
            (last.starting_ms, last.focused_ms),
            (want_starting, want_focused),
            "{name}"
        );
        assert!(run.drifts_started().iter().all(|(at, _)| *at >= 1100));
    }
    // A starting clock reads as such: not focused, no reason, no drift, no percent.
    let live = FocusClock::new(default, START).snapshot(5_000);
    assert_eq!(live.state, STARTING);
    assert!(!live.focused && !live.alert);
    assert_eq!(live.reason(), None);
    assert_eq!(
        (live.drift_ms, live.state_ms, live.focus_percent),
        (0, 5_000, 0.0)
    );
}

#[test]
fn pause_and_resume() {
    // Looking away long enough for a break, then paused in the middle of it.
    let mut run = Run::script(
        ClockParams::default(),
        &[
            frames(250, 1000, 250, FOCUSED),
            frames(1250, 13_000, 250, AWAY),
        ]
        .concat(),
    );
    assert!(run.snapshot_at(13_000).alert);
    run.step(Pause(13_100));
    let paused = run.snapshot_at(13_100);
    assert_eq!(paused.state, PAUSED);
    assert!(!paused.alert && !paused.focused);
    assert_eq!((paused.drift_ms, paused.breaks), (0, 1));
    // The break ends at the pause, without a refocus.
    assert_eq!(
        run.breaks(),
        vec![Break {
            start_ms: 1750,
            end_ms: 13_100,
            reason: Reason::LookingAway
        }]
    );
    assert!(run.refocuses().is_empty());
    // While paused: frames are ignored, no signal is never lost, no alert fires, the
    // paused time is its own total.
    run.steps(&frames(13_250, 14_000, 250, FOCUSED));
    run.steps(&ticks(14_500, 40_000, 500));
    let still = run.snapshot_at(40_000);
    assert_eq!(still.state, PAUSED);
    assert_eq!(still.paused_ms, 26_900);
    assert_eq!(still.unfocused_ms, paused.unfocused_ms);
    assert_eq!(run.alerts().len(), 1);
    // A second pause is a no-op; resuming starts again: no verdict until frames settle,
    // and frames stamped before the resume are stale.
    run.step(Pause(40_100));
    run.step(Resume(40_200));
    run.steps(&[
        Frame(40_150, FOCUSED),
        Frame(40_300, FOCUSED),
        Frame(40_550, FOCUSED),
    ]);
    assert_eq!(run.snapshot_at(40_550).state, STARTING);
    run.step(Frame(40_800, FOCUSED));
    assert_eq!(run.snapshot_at(40_800).state, FOCUSED);
    // Resume when not paused is a no-op.
    run.step(Resume(41_000));
    run.step(Finish(42_000));
    let changes: Changes = run
        .changes()
        .into_iter()
        .filter(|(at, _)| *at > 13_000)
        .collect();
    assert_eq!(
        changes,
        vec![(13_100, PAUSED), (40_200, STARTING), (40_800, FOCUSED)]
    );
    let Some(summary) = run.summary else {
        panic!("finished");
    };
    assert_eq!(summary.paused_ms, 27_100);
    assert_eq!(summary.starting_ms, 600);
    assert_eq!(summary.focused_ms, 1750 + 1200);
    assert_eq!(summary.unfocused_ms, 13_100 - 1750);

    // Finishing while paused closes the paused stretch.
    let run = Run::script(
        ClockParams::default(),
        &[Frame(500, FOCUSED), Pause(1_000), Finish(5_000)],
    );
    assert_eq!(
        run.stretches().last(),
        Some(&Stretch {
            start_ms: 1_000,
            end_ms: 5_000,
            state: PAUSED
        })
    );
    assert_eq!(run.summary.map(|s| s.paused_ms), Some(4_000));
}

mod zones;

#[test]
fn restore_after_an_outage() {
    let mut clock = FocusClock::new(ClockParams::default(), START);
    for at_ms in (250..=5_000).step_by(250) {
        let _ = clock.observe(verdict(FOCUSED), at_ms);
    }
    let before = clock.snapshot(5_000);
    let (summary, _) = clock.finish(5_000);
    // The server was down from 5 s to 65 s.
    let (restored, events) = FocusClock::restore(ClockParams::default(), START, &summary, 65_000);
    assert_eq!(
        events,
        vec![
            FocusEvent::StretchClosed(Stretch {
                start_ms: 5_000,
                end_ms: 65_000,
                state: ClockState::Offline
            }),
            FocusEvent::StateChanged {
                at_ms: 65_000,
                state: STARTING
            },
        ]
    );
    let mut run = Run::with_clock(restored);
    run.horizon_ms = 65_000;
    let live = run.clock.snapshot(65_000);
    assert_eq!(live.offline_ms, 60_000);
    assert_eq!(live.focused_ms, before.focused_ms);
    assert_eq!(live.longest_focus_ms, before.longest_focus_ms);
    assert_eq!(live.elapsed_ms(), 65_000);
    // Frames before the resume are stale; new ones settle as at the start.
    run.steps(&[Frame(64_000, AWAY)]);
    run.steps(&frames(65_250, 66_000, 250, AWAY));
    run.step(Finish(70_000));
    let Some(summary) = run.summary else {
        panic!("finished");
    };
    assert_eq!(run.changes(), vec![(65_750, AWAY), (68_000, NO_SIGNAL)]);
    assert_eq!(summary.total_ms, 70_000);
    assert_eq!(summary.offline_ms, 60_000);
    assert_eq!(summary.starting_ms, 750 + 750);
    assert_eq!(summary.focused_ms, 4_250);
    assert_eq!(summary.unfocused_ms, 70_000 - 65_750);
}

#[test]
fn sparse_frames_do_not_chop_the_timeline() {
    // A hidden tab's throttled page sent a frame every 2.0-2.01 s, and the timeline got a
    // no-signal stretch of 1-12 ms at nearly every frame. Now no stretch is shorter than
    // the debounce, and a gap of at most 2 s never splits a stretch: a 2.01 s gap is no
    // signal until frames settle again, so every stretch here lasts about 2 s or more.
    let mut steps = frames(250, 3_000, 250, FOCUSED);
    let mut at_ms = 3_000;
    for i in 0..30 {
        at_ms += if i % 2 == 0 { 2_000 } else { 2_010 };
        steps.push(Frame(at_ms, FOCUSED));
        steps.push(Tick(at_ms + 1_000));
    }
    steps.push(Finish(at_ms + 500));
    let run = Run::script(ClockParams::default(), &steps);
    let stretches = run.stretches();
    let Some((last, clock_ended)) = stretches.split_last() else {
        panic!("no stretches");
    };
    assert!(last.duration_ms() > 0);
    assert!(
        clock_ended.iter().all(|s| s.duration_ms() >= 2_000),
        "{stretches:?}"
    );
    // The same frames 2 s apart (not more) are one focused stretch.
    let mut steps = frames(250, 3_000, 250, FOCUSED);
    steps.extend((1..=30).map(|i| Frame(3_000 + i * 2_000, FOCUSED)));
    steps.push(Finish(63_500));
    let run = Run::script(ClockParams::default(), &steps);
    assert_eq!(
        run.stretches(),
        vec![Stretch {
            start_ms: 0,
            end_ms: 63_500,
            state: FOCUSED
        }]
    );
}

#[test]
fn the_reason_s_duration_agrees_with_the_timers() {
    // Away for 1.5 s, then eyes closed: "eyes closed for N s" is the open stretch
    // (state_ms), within the drift (drift_ms), within the unfocused time.
    let run = Run::script(
        ClockParams::default(),
        &[
            frames(1000, 3000, 250, AWAY),
            frames(3250, 6000, 250, CLOSED),
        ]
        .concat(),
    );
    let live = run.snapshot_at(6000);
    assert_eq!(live.state, CLOSED);
    assert_eq!(live.drift_ms, 6000 - 1500);
    assert_eq!(live.state_ms, 6000 - 3750);
    assert_eq!(live.unfocused_ms, live.drift_ms);
    for (_, snapshot) in &run.snapshots {
        assert!(snapshot.state_ms <= snapshot.elapsed_ms());
        if !snapshot.focused {
            assert!(snapshot.state_ms <= snapshot.drift_ms);
            assert!(snapshot.drift_ms <= snapshot.unfocused_ms);
        }
    }
}

#[test]
fn default_params_are_the_documented_ones() {
    assert_eq!(
        ClockParams::default(),
        ClockParams {
            alert_threshold_ms: 10_000,
            debounce_ms: 500,
            no_signal_after_ms: 2_000
        }
    );
    assert_eq!(MIN_FLIP_FRAMES, 2);
}

#[test]
fn wire_format() -> Result<(), serde_json::Error> {
    use serde_json::json;
    let cases = [
        (
            serde_json::to_value(FocusEvent::StateChanged {
                at_ms: 5,
                state: AWAY,
            })?,
            json!({"type": "state_changed", "at_ms": 5,
                   "state": "unfocused", "reason": "looking_away"}),
        ),
        (
            serde_json::to_value(FocusEvent::StateChanged {
                at_ms: 6,
                state: PAUSED,
            })?,
            json!({"type": "state_changed", "at_ms": 6, "state": "paused"}),
        ),
        (
            serde_json::to_value(FocusEvent::StretchClosed(Stretch {
                start_ms: 1,
                end_ms: 2,
                state: FOCUSED,
            }))?,
            json!({"type": "stretch_closed", "start_ms": 1, "end_ms": 2, "state": "focused"}),
        ),
        (
            serde_json::to_value(Stretch {
                start_ms: 1,
                end_ms: 2,
                state: ClockState::Offline,
            })?,
            json!({"start_ms": 1, "end_ms": 2, "state": "offline"}),
        ),
        (
            serde_json::to_value(AWAY)?,
            json!({"state": "unfocused", "reason": "looking_away"}),
        ),
        (
            serde_json::to_value(FocusEvent::BreakClosed(Break {
                start_ms: 1,
                end_ms: 2,
                reason: Reason::NoSignal,
            }))?,
            json!({"type": "break_closed", "start_ms": 1, "end_ms": 2, "reason": "no_signal"}),
        ),
        (
            serde_json::to_value(FocusClock::new(ClockParams::default(), 0).snapshot(250))?,
            json!({"state": "starting", "focused": false, "alert": false, "focused_ms": 0,
                   "unfocused_ms": 0, "starting_ms": 250, "paused_ms": 0, "offline_ms": 0,
                   "breaks": 0, "focus_percent": 0.0, "longest_focus_ms": 0,
                   "drift_ms": 0, "state_ms": 250}),
        ),
        (
            serde_json::to_value(ClockParams::default())?,
            json!({"alert_threshold_ms": 10_000, "debounce_ms": 500, "no_signal_after_ms": 2_000}),
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    let event: FocusEvent = serde_json::from_value(json!(
        {"type": "alert", "at_ms": 9, "drift_started_ms": 1, "reason": "eyes_closed"}
    ))?;
    assert_eq!(
        event,
        FocusEvent::Alert {
            at_ms: 9,
            drift_started_ms: 1,
            reason: Reason::EyesClosed
        }
    );
    let stretch: Stretch = serde_json::from_value(
        json!({"start_ms": 1, "end_ms": 2, "state": "unfocused", "reason": "no_face"}),
    )?;
    assert_eq!(stretch.state, NO_FACE);
    let changed: FocusEvent =
        serde_json::from_value(json!({"type": "state_changed", "at_ms": 3, "state": "starting"}))?;
    assert_eq!(
        changed,
        FocusEvent::StateChanged {
            at_ms: 3,
            state: STARTING
        }
    );
    let partial: ClockParams = serde_json::from_value(json!({"debounce_ms": 300}))?;
    assert_eq!(partial.debounce_ms, 300);
    assert_eq!(partial.alert_threshold_ms, 10_000);
    Ok(())
}
