//! Translations between the clock's types and the store's: a frame's verdict as the clock
//! reads it, clock events as timeline rows, totals both ways, and the two millisecond types.

use focus_clock::{
    Attention, ClockParams, ClockState, FocusClock, FocusEvent, Reason, Snapshot, ZoneTimes,
};
use focus_store::{EventKind, EyeCounts, NewEvent, OpenStretch, Session, Totals, ZoneTime};
use focus_vision::FrameAnalysis;

/// A frame's verdict as the clock reads it, without its zone (focused on a zone reads as
/// focused; the session adds the zone, see `zones::SessionZones::attention`).
pub fn attention_of(analysis: &FrameAnalysis) -> Attention {
    if analysis.focused {
        return Attention::Focused;
    }
    Attention::Unfocused(match analysis.reason {
        Some(focus_vision::Reason::EyesClosed) => Reason::EyesClosed,
        Some(focus_vision::Reason::LookingAway) => Reason::LookingAway,
        // An unfocused verdict without a reason should not happen; with no face to go on,
        // "no face" is the honest reading.
        Some(focus_vision::Reason::NoFace) | None => Reason::NoFace,
    })
}

/// The timeline row for a clock event, if it is one the history keeps.
pub(super) fn timeline_record(event: &FocusEvent) -> Option<NewEvent> {
    match event {
        FocusEvent::StretchClosed(stretch) => Some(NewEvent {
            kind: match stretch.state {
                ClockState::Focused => EventKind::Focused,
                ClockState::Unfocused(_) => EventKind::Unfocused,
                ClockState::Starting => EventKind::Starting,
                ClockState::Paused => EventKind::Paused,
                ClockState::Offline => EventKind::Offline,
            },
            reason: stretch.state.reason().map(|r| r.as_str().to_owned()),
            start_ms: to_db_ms(stretch.start_ms),
            end_ms: to_db_ms(stretch.end_ms),
        }),
        FocusEvent::BreakClosed(brk) => Some(NewEvent {
            kind: EventKind::Break,
            reason: Some(brk.reason.as_str().to_owned()),
            start_ms: to_db_ms(brk.start_ms),
            end_ms: to_db_ms(brk.end_ms),
        }),
        _ => None,
    }
}

/// The clock's parameters for a session: the product defaults with its alert threshold.
pub(super) fn clock_params(session: &Session) -> ClockParams {
    ClockParams {
        alert_threshold_ms: u64::from(session.alert_threshold_ms),
        ..ClockParams::default()
    }
}

/// Saved totals as the clock's summary, to restore a clock from; `zone_ms` is the saved zone
/// time by the clock's zone numbers.
pub(super) fn summary_of(totals: &Totals, zone_ms: ZoneTimes) -> focus_clock::Summary {
    focus_clock::Summary {
        total_ms: totals.total_ms,
        focused_ms: totals.focused_ms,
        unfocused_ms: totals.unfocused_ms,
        starting_ms: totals.starting_ms,
        paused_ms: totals.paused_ms,
        offline_ms: totals.offline_ms,
        breaks: totals.breaks,
        focus_percent: totals.focus_percent(),
        longest_focus_ms: totals.longest_focus_ms,
        zone_ms,
    }
}

/// The stretch the clock has open, as crash recovery would close it.
pub(super) fn open_stretch(clock: &FocusClock) -> Option<OpenStretch> {
    let state = clock.state();
    let kind = match state {
        ClockState::Focused => EventKind::Focused,
        ClockState::Unfocused(_) => EventKind::Unfocused,
        ClockState::Starting => EventKind::Starting,
        ClockState::Paused => EventKind::Paused,
        ClockState::Offline => return None,
    };
    Some(OpenStretch {
        kind,
        reason: state.reason().map(|r| r.as_str().to_owned()),
        since_ms: to_db_ms(clock.state_since_ms()),
    })
}

/// The totals to save from a snapshot; `zone_time` is its zone time by name.
pub(super) fn totals_of(
    snapshot: &Snapshot,
    frames_analyzed: u64,
    eyes: EyeCounts,
    zone_time: Vec<ZoneTime>,
) -> Totals {
    Totals {
        total_ms: snapshot.elapsed_ms(),
        focused_ms: snapshot.focused_ms,
        unfocused_ms: snapshot.unfocused_ms,
        starting_ms: snapshot.starting_ms,
        paused_ms: snapshot.paused_ms,
        offline_ms: snapshot.offline_ms,
        breaks: snapshot.breaks,
        longest_focus_ms: snapshot.longest_focus_ms,
        frames_analyzed,
        eyes,
        zone_time,
    }
}

/// Server time (i64 ms since the epoch) to the clock's u64 ms. Times before 1970 do not
/// occur; they clamp to 0.
pub(super) fn to_clock_ms(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

/// The clock's u64 ms back to the store's i64.
pub(super) fn to_db_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}
