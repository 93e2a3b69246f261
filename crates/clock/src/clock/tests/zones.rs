//! Extra zones ("notes", "second monitor") as a part of the focused state: a change of zone
//! is debounced like any other change, zone time is a part of focused time and ends when
//! focus does, and zones change nothing else (the same frames on the screen give the same
//! events and totals).

use super::*;

const NOTES: usize = 0;
const MONITOR: usize = 1;

/// Focused frames on `zone` at `from, from + every, ...` up to `to` inclusive.
fn zone_frames(from: u64, to: u64, every: u64, zone: usize) -> Vec<Step> {
    (from..=to)
        .step_by(every as usize)
        .map(|at| ZoneFrame(at, zone))
        .collect()
}

/// `steps` with every zone frame turned into a frame focused on the screen.
fn on_screen(steps: &[Step]) -> Vec<Step> {
    steps
        .iter()
        .map(|&step| match step {
            ZoneFrame(at_ms, _) => Frame(at_ms, FOCUSED),
            other => other,
        })
        .collect()
}

fn zone(index: usize) -> ZoneId {
    match ZoneId::new(index) {
        Some(zone) => zone,
        None => panic!("zone {index} is past MAX_ZONES"),
    }
}

/// One case: a script (from a clock settled on the screen at 0, or a fresh one), the zone
/// time it must end with (by zone number, trailing zeros left out) and the zone the user is
/// on at the end.
struct Case {
    name: &'static str,
    fresh: bool,
    steps: Vec<Step>,
    zone_ms: Vec<u64>,
    zone_at_end: Option<usize>,
}

fn case(
    name: &'static str,
    steps: Vec<Step>,
    zone_ms: Vec<u64>,
    zone_at_end: Option<usize>,
) -> Case {
    Case {
        name,
        fresh: false,
        steps,
        zone_ms,
        zone_at_end,
    }
}

fn run(fresh: bool, steps: &[Step]) -> Run {
    if fresh {
        Run::fresh(ClockParams::default(), steps)
    } else {
        Run::script(ClockParams::default(), steps)
    }
}

#[test]
fn zone_time_table() {
    let cases = vec![
        case(
            "a zone switch needs frames spanning the debounce: the 3rd notes frame at 1.5 s",
            [
                frames(250, 750, 250, FOCUSED),
                zone_frames(1_000, 3_000, 250, NOTES),
                vec![Finish(3_000)],
            ]
            .concat(),
            vec![1_500],
            Some(NOTES),
        ),
        case(
            "one notes frame between screen frames changes nothing",
            [
                frames(250, 750, 250, FOCUSED),
                vec![ZoneFrame(1_000, NOTES)],
                frames(1_250, 3_000, 250, FOCUSED),
                vec![Finish(3_000)],
            ]
            .concat(),
            vec![],
            None,
        ),
        case(
            "two notes frames spanning less than the debounce change nothing",
            [
                vec![ZoneFrame(1_000, NOTES), ZoneFrame(1_250, NOTES)],
                frames(1_500, 3_000, 250, FOCUSED),
                vec![Finish(3_000)],
            ]
            .concat(),
            vec![],
            None,
        ),
        case(
            "a flicker between the screen and the notes never switches",
            [
                (1..=20)
                    .map(|i| {
                        if i % 2 == 0 {
                            ZoneFrame(i * 250, NOTES)
                        } else {
                            Frame(i * 250, FOCUSED)
                        }
                    })
                    .collect(),
                vec![Finish(5_000)],
            ]
            .concat(),
            vec![],
            None,
        ),
        case(
            "a flicker between two zones never switches: a run keeps one zone",
            [
                (1..=20)
                    .map(|i| ZoneFrame(i * 250, if i % 2 == 0 { NOTES } else { MONITOR }))
                    .collect(),
                vec![Finish(5_000)],
            ]
            .concat(),
            vec![],
            None,
        ),
        case(
            "from one zone to another, each switch debounced",
            [
                zone_frames(250, 2_000, 250, NOTES),
                zone_frames(2_250, 4_000, 250, MONITOR),
                vec![Finish(4_000)],
            ]
            .concat(),
            // Notes 750-2 750, the monitor 2 750-4 000.
            vec![2_000, 1_250],
            Some(MONITOR),
        ),
        case(
            "back to the screen: the zone's time stops at the debounced switch",
            [
                zone_frames(250, 2_000, 250, NOTES),
                frames(2_250, 4_000, 250, FOCUSED),
                vec![Finish(4_000)],
            ]
            .concat(),
            vec![2_000],
            None,
        ),
        case(
            "looking away ends the zone at the flip to unfocused",
            [
                zone_frames(250, 2_000, 250, NOTES),
                frames(2_250, 4_000, 250, AWAY),
                vec![Finish(4_000)],
            ]
            .concat(),
            // Notes from 750 to the flip at 2 750.
            vec![2_000],
            None,
        ),
        case(
            "unfocused frames shorter than the debounce leave the zone running",
            [
                zone_frames(250, 1_000, 250, NOTES),
                vec![Frame(1_250, AWAY), Frame(1_500, AWAY)],
                zone_frames(1_750, 3_000, 250, NOTES),
                vec![Finish(3_000)],
            ]
            .concat(),
            vec![2_250],
            Some(NOTES),
        ),
        case(
            "a refocus on a zone counts on the zone from the refocus",
            [
                frames(250, 750, 250, AWAY),
                zone_frames(1_000, 3_000, 250, NOTES),
                vec![Finish(3_000)],
            ]
            .concat(),
            // Unfocused at 750, refocused at 1 500 by the 3rd notes frame.
            vec![1_500],
            Some(NOTES),
        ),
        case(
            "a refocus run is decided by its last frame: on the screen",
            [
                frames(250, 750, 250, AWAY),
                vec![ZoneFrame(1_000, NOTES), ZoneFrame(1_250, NOTES)],
                frames(1_500, 3_000, 250, FOCUSED),
                vec![Finish(3_000)],
            ]
            .concat(),
            vec![],
            None,
        ),
        case(
            "no signal ends the zone at the deadline",
            [
                zone_frames(250, 1_000, 250, NOTES),
                ticks(1_500, 5_000, 500),
                vec![Finish(5_000)],
            ]
            .concat(),
            // Notes 750-3 000 (the last frame at 1 000 plus the 2 s grace).
            vec![2_250],
            None,
        ),
        case(
            "a pause ends the zone; after the resume the frames settle on it again",
            [
                zone_frames(250, 1_000, 250, NOTES),
                vec![Pause(2_000), Resume(3_000)],
                zone_frames(3_250, 4_000, 250, NOTES),
                vec![Finish(4_000)],
            ]
            .concat(),
            // Notes 750-2 000, then from the settling at 3 750.
            vec![1_250 + 250],
            Some(NOTES),
        ),
        Case {
            fresh: true,
            ..case(
                "a fresh clock that settles on a zone counts from the settling frame",
                [zone_frames(250, 2_000, 250, NOTES), vec![Finish(2_000)]].concat(),
                vec![1_250],
                Some(NOTES),
            )
        },
    ];
    for Case {
        name,
        fresh,
        steps,
        zone_ms,
        zone_at_end,
    } in cases
    {
        let with_zones = run(fresh, &steps);
        let Some(summary) = with_zones.summary else {
            panic!("{name}: the script ends with Finish");
        };
        let got: Vec<u64> = serde_json::to_value(summary.zone_ms)
            .and_then(serde_json::from_value)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, zone_ms, "{name}: zone time");
        assert!(summary.zone_ms.total_ms() <= summary.focused_ms, "{name}");
        let last = with_zones.snapshots.last().map(|(_, s)| s.zone);
        assert_eq!(last, Some(zone_at_end.map(zone)), "{name}: zone at the end");
        // Zones change nothing else: the same frames on the screen give the same events
        // and totals (zone time aside).
        let screen = run(fresh, &on_screen(&steps));
        assert_eq!(with_zones.events, screen.events, "{name}: events");
        let Some(screen_summary) = screen.summary else {
            panic!("{name}: finished");
        };
        assert_eq!(
            Summary {
                zone_ms: ZoneTimes::default(),
                ..summary
            },
            screen_summary,
            "{name}: totals"
        );
    }
}

#[test]
fn live_zone_time_is_never_backdated() {
    let mut run = Run::script(
        ClockParams::default(),
        &[
            frames(250, 750, 250, FOCUSED),
            zone_frames(1_000, 1_250, 250, NOTES),
        ]
        .concat(),
    );
    // Two notes frames: not switched yet, the time is still the screen's.
    let live = run.clock.snapshot(1_400);
    assert_eq!((live.zone, live.zone_ms.total_ms()), (None, 0));
    run.step(ZoneFrame(1_500, NOTES));
    let live = run.clock.snapshot(2_100);
    assert_eq!(live.zone, Some(zone(NOTES)));
    assert_eq!(live.zone_ms.get(zone(NOTES)), 600);
    assert_eq!(live.focused_ms, 2_100);
}

#[test]
fn zone_time_survives_a_restore() {
    let mut clock = FocusClock::new(ClockParams::default(), START);
    for at_ms in (250..=5_000).step_by(250) {
        let _ = clock.observe(Attention::FocusedOn(zone(MONITOR)), at_ms);
    }
    let (summary, _) = clock.finish(5_000);
    assert_eq!(summary.zone_ms.get(zone(MONITOR)), 5_000 - 750);
    let (mut restored, _) = FocusClock::restore(ClockParams::default(), START, &summary, 65_000);
    for at_ms in (65_250..=70_000).step_by(250) {
        let _ = restored.observe(Attention::FocusedOn(zone(NOTES)), at_ms);
    }
    let (after, _) = restored.finish(70_000);
    assert_eq!(after.zone_ms.get(zone(MONITOR)), 4_250);
    assert_eq!(after.zone_ms.get(zone(NOTES)), 70_000 - 65_750);
    assert_eq!(after.focused_ms, 4_250 + 4_250);
}

#[test]
fn zone_wire_format() -> Result<(), serde_json::Error> {
    use serde_json::json;
    assert_eq!(
        serde_json::to_value(Attention::FocusedOn(zone(NOTES)))?,
        json!({"state": "focused_on", "reason": 0})
    );
    let mut clock = settled_clock(ClockParams::default(), START);
    for at_ms in [250, 500, 750] {
        let _ = clock.observe(Attention::FocusedOn(zone(MONITOR)), at_ms);
    }
    let live = serde_json::to_value(clock.snapshot(1_000))?;
    assert_eq!(live["zone"], json!(1));
    assert_eq!(live["zone_ms"], json!([0, 250]));
    Ok(())
}
