//! Sends real emails and SMS to the local test servers of `focus-test-support`
//! (crates/test-support) and checks what arrives and how failures are classified.

mod email;
mod sms;

use focus_notify::SummaryMessage;

/// A typical 25-minute session.
fn summary() -> SummaryMessage {
    SummaryMessage {
        session_id: 42,
        started_at_local: "2026-11-25 09:30".to_owned(),
        planned_minutes: 25,
        total_s: 1_450,
        focused_s: 1_262,
        unfocused_s: 188,
        paused_s: 0,
        starting_s: 0,
        offline_s: 0,
        breaks: 2,
        focus_percent: 87.03,
        longest_focus_s: 750,
        blinks: 287,
        blink_rate_per_min: Some(13.6),
        perclos_percent: Some(2.1),
        ended_early: false,
        end_note: None,
        link: "http://127.0.0.1:8080/history/42".to_owned(),
        judged_with: None,
        zone_time: Vec::new(),
    }
}
