//! [`SessionSummary`]: the end-of-session numbers as the API returns them.
//!
//! Built from the stored totals, so the summary sent live at the planned end, the answer to
//! `POST /end`, and a second `POST /end` later are the same to the digit.

use focus_store::{EndReason, ProfileUsed, Session, SessionStatus, Totals};
use serde::Serialize;

/// The summary of an ended session. Durations are seconds, rounded to 0.1 s.
///
/// `total_seconds` is the session from its start to its end; the five parts (focused,
/// unfocused, starting, paused, offline) add up to it, each rounded on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    pub id: i64,
    /// From the start to the end (planned or early).
    pub total_seconds: f64,
    pub focused_seconds: f64,
    /// Looking away, eyes closed, no face, or no camera signal.
    pub unfocused_seconds: f64,
    /// No verdict yet: the start, and just after each resume.
    pub starting_seconds: f64,
    /// Paused by the user.
    pub paused_seconds: f64,
    /// The server was down, from an interruption to the session's resume.
    pub offline_seconds: f64,
    /// Drifts that lasted at least the alert threshold.
    pub breaks_count: u32,
    /// Focused share of the measured time (focused + unfocused), 0-100, one decimal
    /// (truncated, as on the live page).
    pub focus_percent: f64,
    /// Longest focused stretch.
    pub longest_focus_seconds: f64,
    /// Ended before its planned time (by the user, or cut off).
    pub ended_early: bool,
    /// `completed`, or `interrupted` when the server stopped during the session.
    pub status: SessionStatus,
    /// Why it ended: `planned`, `user`, `server_stopped`, `server_lost`; `null` for
    /// sessions stored before the reason was kept.
    pub end_reason: Option<EndReason>,
    /// Frames that got a verdict.
    pub frames_analyzed: u64,
    /// Closures of the eyes of 50-500 ms.
    pub blinks: u32,
    /// Blinks per minute of the time the eyes were seen, one decimal; `null` under 10 s of
    /// eyes seen.
    pub blink_rate_per_min: Option<f64>,
    /// PERCLOS over the session: the share of the time the eyes were seen with them at
    /// least 80% closed, 0-100, one decimal; `null` under 10 s of eyes seen.
    pub perclos_percent: Option<f64>,
    /// Time the eyes were seen (the two figures above are over it).
    pub eyes_seen_seconds: f64,
    /// The calibration profile it was judged with, as it was when the session started;
    /// `null`: not calibrated (the default rules).
    pub profile: Option<SessionProfile>,
    /// Focused time on each of the profile's extra zones, in its order: a part of
    /// `focused_seconds` ("focused 42:10, of which notes 6:30"). `[]` without zones, and
    /// for sessions stored before zone time was kept.
    pub zone_time: Vec<ZoneSeconds>,
}

/// Focused time on one extra zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneSeconds {
    /// The zone's name when the session started.
    pub zone: String,
    /// Focused time on it, rounded to 0.1 s.
    pub seconds: f64,
}

/// The calibration profile a session was judged with, as it was when the session started
/// (kept with the session, so it still says what was used after the profile is renamed,
/// calibrated again or deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionProfile {
    /// The profile's id (`GET /api/profiles/{id}`); `null` when it was deleted since.
    pub id: Option<i64>,
    /// Its name then.
    pub name: String,
    /// `full` or `quick`.
    pub mode: String,
    /// Its extra zones then ("notes"): glances there counted as focused.
    pub zones: Vec<String>,
}

impl SessionProfile {
    /// What `session` was judged with; `None`: the default rules.
    pub fn of(session: &Session) -> Option<Self> {
        Self::from_used(session.profile_id, session.profile_used.as_ref())
    }

    /// From the stored parts: the profile's id (if it still exists) and what it was.
    pub fn from_used(id: Option<i64>, used: Option<&ProfileUsed>) -> Option<Self> {
        used.map(|u| SessionProfile {
            id,
            name: u.name.clone(),
            mode: u.mode.clone(),
            zones: u.zones.clone(),
        })
    }
}

impl SessionSummary {
    /// The summary of a stored session (its totals as last saved).
    pub fn from_session(session: &Session) -> Self {
        Self::from_totals(
            session.id,
            &session.totals,
            session.ended_early,
            session.status,
            session.end_reason,
            SessionProfile::of(session),
        )
    }

    /// The summary from totals.
    pub fn from_totals(
        id: i64,
        totals: &Totals,
        ended_early: bool,
        status: SessionStatus,
        end_reason: Option<EndReason>,
        profile: Option<SessionProfile>,
    ) -> Self {
        SessionSummary {
            id,
            total_seconds: seconds(totals.total_ms),
            focused_seconds: seconds(totals.focused_ms),
            unfocused_seconds: seconds(totals.unfocused_ms),
            starting_seconds: seconds(totals.starting_ms),
            paused_seconds: seconds(totals.paused_ms),
            offline_seconds: seconds(totals.offline_ms),
            breaks_count: totals.breaks,
            focus_percent: totals.focus_percent(),
            longest_focus_seconds: seconds(totals.longest_focus_ms),
            ended_early,
            status,
            end_reason,
            frames_analyzed: totals.frames_analyzed,
            blinks: totals.eyes.blinks,
            blink_rate_per_min: totals.eyes.blink_rate_per_min(),
            perclos_percent: totals.eyes.perclos_percent(),
            eyes_seen_seconds: seconds(totals.eyes.eyes_seen_ms),
            profile,
            zone_time: (totals.zone_time.iter())
                .map(|z| ZoneSeconds {
                    zone: z.zone.clone(),
                    seconds: seconds(z.ms),
                })
                .collect(),
        }
    }
}

/// Milliseconds to seconds, rounded to a tenth.
pub fn seconds(ms: u64) -> f64 {
    // Below 2^53 ms the conversion is exact; sessions last at most 10 hours.
    (ms as f64 / 100.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_rounds_to_tenths_and_truncates_percent() {
        let totals = Totals {
            total_ms: 3_600,
            focused_ms: 2_000,
            unfocused_ms: 1_000,
            starting_ms: 600,
            breaks: 1,
            longest_focus_ms: 1_949,
            ..Totals::default()
        };
        let s = SessionSummary::from_totals(
            7,
            &totals,
            true,
            SessionStatus::Completed,
            Some(EndReason::User),
            None,
        );
        assert_eq!(s.total_seconds, 3.6);
        assert_eq!(s.starting_seconds, 0.6);
        assert_eq!(s.longest_focus_seconds, 1.9);
        assert_eq!(s.focus_percent, 66.6);
        assert_eq!(s.breaks_count, 1);
        assert!(s.ended_early);
    }
}
