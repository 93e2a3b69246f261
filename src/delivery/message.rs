//! The summary of an ended session as the email and the SMS say it: [`summary_message`]
//! builds the notifier's [`SummaryMessage`] from the stored session, with the start time in
//! the server's time zone.

use focus_notify::{SummaryMessage, ZoneFocus};
use focus_store::{EndReason, ProfileUsed, Session};
use focus_types::time::rfc3339_millis;
use jiff::tz::TimeZone;

/// The summary of an ended session as the email and the SMS show it.
///
/// Durations are whole seconds rounded to the nearest (as the pages show them), the focus
/// percent is the summary's (the page's rule), blink rate and PERCLOS are the summary's
/// (one decimal, `None` under 10 s of eyes seen), the start time is given in `zone` with the
/// zone's abbreviation ("2026-11-25 09:30 CET"), and the link opens the session on the
/// history page: `{link_base}/history?session={id}`.
pub(super) fn summary_message(
    session: &Session,
    link_base: &str,
    zone: &TimeZone,
) -> SummaryMessage {
    let totals = &session.totals;
    SummaryMessage {
        session_id: session.id,
        started_at_local: format_start(session.started_at_ms, zone),
        planned_minutes: session.planned_duration_s.saturating_add(30) / 60,
        total_s: whole_seconds(totals.total_ms),
        focused_s: whole_seconds(totals.focused_ms),
        unfocused_s: whole_seconds(totals.unfocused_ms),
        paused_s: whole_seconds(totals.paused_ms),
        starting_s: whole_seconds(totals.starting_ms),
        offline_s: whole_seconds(totals.offline_ms),
        breaks: totals.breaks,
        focus_percent: totals.focus_percent(),
        longest_focus_s: whole_seconds(totals.longest_focus_ms),
        blinks: totals.eyes.blinks,
        blink_rate_per_min: totals.eyes.blink_rate_per_min(),
        perclos_percent: totals.eyes.perclos_percent(),
        ended_early: session.ended_early,
        end_note: end_note(session),
        link: format!("{link_base}/history?session={}", session.id),
        judged_with: session.profile_used.as_ref().map(profile_words),
        zone_time: (totals.zone_time.iter())
            .map(|z| ZoneFocus {
                zone: z.zone.clone(),
                seconds: whole_seconds(z.ms),
            })
            .collect(),
    }
}

/// `"Desk" (full calibration; zones: notes)`: the profile a session was judged with, for the
/// email (the pages say the same in `profileUsedText`).
fn profile_words(profile: &ProfileUsed) -> String {
    let mode = if profile.mode == "full" {
        "full"
    } else {
        "quick"
    };
    let zones = if profile.zones.is_empty() {
        String::new()
    } else {
        format!("; zones: {}", profile.zones.join(", "))
    };
    format!("\"{}\" ({mode} calibration{zones})", profile.name)
}

/// Why the session ended, for the message: said when it did not simply run its course.
fn end_note(session: &Session) -> Option<String> {
    let note = match session.end_reason? {
        EndReason::Planned => return None,
        EndReason::User if !session.ended_early => return None,
        EndReason::User => "you ended it",
        EndReason::ServerStopped => "the server stopped during the session",
        EndReason::ServerLost => "the server stopped unexpectedly during the session",
    };
    Some(note.to_owned())
}

fn whole_seconds(ms: u64) -> u64 {
    ms.saturating_add(500) / 1000
}

/// "2026-11-25 09:30 CET": minutes are enough in a subject line; the zone is named so the
/// time is never ambiguous.
fn format_start(ms: i64, zone: &TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(at) => at
            .to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        // Out of jiff's range (year 10000): not a real session; say it plainly in UTC.
        Err(_) => rfc3339_millis(ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use focus_store::{AlertMode, EndReason, EyeCounts, SessionStatus, Totals};

    fn session() -> Session {
        Session {
            id: 42,
            // 2026-11-25 09:30:00 UTC
            started_at_ms: 1_795_599_000_000,
            planned_duration_s: 1_500,
            alert_threshold_ms: 10_000,
            alert_mode: AlertMode::Both,
            email: Some("me@example.com".into()),
            phone: None,
            send_email: true,
            send_sms: false,
            ends_at_ms: 1_795_600_500_000,
            status: SessionStatus::Completed,
            ended_at_ms: Some(1_795_600_450_000),
            ended_early: true,
            end_reason: Some(EndReason::User),
            updated_at_ms: 1_795_600_450_000,
            profile_id: None,
            profile_used: None,
            totals: Totals {
                total_ms: 1_450_000,
                focused_ms: 1_261_600,
                unfocused_ms: 188_400,
                breaks: 2,
                longest_focus_ms: 749_500,
                // 318 blinks in 23 min 20 s with the eyes seen; 28 s of it shut.
                eyes: EyeCounts {
                    blinks: 318,
                    long_closures: 2,
                    eyes_seen_ms: 1_400_000,
                    eyes_shut_ms: 28_000,
                },
                ..Totals::default()
            },
        }
    }

    #[test]
    fn summary_message_carries_the_session_numbers() {
        let msg = summary_message(&session(), "http://127.0.0.1:8000", &TimeZone::UTC);
        assert_eq!(msg.session_id, 42);
        assert_eq!(msg.started_at_local, "2026-11-25 09:30 UTC");
        assert_eq!(msg.planned_minutes, 25);
        assert_eq!(
            (
                msg.total_s,
                msg.focused_s,
                msg.unfocused_s,
                msg.longest_focus_s
            ),
            (1_450, 1_262, 188, 750)
        );
        assert_eq!(msg.breaks, 2);
        assert_eq!(msg.focus_percent, 87.0);
        assert_eq!(msg.blinks, 318);
        assert_eq!(msg.blink_rate_per_min, Some(13.6));
        assert_eq!(msg.perclos_percent, Some(2.0));
        assert!(msg.ended_early);
        assert_eq!(msg.end_note.as_deref(), Some("you ended it"));
        assert_eq!(msg.link, "http://127.0.0.1:8000/history?session=42");
    }

    #[test]
    fn summary_message_carries_paused_time_and_why_it_ended() {
        let mut s = session();
        s.totals.paused_ms = 300_400;
        s.totals.offline_ms = 59_600;
        s.end_reason = Some(EndReason::ServerLost);
        let msg = summary_message(&s, "http://127.0.0.1:8000", &TimeZone::UTC);
        assert_eq!((msg.paused_s, msg.offline_s), (300, 60));
        assert_eq!(
            msg.end_note.as_deref(),
            Some("the server stopped unexpectedly during the session")
        );
        s.end_reason = Some(EndReason::Planned);
        s.ended_early = false;
        let msg = summary_message(&s, "http://127.0.0.1:8000", &TimeZone::UTC);
        assert_eq!(msg.end_note, None);
    }

    #[test]
    fn the_sms_guide_shows_what_is_really_sent() {
        let mut msg = summary_message(
            &Session {
                ended_early: false,
                ..session()
            },
            "http://127.0.0.1:8000",
            &TimeZone::UTC,
        );
        msg.started_at_local = "2026-11-25 09:30 CET".into();
        let sms = focus_notify::render_sms(&msg);
        let guide = include_str!("../../docs/sms_setup.md");
        assert!(
            guide.contains(&sms),
            "docs/sms_setup.md should show:\n{sms}"
        );
    }

    #[test]
    fn start_time_names_its_zone() {
        let zone = TimeZone::fixed(jiff::tz::offset(1));
        let text = format_start(1_795_599_000_000, &zone);
        assert!(text.starts_with("2026-11-25 10:30 "), "{text}");
        assert_eq!(
            format_start(1_795_599_000_000, &TimeZone::UTC),
            "2026-11-25 09:30 UTC"
        );
    }

    #[test]
    fn a_start_past_the_year_9999_is_written_in_utc() {
        // 10000-01-01T00:00:00 UTC: out of jiff's range (and out of humantime's, which made
        // this fallback panic before the one formatter).
        assert_eq!(
            format_start(253_402_300_800_000, &TimeZone::UTC),
            "10000-01-01T00:00:00.000Z"
        );
    }
}
