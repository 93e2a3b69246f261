//! What a session summary says: the email (subject, plain text, HTML) and
//! the SMS text.
//!
//! Rendering is pure and deterministic: the caller formats the local start
//! time and the link, this module formats durations ("1 h 05 min",
//! "12 min 30 s") and percentages, and HTML-escapes everything it
//! interpolates into the HTML part.
//!
//! The SMS is built to fit one GSM-7 segment (160 characters): optional
//! details are added in order of importance only while they fit.

use std::fmt::Write as _;

/// Characters in one SMS segment when every character is GSM-7.
pub const SMS_SEGMENT_GSM7: usize = 160;
/// UTF-16 units in one SMS segment when some character is not GSM-7.
pub const SMS_SEGMENT_UCS2: usize = 70;

/// The numbers of one finished session, as the notifiers show them.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SummaryMessage {
    /// Session id in the store; shown as "#42".
    pub session_id: i64,
    /// Local start time, already formatted by the caller, e.g. "2026-11-25 09:30".
    pub started_at_local: String,
    /// Length the user planned, in minutes.
    pub planned_minutes: u32,
    /// Wall-clock length of the session, in seconds: focused + unfocused + paused +
    /// starting + offline.
    pub total_s: u64,
    /// Seconds spent looking at the screen.
    pub focused_s: u64,
    /// Seconds spent looking away (or with no camera signal).
    pub unfocused_s: u64,
    /// Seconds the user paused the session.
    pub paused_s: u64,
    /// Seconds with no verdict yet (the camera starting, at the start and after a pause).
    pub starting_s: u64,
    /// Seconds the server was down (a session continued after a restart).
    pub offline_s: u64,
    /// Number of breaks taken.
    pub breaks: u32,
    /// Focused share of the session, 0-100. Shown rounded to a whole number.
    pub focus_percent: f64,
    /// Longest uninterrupted focused stretch, in seconds.
    pub longest_focus_s: u64,
    /// Blinks (closures of the eyes of 50-500 ms).
    #[serde(default)]
    pub blinks: u32,
    /// Blinks per minute of the time the eyes were seen; `None` when they were seen under
    /// 10 s (no figure is given then).
    #[serde(default)]
    pub blink_rate_per_min: Option<f64>,
    /// PERCLOS over the session: the share of the time the eyes were seen with them at
    /// least 80% closed, 0-100; `None` as above.
    #[serde(default)]
    pub perclos_percent: Option<f64>,
    /// The user stopped before the planned time.
    pub ended_early: bool,
    /// Why the session ended before its time or was cut off, in words for the message
    /// ("you ended it", "the server stopped"); `None` when it ran its course.
    pub end_note: Option<String>,
    /// URL of the session on the local history page.
    pub link: String,
    /// The calibration profile the session was judged with, in words, as it was when the
    /// session started (`"Desk" (full calibration; zones: notes)`); `None`: not calibrated.
    /// The email says it; the SMS has no room for it.
    #[serde(default)]
    pub judged_with: Option<String>,
    /// Focused time on each of that profile's extra zones ("notes"), in its order: a part
    /// of `focused_s`. Empty without zones (and for sessions stored before zone time was
    /// kept). The email lists every zone; the SMS the zones with time, when they fit.
    #[serde(default)]
    pub zone_time: Vec<ZoneFocus>,
}

/// Focused time on one extra zone, for the messages.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ZoneFocus {
    /// The zone's name ("notes").
    pub zone: String,
    /// Focused time on it, whole seconds.
    pub seconds: u64,
}

/// "notes 6 min 30 s, second monitor 3 min 05 s".
fn zone_words<'a>(zones: impl Iterator<Item = &'a ZoneFocus>) -> String {
    zones
        .map(|z| format!("{} {}", z.zone, format_duration(z.seconds)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An email ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    /// Subject line.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
}

/// Formats a duration for people: "45 s", "12 min 30 s", "12 min",
/// "1 h 05 min", "2 h". Hours round to the nearest minute.
pub fn format_duration(seconds: u64) -> String {
    if seconds < 60 {
        return format!("{seconds} s");
    }
    if seconds < 3_600 {
        let (m, s) = (seconds / 60, seconds % 60);
        return if s == 0 {
            format!("{m} min")
        } else {
            format!("{m} min {s:02} s")
        };
    }
    let minutes = (seconds + 30) / 60;
    let (h, m) = (minutes / 60, minutes % 60);
    if m == 0 {
        format!("{h} h")
    } else {
        format!("{h} h {m:02} min")
    }
}

/// "87%", clamped to 0-100 and rounded half up (86.5 -> 87%, as the
/// pages' `Math.round` does; `{:.0}` alone would round half to even);
/// "n/a" when the value is not a number.
fn format_percent(percent: f64) -> String {
    if percent.is_finite() {
        format!("{:.0}%", percent.clamp(0.0, 100.0).round())
    } else {
        "n/a".to_owned()
    }
}

/// The fatigue figures for the email: blink rate (one decimal, with the count) and PERCLOS
/// (one decimal), or why there are none.
fn fatigue_rows(msg: &SummaryMessage) -> Vec<(&'static str, String)> {
    match (msg.blink_rate_per_min, msg.perclos_percent) {
        (Some(rate), Some(perclos)) => vec![
            (
                "Blink rate",
                format!(
                    "{rate:.1} a minute ({})",
                    plural(msg.blinks, "blink", "blinks")
                ),
            ),
            (
                "Eyes closed",
                format!("{perclos:.1}% of the time (PERCLOS)"),
            ),
        ],
        _ => vec![(
            "Blink rate",
            "not measured: eyes in view under 10 s".to_owned(),
        )],
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the summary email. The text part keeps its lines short so mail
/// servers pass it unchanged; the HTML part uses inline styles only (mail
/// clients drop `<style>` blocks and never load external CSS).
pub fn render_email(msg: &SummaryMessage) -> RenderedEmail {
    let percent = format_percent(msg.focus_percent);
    let mut subject = format!("Focus session {}: {percent} focused", msg.started_at_local);
    if msg.ended_early {
        subject.push_str(" (ended early)");
    }

    let planned = format_duration(u64::from(msg.planned_minutes) * 60);
    let ended = match (msg.ended_early, &msg.end_note) {
        (true, Some(note)) => format!("yes, before the planned {planned}: {note}"),
        (true, None) => format!("yes, before the planned {planned}"),
        (false, Some(note)) => format!("no ({note})"),
        (false, None) => "no".to_owned(),
    };
    // Time that was neither focused nor unfocused is shown when there was some, so the
    // parts visibly add up to the total.
    let optional_time = |label: &'static str, seconds: u64| {
        (seconds > 0).then(|| (label, format_duration(seconds)))
    };
    let rows: Vec<(&str, String)> = [
        Some(("Focus", percent.clone())),
        Some(("Planned", planned.clone())),
        Some(("Total", format_duration(msg.total_s))),
        Some((
            "Focused",
            if msg.zone_time.is_empty() {
                format_duration(msg.focused_s)
            } else {
                format!(
                    "{}, of which {}",
                    format_duration(msg.focused_s),
                    zone_words(msg.zone_time.iter())
                )
            },
        )),
        Some(("Unfocused", format_duration(msg.unfocused_s))),
        optional_time("Paused", msg.paused_s),
        optional_time("Camera starting", msg.starting_s),
        optional_time("Server offline", msg.offline_s),
        Some(("Longest focus", format_duration(msg.longest_focus_s))),
        Some(("Breaks", msg.breaks.to_string())),
        Some(("Ended early", ended)),
        Some((
            "Judged with",
            match &msg.judged_with {
                Some(profile) => format!("profile {profile}"),
                None => "no profile (not calibrated)".to_owned(),
            },
        )),
    ]
    .into_iter()
    .flatten()
    .chain(fatigue_rows(msg))
    .collect();

    let mut text = format!(
        "Your focus session #{} of {} is over.\n\n",
        msg.session_id, msg.started_at_local
    );
    for (label, value) in &rows {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{:<15}{value}", format!("{label}:"));
    }
    let _ = write!(
        text,
        "\nSee the session:\n{}\n\n-- \nFocus Sentry, running on your computer.\n",
        msg.link
    );

    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; color: #1a1a1a; line-height: 1.4;\">\n\
         <h1 style=\"font-size: 20px;\">Focus session #{id} of {started}</h1>\n\
         <p style=\"font-size: 32px; font-weight: bold; margin: 8px 0;\">{percent} focused</p>\n\
         <table style=\"border-collapse: collapse;\">\n",
        title = escape_html(&subject),
        id = msg.session_id,
        started = escape_html(&msg.started_at_local),
        percent = escape_html(&percent),
    );
    for (label, value) in &rows {
        let _ = writeln!(
            html,
            "<tr><th scope=\"row\" style=\"text-align: left; padding: 2px 16px 2px 0;\">{}</th>\
             <td style=\"padding: 2px 0;\">{}</td></tr>",
            escape_html(label),
            escape_html(value)
        );
    }
    let _ = write!(
        html,
        "</table>\n<p><a href=\"{href}\">See the session on your history page</a></p>\n\
         <p style=\"color: #555; font-size: 12px;\">Focus Sentry, running on your computer.</p>\n\
         </body>\n</html>\n",
        href = escape_html(&msg.link),
    );

    RenderedEmail {
        subject,
        text,
        html,
    }
}

/// Renders the summary SMS: one GSM-7 segment (160 characters) whenever the
/// start time and link allow it. The percentage always comes first; then,
/// as long as they fit, the focused time, "ended early", the time paused, the
/// blink rate and PERCLOS (whole blinks a minute, PERCLOS to a tenth, when measured),
/// the longest stretch, the time on the extra zones (those with any, told right after the
/// focused time: "of which notes 6 min 30 s"), the breaks and the planned length; the link
/// goes last and is dropped only if even the shortest message would not fit with it. A
/// typical message with the fatigue figures has no room left for the zones.
///
/// Twilio trial accounts prepend "Sent from your Twilio trial account - "
/// (38 characters), which pushes a full message into a second segment.
pub fn render_sms(msg: &SummaryMessage) -> String {
    let head = format!(
        "Focus Sentry {}: {} focused",
        msg.started_at_local,
        format_percent(msg.focus_percent)
    );
    let looked_at: Vec<&ZoneFocus> = msg.zone_time.iter().filter(|z| z.seconds > 0).collect();
    // In the order they are shown; `PRIORITY` is the order they are given room in.
    let optional = [
        format!(
            ", {} of {}",
            format_duration(msg.focused_s),
            format_duration(msg.total_s)
        ),
        if looked_at.is_empty() {
            String::new()
        } else {
            format!(", of which {}", zone_words(looked_at.into_iter()))
        },
        if msg.ended_early {
            ", ended early".to_owned()
        } else {
            String::new()
        },
        if msg.paused_s > 0 {
            format!(", paused {}", format_duration(msg.paused_s))
        } else {
            String::new()
        },
        match (msg.blink_rate_per_min, msg.perclos_percent) {
            (Some(rate), Some(perclos)) => {
                format!(", {:.0} blinks/min, PERCLOS {perclos:.1}%", rate.round())
            }
            _ => String::new(),
        },
        format!(", longest {}", format_duration(msg.longest_focus_s)),
        format!(", {}", plural(msg.breaks, "break", "breaks")),
        format!(", planned {} min", msg.planned_minutes),
    ];
    let tail = if msg.link.is_empty() {
        ".".to_owned()
    } else {
        format!(". {}", msg.link)
    };

    let assemble = |parts: &[&str], tail: &str| {
        let mut s = head.clone();
        for p in parts {
            s.push_str(p);
        }
        s.push_str(tail);
        s
    };
    for tail in [tail.as_str(), "."] {
        if !fits_one_segment(&assemble(&[], tail)) {
            continue;
        }
        // Greedy in priority order: a later, shorter detail may still fit
        // after a longer one did not. The zones come after the longest stretch.
        const PRIORITY: [usize; 8] = [0, 2, 3, 4, 5, 1, 6, 7];
        let mut chosen = [false; 8];
        let shown = |chosen: &[bool; 8]| -> Vec<&str> {
            (optional.iter().zip(chosen))
                .filter(|(_, on)| **on)
                .map(|(part, _)| part.as_str())
                .collect()
        };
        for at in PRIORITY {
            if optional[at].is_empty() {
                continue;
            }
            chosen[at] = true;
            if !fits_one_segment(&assemble(&shown(&chosen), tail)) {
                chosen[at] = false;
            }
        }
        return assemble(&shown(&chosen), tail);
    }
    // Not even the head fits (an absurdly long start time): send it anyway,
    // Twilio splits it into segments.
    assemble(&[], ".")
}

/// True when `text` goes out as a single SMS segment: at most 160 GSM-7
/// septets, or at most 70 UTF-16 units if any character is not GSM-7.
pub fn fits_one_segment(text: &str) -> bool {
    match gsm7_septets(text) {
        Some(septets) => septets <= SMS_SEGMENT_GSM7,
        None => text.encode_utf16().count() <= SMS_SEGMENT_UCS2,
    }
}

/// Length of `text` in GSM 03.38 septets, or `None` if some character is
/// not in the GSM-7 alphabet (the message would then be sent as UCS-2).
/// Characters of the extension table (`{ } [ ] \ ^ ~ | €` and form feed)
/// take two septets.
pub fn gsm7_septets(text: &str) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "\u{c}^{}\\[~]|€";
    text.chars().try_fold(0usize, |n, c| {
        if BASIC.contains(c) {
            Some(n + 1)
        } else if EXTENSION.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn typical() -> SummaryMessage {
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
            judged_with: Some("\"Desk\" (full calibration; zones: notes)".to_owned()),
            zone_time: Vec::new(),
        }
    }

    fn zones(list: &[(&str, u64)]) -> Vec<ZoneFocus> {
        (list.iter())
            .map(|&(zone, seconds)| ZoneFocus {
                zone: zone.to_owned(),
                seconds,
            })
            .collect()
    }

    #[test]
    fn the_email_tells_the_time_on_each_zone_within_the_focused_time() {
        let msg = SummaryMessage {
            zone_time: zones(&[("notes", 390), ("second monitor", 185), ("tv", 0)]),
            ..typical()
        };
        let email = render_email(&msg);
        let line = "Focused:       21 min 02 s, of which notes 6 min 30 s, \
                    second monitor 3 min 05 s, tv 0 s";
        assert!(email.text.contains(line), "{}", email.text);
        assert!(
            email
                .html
                .contains("21 min 02 s, of which notes 6 min 30 s"),
            "{}",
            email.html
        );
        // Without zones, the focused time alone.
        assert!(
            render_email(&typical())
                .text
                .contains("Focused:       21 min 02 s\n")
        );
    }

    #[test]
    fn the_sms_tells_the_zones_only_when_they_fit() {
        // The typical message is full: the zones, after the fatigue figures and the longest
        // stretch, are left out.
        let full = SummaryMessage {
            zone_time: zones(&[("notes", 390)]),
            ..typical()
        };
        assert_eq!(render_sms(&full), render_sms(&typical()));
        // Without the fatigue figures there is room, right after the focused time; a zone
        // never looked at is not named.
        let roomy = SummaryMessage {
            blink_rate_per_min: None,
            perclos_percent: None,
            zone_time: zones(&[("notes", 390), ("tv", 0)]),
            ..typical()
        };
        let sms = render_sms(&roomy);
        assert!(fits_one_segment(&sms), "{sms}");
        assert!(
            sms.contains("21 min 02 s of 24 min 10 s, of which notes 6 min 30 s,"),
            "{sms}"
        );
        assert!(!sms.contains("tv"), "{sms}");
    }

    #[test]
    fn durations_read_naturally() {
        let cases = [
            (0, "0 s"),
            (45, "45 s"),
            (60, "1 min"),
            (750, "12 min 30 s"),
            (725, "12 min 05 s"),
            (3_599, "59 min 59 s"),
            (3_600, "1 h"),
            (3_900, "1 h 05 min"),
            (3_929, "1 h 05 min"),
            (3_930, "1 h 06 min"),
            (7_170, "2 h"),
            (36_000, "10 h"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(format_duration(seconds), expected, "{seconds} s");
        }
    }

    #[test]
    fn percent_is_rounded_and_clamped() {
        assert_eq!(format_percent(87.5), "88%");
        assert_eq!(format_percent(86.5), "87%");
        assert_eq!(format_percent(86.4), "86%");
        assert_eq!(format_percent(-3.0), "0%");
        assert_eq!(format_percent(140.0), "100%");
        assert_eq!(format_percent(f64::NAN), "n/a");
    }

    #[test]
    fn email_has_the_numbers_in_both_parts() {
        let email = render_email(&typical());
        assert_eq!(email.subject, "Focus session 2026-11-25 09:30: 87% focused");
        for needle in [
            "87%",
            "25 min",
            "24 min 10 s",
            "21 min 02 s",
            "3 min 08 s",
            "12 min 30 s",
            "http://127.0.0.1:8080/history/42",
        ] {
            assert!(
                email.text.contains(needle),
                "text lacks {needle}:\n{}",
                email.text
            );
            assert!(
                email.html.contains(needle),
                "html lacks {needle}:\n{}",
                email.html
            );
        }
        assert!(email.text.contains("Breaks:        2\n"), "{}", email.text);
        assert!(
            email
                .text
                .contains("Blink rate:    13.6 a minute (287 blinks)\n"),
            "{}",
            email.text
        );
        assert!(
            email
                .text
                .contains("Eyes closed:   2.1% of the time (PERCLOS)\n"),
            "{}",
            email.text
        );
        assert!(
            email.html.contains("2.1% of the time (PERCLOS)"),
            "{}",
            email.html
        );
        assert!(email.text.contains("Ended early:   no\n"), "{}", email.text);
        assert!(
            email
                .text
                .contains("Judged with:   profile \"Desk\" (full calibration; zones: notes)\n"),
            "{}",
            email.text
        );
        assert!(
            email
                .html
                .contains("profile &quot;Desk&quot; (full calibration; zones: notes)"),
            "{}",
            email.html
        );
        let plain = render_email(&SummaryMessage {
            judged_with: None,
            ..typical()
        });
        assert!(
            plain
                .text
                .contains("Judged with:   no profile (not calibrated)\n"),
            "{}",
            plain.text
        );
        // Plain text stays within the 78 characters that need no re-encoding.
        assert!(email.text.lines().all(|l| l.len() <= 78), "{}", email.text);
    }

    #[test]
    fn ended_early_shows_in_subject_and_body() {
        let msg = SummaryMessage {
            ended_early: true,
            ..typical()
        };
        let email = render_email(&msg);
        assert!(email.subject.ends_with("(ended early)"));
        assert!(email.text.contains("yes, before the planned 25 min"));
    }

    #[test]
    fn paused_and_offline_time_and_why_it_ended_are_told() {
        let msg = SummaryMessage {
            total_s: 1_450,
            focused_s: 900,
            unfocused_s: 188,
            paused_s: 300,
            starting_s: 2,
            offline_s: 60,
            ended_early: true,
            end_note: Some("you ended it".to_owned()),
            ..typical()
        };
        let email = render_email(&msg);
        for needle in [
            "Paused:        5 min\n",
            "Camera starting:2 s\n",
            "Server offline:1 min\n",
            "yes, before the planned 25 min: you ended it",
        ] {
            assert!(email.text.contains(needle), "{needle:?} in\n{}", email.text);
        }
        assert!(email.html.contains("Paused"), "{}", email.html);
        // Without paused time there is no paused row.
        assert!(!render_email(&typical()).text.contains("Paused"));
        let sms = render_sms(&msg);
        assert!(sms.contains(", ended early, paused 5 min"), "{sms}");
        assert!(fits_one_segment(&sms), "{sms}");
    }

    #[test]
    fn html_escapes_everything_interpolated() {
        let msg = SummaryMessage {
            started_at_local: "<script>alert('x')</script>".to_owned(),
            link: "http://x/?a=1&b=\"2\"".to_owned(),
            ..typical()
        };
        let html = render_email(&msg).html;
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(
            html.contains("href=\"http://x/?a=1&amp;b=&quot;2&quot;\""),
            "{html}"
        );
    }

    #[test]
    fn fatigue_not_measured_is_said_in_the_email_and_left_out_of_the_sms() {
        let msg = SummaryMessage {
            blinks: 1,
            blink_rate_per_min: None,
            perclos_percent: None,
            ..typical()
        };
        let email = render_email(&msg);
        assert!(
            email
                .text
                .contains("Blink rate:    not measured: eyes in view under 10 s\n"),
            "{}",
            email.text
        );
        assert!(!email.text.contains("PERCLOS"), "{}", email.text);
        let sms = render_sms(&msg);
        assert!(!sms.contains("blinks") && !sms.contains("PERCLOS"), "{sms}");
        // Its room goes to the planned length.
        assert!(sms.contains("planned 25 min"), "{sms}");
    }

    #[test]
    fn typical_sms_fits_one_gsm7_segment_with_everything() {
        let sms = render_sms(&typical());
        // The breaks and the planned length, the least of the details, give way to the
        // fatigue figures.
        assert_eq!(
            sms,
            "Focus Sentry 2026-11-25 09:30: 87% focused, 21 min 02 s of 24 min 10 s, \
             14 blinks/min, PERCLOS 2.1%, longest 12 min 30 s. http://127.0.0.1:8080/history/42"
        );
        let septets = gsm7_septets(&sms).expect("GSM-7 only");
        assert!(septets <= SMS_SEGMENT_GSM7, "{septets} septets: {sms}");
    }

    #[test]
    fn long_sessions_drop_low_priority_details_but_keep_the_link() {
        let msg = SummaryMessage {
            total_s: 3 * 3_600 + 7 * 60 + 9,
            focused_s: 2 * 3_600 + 59 * 60 + 1,
            longest_focus_s: 3_599,
            breaks: 11,
            planned_minutes: 180,
            ended_early: true,
            link: "http://focus-sentry.local:18080/history/1234567".to_owned(),
            session_id: 1_234_567,
            ..typical()
        };
        let sms = render_sms(&msg);
        assert!(fits_one_segment(&sms), "{} chars: {sms}", sms.len());
        assert!(sms.contains("ended early"), "{sms}");
        assert!(
            sms.ends_with(". http://focus-sentry.local:18080/history/1234567"),
            "{sms}"
        );
    }

    #[test]
    fn an_overlong_link_is_dropped_rather_than_splitting_the_sms() {
        let msg = SummaryMessage {
            link: format!("http://127.0.0.1:8080/{}", "x".repeat(150)),
            ..typical()
        };
        let sms = render_sms(&msg);
        assert!(fits_one_segment(&sms), "{sms}");
        assert!(!sms.contains("http"), "{sms}");
        assert!(sms.contains("87% focused"));
    }

    #[test]
    fn gsm7_counting() {
        assert_eq!(gsm7_septets("Hello @ 100%"), Some(12));
        assert_eq!(gsm7_septets("a{b}€"), Some(8));
        assert_eq!(gsm7_septets("smart ’quote’"), None);
        assert!(fits_one_segment(&"a".repeat(160)));
        assert!(!fits_one_segment(&"a".repeat(161)));
        assert!(!fits_one_segment(&"é".repeat(100).replace('é', "ē")));
    }
}
