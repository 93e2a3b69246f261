//! Property tests of the clock on random frame sequences: the invariants that the live page,
//! the timeline and the summary rely on hold whatever the frames, gaps, pauses, restarts
//! and parameters.

use focus_clock::{
    Attention, Break, ClockParams, ClockState, FocusClock, FocusEvent, Reason, Snapshot, Stretch,
    Summary, ZoneId, ZoneTimes,
};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Op {
    /// A frame `delta_ms` after the latest time so far.
    Frame { delta_ms: u64, attention: Attention },
    /// A frame `back_ms` before the latest time so far (stale or late).
    LateFrame { back_ms: u64, attention: Attention },
    /// A timer tick `delta_ms` after the latest time so far.
    Tick { delta_ms: u64 },
    /// A tick `back_ms` before the latest time so far.
    LateTick { back_ms: u64 },
    /// The user pauses `delta_ms` after the latest time so far.
    Pause { delta_ms: u64 },
    /// The user resumes `delta_ms` after the latest time so far (a no-op unless paused).
    Resume { delta_ms: u64 },
    /// The server stops now (the session is finished as it stands) and the session is
    /// continued `down_ms` later with a restored clock.
    Restart { down_ms: u64 },
}

fn attention() -> impl Strategy<Value = Attention> {
    let zones: Vec<Attention> = (0..3)
        .filter_map(ZoneId::new)
        .map(Attention::FocusedOn)
        .collect();
    prop_oneof![
        3 => Just(Attention::Focused),
        2 => prop::sample::select(zones),
        1 => prop::sample::select(Reason::ALL.to_vec()).prop_map(Attention::Unfocused),
    ]
}

/// `ops` with every frame on a zone turned into a frame on the screen.
fn on_screen(ops: &[Op]) -> Vec<Op> {
    let screen = |attention: Attention| match attention {
        Attention::FocusedOn(_) => Attention::Focused,
        other => other,
    };
    ops.iter()
        .map(|&op| match op {
            Op::Frame {
                delta_ms,
                attention,
            } => Op::Frame {
                delta_ms,
                attention: screen(attention),
            },
            Op::LateFrame { back_ms, attention } => Op::LateFrame {
                back_ms,
                attention: screen(attention),
            },
            other => other,
        })
        .collect()
}

/// Mostly the browser's cadence (0-400 ms), sometimes a gap long enough for no signal.
fn delta_ms() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..400, 1 => 400u64..4_000, 1 => 4_000u64..30_000]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (delta_ms(), attention()).prop_map(|(delta_ms, attention)| Op::Frame { delta_ms, attention }),
        1 => (0u64..1_000, attention()).prop_map(|(back_ms, attention)| Op::LateFrame { back_ms, attention }),
        4 => delta_ms().prop_map(|delta_ms| Op::Tick { delta_ms }),
        1 => (0u64..1_000).prop_map(|back_ms| Op::LateTick { back_ms }),
        1 => delta_ms().prop_map(|delta_ms| Op::Pause { delta_ms }),
        1 => (1u64..20_000).prop_map(|delta_ms| Op::Resume { delta_ms }),
        1 => (1u64..120_000).prop_map(|down_ms| Op::Restart { down_ms }),
    ]
}

fn params() -> impl Strategy<Value = ClockParams> {
    (0u64..20_000, 0u64..1_200, 0u64..3_000).prop_map(
        |(alert_threshold_ms, debounce_ms, no_signal_after_ms)| ClockParams {
            alert_threshold_ms,
            debounce_ms,
            no_signal_after_ms,
        },
    )
}

/// Everything a session produced.
struct Session {
    params: ClockParams,
    started_at_ms: u64,
    finished_at_ms: u64,
    events: Vec<FocusEvent>,
    summary: Summary,
}

/// Runs `ops` then finishes `finish_after_ms` after the latest time, checking the live
/// invariants after every call.
fn run(
    params: ClockParams,
    started_at_ms: u64,
    ops: &[Op],
    finish_after_ms: u64,
) -> Result<Session, TestCaseError> {
    let mut clock = FocusClock::new(params, started_at_ms);
    let mut latest_ms = started_at_ms;
    let mut events = Vec::new();
    let mut previous: Option<Snapshot> = None;
    for &op in ops {
        let at_ms = match op {
            Op::Frame {
                delta_ms,
                attention,
            } => {
                latest_ms += delta_ms;
                events.extend(clock.observe(attention, latest_ms));
                latest_ms
            }
            Op::LateFrame { back_ms, attention } => {
                let at_ms = latest_ms.saturating_sub(back_ms);
                events.extend(clock.observe(attention, at_ms));
                at_ms
            }
            Op::Tick { delta_ms } => {
                latest_ms += delta_ms;
                events.extend(clock.tick(latest_ms));
                latest_ms
            }
            Op::LateTick { back_ms } => {
                let at_ms = latest_ms.saturating_sub(back_ms);
                events.extend(clock.tick(at_ms));
                at_ms
            }
            Op::Pause { delta_ms } => {
                latest_ms += delta_ms;
                events.extend(clock.pause(latest_ms));
                latest_ms
            }
            Op::Resume { delta_ms } => {
                latest_ms += delta_ms;
                events.extend(clock.resume(latest_ms));
                latest_ms
            }
            Op::Restart { down_ms } => {
                let (summary, finish_events) = clock.finish(latest_ms);
                events.extend(finish_events);
                latest_ms += down_ms;
                let (restored, restore_events) =
                    FocusClock::restore(params, started_at_ms, &summary, latest_ms);
                clock = restored;
                events.extend(restore_events);
                latest_ms
            }
        };
        let snapshot = clock.snapshot(at_ms);
        prop_assert_eq!(
            snapshot.elapsed_ms(),
            latest_ms - started_at_ms,
            "the totals do not add up to the elapsed time after {:?}: {:?}",
            op,
            snapshot
        );
        if let Some(previous) = previous {
            prop_assert!(snapshot.focused_ms >= previous.focused_ms);
            prop_assert!(snapshot.unfocused_ms >= previous.unfocused_ms);
            prop_assert!(snapshot.starting_ms >= previous.starting_ms);
            prop_assert!(snapshot.paused_ms >= previous.paused_ms);
            prop_assert!(snapshot.offline_ms >= previous.offline_ms);
            prop_assert!(snapshot.breaks >= previous.breaks);
            prop_assert!(snapshot.longest_focus_ms >= previous.longest_focus_ms);
            for (now, before) in snapshot
                .zone_ms
                .as_slice()
                .iter()
                .zip(previous.zone_ms.as_slice())
            {
                prop_assert!(now >= before, "a zone's time went back after {:?}", op);
            }
        }
        prop_assert!(snapshot.zone_ms.total_ms() <= snapshot.focused_ms);
        prop_assert!(snapshot.zone.is_none() || snapshot.focused);
        prop_assert!(snapshot.longest_focus_ms <= snapshot.focused_ms);
        prop_assert!((0.0..=100.0).contains(&snapshot.focus_percent));
        prop_assert_eq!(snapshot.focused, snapshot.state == ClockState::Focused);
        prop_assert_eq!(
            snapshot.reason().is_some(),
            matches!(snapshot.state, ClockState::Unfocused(_))
        );
        prop_assert!(snapshot.state != ClockState::Offline);
        prop_assert!(snapshot.state_ms <= snapshot.elapsed_ms());
        if snapshot.reason().is_some() {
            prop_assert!(snapshot.state_ms <= snapshot.drift_ms);
            prop_assert!(snapshot.drift_ms <= snapshot.unfocused_ms);
        } else {
            prop_assert!(snapshot.drift_ms == 0 && !snapshot.alert);
        }
        if snapshot.alert {
            prop_assert!(snapshot.drift_ms >= params.alert_threshold_ms);
        }
        previous = Some(snapshot);
    }
    let finished_at_ms = latest_ms + finish_after_ms;
    let (summary, finish_events) = clock.finish(finished_at_ms);
    events.extend(finish_events);
    let (again, again_events) = clock.finish(finished_at_ms + 1_000);
    prop_assert_eq!(again, summary);
    prop_assert!(again_events.is_empty());
    Ok(Session {
        params,
        started_at_ms,
        finished_at_ms,
        events,
        summary,
    })
}

/// The invariants of a finished session's events and summary.
fn check_session(session: &Session) -> Result<(), TestCaseError> {
    let Session {
        params,
        started_at_ms,
        finished_at_ms,
        ref events,
        summary,
    } = *session;

    // Events come in time order.
    for pair in events.windows(2) {
        prop_assert!(
            pair[0].at_ms() <= pair[1].at_ms(),
            "out of order: {:?}",
            pair
        );
    }

    // The summary adds up.
    prop_assert_eq!(summary.total_ms, finished_at_ms - started_at_ms);
    prop_assert_eq!(
        summary.focused_ms
            + summary.unfocused_ms
            + summary.starting_ms
            + summary.paused_ms
            + summary.offline_ms,
        summary.total_ms
    );

    // Stretches tile the session without gaps or overlaps, and agree with the summary.
    let stretches: Vec<Stretch> = events
        .iter()
        .filter_map(|event| match *event {
            FocusEvent::StretchClosed(stretch) => Some(stretch),
            _ => None,
        })
        .collect();
    let mut cursor_ms = started_at_ms;
    for stretch in &stretches {
        prop_assert_eq!(
            stretch.start_ms,
            cursor_ms,
            "gap or overlap at {:?}",
            stretch
        );
        prop_assert!(
            stretch.end_ms > stretch.start_ms,
            "empty stretch {:?}",
            stretch
        );
        cursor_ms = stretch.end_ms;
    }
    prop_assert_eq!(cursor_ms, finished_at_ms);
    let focused_stretches = stretches.iter().filter(|s| s.state.is_focused());
    prop_assert_eq!(
        focused_stretches
            .clone()
            .map(Stretch::duration_ms)
            .sum::<u64>(),
        summary.focused_ms
    );
    prop_assert_eq!(
        focused_stretches
            .map(Stretch::duration_ms)
            .max()
            .unwrap_or(0),
        summary.longest_focus_ms
    );
    for (state, total) in [
        (ClockState::Starting, summary.starting_ms),
        (ClockState::Paused, summary.paused_ms),
        (ClockState::Offline, summary.offline_ms),
    ] {
        let from_stretches: u64 = stretches
            .iter()
            .filter(|s| s.state == state)
            .map(Stretch::duration_ms)
            .sum();
        prop_assert_eq!(from_stretches, total, "{:?}", state);
    }
    if params.debounce_ms > 0 {
        // (Two pauses, or two outages, with nothing measured in between are still two.)
        for pair in stretches.windows(2) {
            if !matches!(pair[0].state, ClockState::Offline | ClockState::Paused) {
                prop_assert_ne!(pair[0].state, pair[1].state, "no flip between {:?}", pair);
            }
        }
    }

    // No stretch the clock ends by itself (a debounced flip, the signal lost or settled)
    // is shorter than the debounce or the grace, whichever is less. Only the user cuts a
    // stretch shorter: a pause, a resume (ending a paused stretch), the end.
    let min_ms = params.debounce_ms.min(params.no_signal_after_ms.max(1));
    for (i, event) in events.iter().enumerate() {
        let FocusEvent::StretchClosed(stretch) = *event else {
            continue;
        };
        let ended_by_the_clock =
            matches!(
                events.get(i + 1),
                Some(FocusEvent::StateChanged {
                    state: ClockState::Focused | ClockState::Unfocused(_),
                    ..
                })
            ) && !matches!(stretch.state, ClockState::Paused | ClockState::Offline);
        if ended_by_the_clock {
            prop_assert!(
                stretch.duration_ms() >= min_ms,
                "{:?} is shorter than {} ms",
                stretch,
                min_ms
            );
        }
    }

    // Each StretchClosed is the state the previous StateChanged set; changes are real. A
    // restart's offline stretch comes between a finish and a restored clock.
    let mut state = ClockState::Starting;
    for event in events {
        match *event {
            FocusEvent::StateChanged { state: next, .. } => {
                prop_assert_ne!(next, state, "change to the same state");
                state = next;
            }
            FocusEvent::StretchClosed(stretch) if stretch.state == ClockState::Offline => {
                state = ClockState::Offline;
            }
            FocusEvent::StretchClosed(stretch) => prop_assert_eq!(stretch.state, state),
            _ => {}
        }
    }

    // Drifts, alerts and breaks: one alert at most per drift, at the threshold; one break
    // per alert, at least the threshold long.
    let mut drift: Option<(u64, bool)> = None;
    let mut alerts = 0u32;
    let mut breaks: Vec<Break> = Vec::new();
    for event in events {
        match *event {
            // A pause or a restart ends the drift without a refocus.
            FocusEvent::StateChanged {
                state: ClockState::Paused | ClockState::Starting,
                ..
            } => drift = None,
            FocusEvent::DriftStarted { at_ms, .. } => {
                prop_assert!(drift.is_none(), "drift inside a drift");
                drift = Some((at_ms, false));
            }
            FocusEvent::Alert {
                at_ms,
                drift_started_ms,
                ..
            } => {
                prop_assert_eq!(
                    drift,
                    Some((drift_started_ms, false)),
                    "alert twice or outside a drift"
                );
                prop_assert_eq!(at_ms, drift_started_ms + params.alert_threshold_ms);
                drift = Some((drift_started_ms, true));
                alerts += 1;
            }
            FocusEvent::Refocused {
                at_ms,
                drift_started_ms,
                was_break,
            } => {
                prop_assert_eq!(drift, Some((drift_started_ms, was_break)));
                prop_assert_eq!(
                    was_break,
                    at_ms - drift_started_ms >= params.alert_threshold_ms
                );
                drift = None;
            }
            FocusEvent::BreakClosed(brk) => {
                prop_assert!(brk.duration_ms() >= params.alert_threshold_ms);
                breaks.push(brk);
            }
            FocusEvent::StateChanged { .. } | FocusEvent::StretchClosed(_) => {}
        }
    }
    prop_assert_eq!(summary.breaks, alerts);
    prop_assert_eq!(breaks.len(), alerts as usize);
    for pair in breaks.windows(2) {
        prop_assert!(
            pair[0].end_ms <= pair[1].start_ms,
            "overlapping breaks {:?}",
            pair
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold_on_random_sessions(
        params in params(),
        started_at_ms in prop_oneof![Just(0u64), 1_600_000_000_000u64..1_800_000_000_000],
        ops in prop::collection::vec(op(), 0..300),
        finish_after_ms in 0u64..5_000,
    ) {
        let session = run(params, started_at_ms, &ops, finish_after_ms)?;
        check_session(&session)?;
    }

    /// Zones are a part of the focused state: the same session with every zone frame on
    /// the screen has the same events and totals, less the zone time.
    #[test]
    fn zones_change_nothing_but_zone_time(
        params in params(),
        ops in prop::collection::vec(op(), 0..300),
        finish_after_ms in 0u64..5_000,
    ) {
        let with_zones = run(params, 0, &ops, finish_after_ms)?;
        let screen = run(params, 0, &on_screen(&ops), finish_after_ms)?;
        prop_assert_eq!(&with_zones.events, &screen.events);
        prop_assert_eq!(Summary { zone_ms: ZoneTimes::default(), ..with_zones.summary }, screen.summary);
        prop_assert!(with_zones.summary.zone_ms.total_ms() <= with_zones.summary.focused_ms);
    }

    /// Ticks only report deadlines earlier; they never change what happens.
    #[test]
    fn ticks_do_not_change_the_outcome(
        params in params(),
        frames in prop::collection::vec((delta_ms(), attention()), 0..200),
        tick_every in 1usize..6,
        finish_after_ms in 0u64..5_000,
    ) {
        let frames_only: Vec<Op> = frames
            .iter()
            .map(|&(delta_ms, attention)| Op::Frame { delta_ms, attention })
            .collect();
        // The same frames, with a tick inserted between some of them (deltas split so the
        // frames keep their times).
        let mut with_ticks = Vec::new();
        for (i, &(delta_ms, attention)) in frames.iter().enumerate() {
            if i % tick_every == 0 {
                let before = delta_ms / 2;
                with_ticks.push(Op::Tick { delta_ms: before });
                with_ticks.push(Op::Frame { delta_ms: delta_ms - before, attention });
            } else {
                with_ticks.push(Op::Frame { delta_ms, attention });
            }
        }
        let plain = run(params, 0, &frames_only, finish_after_ms)?;
        let ticked = run(params, 0, &with_ticks, finish_after_ms)?;
        prop_assert_eq!(&plain.events, &ticked.events);
        prop_assert_eq!(plain.summary, ticked.summary);
    }

    /// A single odd frame between normal ones never flips the state, whatever the
    /// debounce: with frames less than the no-signal limit apart, the clock stays focused
    /// once focused frames have settled the start.
    #[test]
    fn isolated_odd_frames_never_flip(
        debounce_ms in prop_oneof![Just(0u64), 0u64..2_000],
        frames in prop::collection::vec(
            (1u64..=2_000, prop::sample::select(Reason::ALL.to_vec()), any::<bool>()),
            0..300,
        ),
    ) {
        let params = ClockParams { debounce_ms, ..ClockParams::default() };
        let mut clock = FocusClock::new(params, 0);
        let _ = clock.observe(Attention::Focused, 0);
        let settled = clock.observe(Attention::Focused, debounce_ms);
        prop_assert_eq!(
            settled.last(),
            Some(&FocusEvent::StateChanged { at_ms: debounce_ms, state: ClockState::Focused })
        );
        let mut at_ms = debounce_ms;
        let mut previous_odd = false;
        for (delta_ms, reason, odd) in frames {
            at_ms += delta_ms;
            // Never two odd frames in a row.
            let odd = odd && !previous_odd;
            previous_odd = odd;
            let attention = if odd { Attention::Unfocused(reason) } else { Attention::Focused };
            let events = clock.observe(attention, at_ms);
            prop_assert!(events.is_empty(), "flipped at {}: {:?}", at_ms, events);
            prop_assert!(clock.tick(at_ms).is_empty());
        }
        prop_assert_eq!(clock.snapshot(at_ms).focused_ms, at_ms - debounce_ms);
    }
}
