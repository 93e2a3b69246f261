//! Domain types: what the rest of the app reads from and writes to the store.
//!
//! Times are `i64` unix milliseconds (UTC), fields ending in `_ms`; durations
//! are milliseconds (`_ms`) or seconds (`_s`). Enumerations serialize as
//! snake_case strings, the same text that is stored in the database.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

/// Where a summary is sent: one type for the whole app, stored as its
/// [`as_str`](Channel::as_str) text.
pub use focus_types::Channel;
/// What a session saw of the eyes: blink rate and PERCLOS are computed from it.
pub use focus_types::EyeCounts;

/// Declares a fieldless enum stored as TEXT, with `as_str`, `Display` and the
/// rusqlite conversions. Unknown text read back from the database becomes a
/// conversion error (never a panic).
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The snake_case name, as stored and serialized.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                Self::parse(text).ok_or_else(|| {
                    FromSqlError::Other(
                        format!(concat!("unknown ", stringify!($name), " {:?}"), text).into(),
                    )
                })
            }
        }
    };
}

text_enum! {
    /// How the page alerts the user when attention drifts.
    AlertMode {
        /// A visible banner only.
        Banner => "banner",
        /// A sound only.
        Sound => "sound",
        /// Banner and sound.
        Both => "both",
    }
}

text_enum! {
    /// Lifecycle of a session.
    SessionStatus {
        /// Measuring now (or the app stopped without finishing it; see
        /// [`Store::close_interrupted`](crate::Store::close_interrupted)).
        Running => "running",
        /// Ended normally: the planned time ran out or the user stopped it.
        Completed => "completed",
        /// Cut off: the app stopped or crashed while the session ran.
        Interrupted => "interrupted",
    }
}

text_enum! {
    /// Why a finished session ended.
    EndReason {
        /// Its planned time ran out.
        Planned => "planned",
        /// The user ended it (from the page or the API).
        User => "user",
        /// The server shut down while it ran and saved it on the way out.
        ServerStopped => "server_stopped",
        /// The server stopped without saving it (a crash, a kill, a power cut); it was
        /// closed at the next start with the totals saved last.
        ServerLost => "server_lost",
    }
}

text_enum! {
    /// Kind of a timeline stretch.
    EventKind {
        /// The user was looking at the screen.
        Focused => "focused",
        /// The user was not; `reason` says why.
        Unfocused => "unfocused",
        /// A drift that reached the alert threshold (the alert fired); it
        /// overlaps the unfocused stretches it spans.
        Break => "break",
        /// No verdict yet: the start of the session, or just after a resume.
        Starting => "starting",
        /// The user paused the session.
        Paused => "paused",
        /// The server was down (between an interruption and the session's resume).
        Offline => "offline",
    }
}

text_enum! {
    /// State of a summary delivery.
    DeliveryStatus {
        /// Waiting to be sent, or waiting for a retry.
        Pending => "pending",
        /// Accepted by the mail server / SMS provider.
        Sent => "sent",
        /// Gave up; can be re-enqueued for another try.
        Failed => "failed",
    }
}

/// Settings chosen when a session starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    /// When the session started (unix ms, UTC).
    pub started_at_ms: i64,
    /// How long the user planned to work, in seconds.
    pub planned_duration_s: u32,
    /// How long attention may drift before an alert, in milliseconds.
    pub alert_threshold_ms: u32,
    /// How the alert is shown.
    pub alert_mode: AlertMode,
    /// Address for the email summary, if given.
    pub email: Option<String>,
    /// Phone number (E.164) for the SMS summary, if given.
    pub phone: Option<String>,
    /// Whether to email the summary at the end.
    pub send_email: bool,
    /// Whether to text the summary at the end.
    pub send_sms: bool,
    /// The calibration profile to judge with; `None`: the default rules.
    pub profile_id: Option<i64>,
    /// That profile as it is at the start (its name, mode and zones), kept with the session
    /// so its history says what was used after the profile changes; `None` with no profile.
    pub profile_used: Option<ProfileUsed>,
    /// That profile's numbers (the vision crate's profile JSON) as they are at the start,
    /// so a session continued after a restart is judged with them; `None` with no
    /// profile. Read back with [`Store::session_profile_data`](crate::Store::session_profile_data).
    pub profile_data: Option<String>,
}

/// The calibration profile a session was judged with, as it was when the session started:
/// the history shows it even after the profile is renamed, calibrated again or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUsed {
    /// Its name then.
    pub name: String,
    /// `full` (centre and four corners) or `quick` (centre only).
    pub mode: String,
    /// The names of its extra zones then (glances there counted as focused), in order.
    pub zones: Vec<String>,
}

/// Running totals of a session: times in milliseconds, the frames judged, and what was seen
/// of the eyes.
///
/// `total_ms` is the session's time so far, from its start; the clock keeps
/// `focused_ms + unfocused_ms + starting_ms + paused_ms + offline_ms == total_ms`
/// and `longest_focus_ms <= focused_ms`. Only focused and unfocused time is
/// measured: [`focus_percent`](Totals::focus_percent) is over their sum. The
/// store does not reject totals that break this (they are the user's data), it
/// only clamps the percentage.
///
/// Serializes flat, with the extra fields `focus_percent`, `blink_rate_per_min` and
/// `perclos_percent` (`null` under 10 s of eyes seen; see [`focus_types::fatigue`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Totals {
    /// Time of the session so far (the five times below add up to it).
    pub total_ms: u64,
    /// Time spent looking at the screen.
    pub focused_ms: u64,
    /// Time spent looking away, eyes closed, out of frame, or with no camera signal.
    pub unfocused_ms: u64,
    /// Time with no verdict yet: the start, and just after each resume.
    #[serde(default)]
    pub starting_ms: u64,
    /// Time paused by the user.
    #[serde(default)]
    pub paused_ms: u64,
    /// Time the server was down, between an interruption and the resume.
    #[serde(default)]
    pub offline_ms: u64,
    /// Number of breaks: drifts that reached the alert threshold.
    pub breaks: u32,
    /// Longest unbroken focused stretch.
    pub longest_focus_ms: u64,
    /// Frames that got a verdict and counted on the clock.
    #[serde(default)]
    pub frames_analyzed: u64,
    /// Blinks, long closures, and the time the eyes were seen and shut.
    #[serde(flatten)]
    pub eyes: EyeCounts,
    /// Focused time on each extra zone of the session's profile ("notes"), in the
    /// profile's order: a part of `focused_ms`. Empty without a profile, with a profile
    /// without zones, and for sessions stored before zone time was kept (schema 7).
    #[serde(default)]
    pub zone_time: Vec<ZoneTime>,
}

/// Focused time on one extra zone of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneTime {
    /// The zone's name as it was when the session started.
    pub zone: String,
    /// Focused time on it.
    pub ms: u64,
}

impl Totals {
    /// Share of the measured time (focused + unfocused) spent focused, in percent, in
    /// `[0, 100]`, truncated to one decimal: the focus clock's rule
    /// ([`focus_clock::focus_percent`]), so the live page, the summary, the API, stats and
    /// the CSV all show the same figure. `0.0` when nothing was measured.
    pub fn focus_percent(&self) -> f64 {
        focus_clock::focus_percent(self.focused_ms, self.unfocused_ms)
    }

    /// Focused plus unfocused time: what the focus percent is over.
    pub fn measured_ms(&self) -> u64 {
        self.focused_ms.saturating_add(self.unfocused_ms)
    }
}

impl Serialize for Totals {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Totals", 17)?;
        s.serialize_field("total_ms", &self.total_ms)?;
        s.serialize_field("focused_ms", &self.focused_ms)?;
        s.serialize_field("unfocused_ms", &self.unfocused_ms)?;
        s.serialize_field("starting_ms", &self.starting_ms)?;
        s.serialize_field("paused_ms", &self.paused_ms)?;
        s.serialize_field("offline_ms", &self.offline_ms)?;
        s.serialize_field("frames_analyzed", &self.frames_analyzed)?;
        s.serialize_field("breaks", &self.breaks)?;
        s.serialize_field("longest_focus_ms", &self.longest_focus_ms)?;
        s.serialize_field("focus_percent", &self.focus_percent())?;
        s.serialize_field("blinks", &self.eyes.blinks)?;
        s.serialize_field("long_closures", &self.eyes.long_closures)?;
        s.serialize_field("eyes_seen_ms", &self.eyes.eyes_seen_ms)?;
        s.serialize_field("eyes_shut_ms", &self.eyes.eyes_shut_ms)?;
        s.serialize_field("blink_rate_per_min", &self.eyes.blink_rate_per_min())?;
        s.serialize_field("perclos_percent", &self.eyes.perclos_percent())?;
        s.serialize_field("zone_time", &self.zone_time)?;
        s.end()
    }
}

/// A stored session: its settings, state and totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Row id; never reused after deletion.
    pub id: i64,
    /// When the session started (unix ms, UTC).
    pub started_at_ms: i64,
    /// Planned length, in seconds.
    pub planned_duration_s: u32,
    /// Drift allowed before an alert, in milliseconds.
    pub alert_threshold_ms: u32,
    /// How the alert is shown.
    pub alert_mode: AlertMode,
    /// Address for the email summary, if given.
    pub email: Option<String>,
    /// Phone number for the SMS summary, if given.
    pub phone: Option<String>,
    /// Whether to email the summary.
    pub send_email: bool,
    /// Whether to text the summary.
    pub send_sms: bool,
    /// Planned end: `started_at_ms + planned_duration_s * 1000`.
    pub ends_at_ms: i64,
    /// Running, completed or interrupted.
    pub status: SessionStatus,
    /// When it ended; `None` while running.
    pub ended_at_ms: Option<i64>,
    /// Whether it ended before the planned end.
    pub ended_early: bool,
    /// Why it ended; `None` while running (and for sessions stored before the reason
    /// was kept).
    pub end_reason: Option<EndReason>,
    /// Last write to the session (creation, totals save or finish).
    pub updated_at_ms: i64,
    /// The calibration profile it judged with; `None` for the default rules (or when that
    /// profile was deleted since).
    pub profile_id: Option<i64>,
    /// What that profile was when the session started (kept when it is renamed or deleted
    /// since); `None`: judged with the default rules.
    pub profile_used: Option<ProfileUsed>,
    /// Totals as last saved.
    pub totals: Totals,
}

impl Session {
    /// Whether the session has ended (completed or interrupted).
    pub fn is_finished(&self) -> bool {
        self.status != SessionStatus::Running
    }

    /// Where its summary goes: each channel it asked for that has a destination.
    pub fn summary_destinations(&self) -> Vec<(Channel, String)> {
        let mut wanted = Vec::new();
        if self.send_email
            && let Some(email) = &self.email
        {
            wanted.push((Channel::Email, email.trim().to_owned()));
        }
        if self.send_sms
            && let Some(phone) = &self.phone
        {
            wanted.push((Channel::Sms, phone.trim().to_owned()));
        }
        wanted.retain(|(_, to)| !to.is_empty());
        wanted
    }
}

/// How a session ends, for [`crate::Store::finish_session_queued`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    /// The final totals.
    pub totals: Totals,
    /// When it ended (unix ms).
    pub ended_at_ms: i64,
    /// Whether that was before its planned end.
    pub ended_early: bool,
    /// Completed or interrupted (never running).
    pub status: SessionStatus,
    /// Why it ended.
    pub end_reason: EndReason,
}

/// A timeline stretch to append to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Focused, unfocused, starting, paused, offline, or break.
    pub kind: EventKind,
    /// Why attention was lost, for unfocused stretches: `no_face`,
    /// `eyes_closed`, `looking_away` or `no_signal`.
    pub reason: Option<String>,
    /// Start of the stretch (unix ms).
    pub start_ms: i64,
    /// End of the stretch (unix ms), `>= start_ms`.
    pub end_ms: i64,
}

/// The stretch still open when a running session's totals are saved: the
/// timeline row it becomes if the server dies before closing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenStretch {
    /// Focused, unfocused, starting or paused (never a break or offline).
    pub kind: EventKind,
    /// Why attention was lost, for an unfocused stretch.
    pub reason: Option<String>,
    /// When it began (unix ms).
    pub since_ms: i64,
}

/// A stored timeline stretch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Row id.
    pub id: i64,
    /// The session it belongs to.
    pub session_id: i64,
    /// Focused, unfocused or break.
    pub kind: EventKind,
    /// Why attention was lost, if known.
    pub reason: Option<String>,
    /// Start (unix ms).
    pub start_ms: i64,
    /// End (unix ms).
    pub end_ms: i64,
}

/// A summary to send (or sent) by email or SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// The session summarised.
    pub session_id: i64,
    /// Email or SMS.
    pub channel: Channel,
    /// Email address or phone number.
    pub destination: String,
    /// Pending, sent or failed.
    pub status: DeliveryStatus,
    /// Attempts made so far (reset when a failed delivery is re-enqueued).
    pub attempts: u32,
    /// Error of the last failed attempt; cleared when an attempt succeeds.
    pub last_error: Option<String>,
    /// When to try next (unix ms); `Some` exactly when pending.
    pub next_attempt_at_ms: Option<i64>,
    /// Last change to the row (unix ms).
    pub updated_at_ms: i64,
}

/// Result of one attempt to send a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent: the delivery is done.
    Sent,
    /// Failed for now: try again at the given time (unix ms); the error is kept.
    RetryAt(i64, String),
    /// Failed for good (bad address, retries used up).
    Failed(String),
}

/// A calibration profile to save; see [`Store::create_profile`](crate::Store::create_profile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewProfile {
    /// What the person calls it; trimmed, 1-60 characters, unique ignoring case.
    pub name: String,
    pub created_at_ms: i64,
    /// `full` (centre and four corners) or `quick` (centre only).
    pub mode: String,
    /// The vision crate's profile as JSON: numbers only, never a frame.
    pub data: String,
}

/// A saved calibration profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProfile {
    pub id: i64,
    pub name: String,
    pub created_at_ms: i64,
    pub mode: String,
    pub data: String,
}

/// Figures over finished sessions; see [`Store::stats`](crate::Store::stats).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Finished sessions with measured time.
    pub sessions: u32,
    /// Mean of the sessions' focus percentages (each session weighs the
    /// same); `None` when there are no sessions.
    pub average_focus_percent: Option<f64>,
    /// Focused time summed over the sessions, in milliseconds.
    pub total_focused_ms: u64,
    /// `(session id, focus percent)` of the best session, if any qualifies.
    pub best_session: Option<(i64, f64)>,
    /// Finished short sessions (see [`crate::SHORT_SESSION_MS`]) not
    /// counted above; 0 when they were asked for.
    pub short_sessions_left_out: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_percent_is_share_of_measured_time_and_clamped() {
        let t = Totals {
            total_ms: 200_000,
            focused_ms: 150_000,
            unfocused_ms: 50_000,
            breaks: 1,
            longest_focus_ms: 90_000,
            ..Totals::default()
        };
        assert_eq!(t.focus_percent(), 75.0);
        // Starting, paused and offline time is not measured: it changes nothing.
        let with_pauses = Totals {
            total_ms: 300_000,
            starting_ms: 1_000,
            paused_ms: 60_000,
            offline_ms: 39_000,
            ..t
        };
        assert_eq!(with_pauses.focus_percent(), 75.0);
        assert_eq!(with_pauses.measured_ms(), 200_000);
        assert_eq!(Totals::default().focus_percent(), 0.0);
        let inconsistent = Totals {
            total_ms: 1_000,
            focused_ms: 5_000,
            ..Totals::default()
        };
        assert_eq!(inconsistent.focus_percent(), 100.0);
    }

    #[test]
    fn enums_serialize_as_snake_case_and_totals_carry_percent() {
        assert_eq!(
            serde_json::to_string(&SessionStatus::Interrupted).unwrap(),
            "\"interrupted\""
        );
        assert_eq!(
            serde_json::to_string(&EventKind::Break).unwrap(),
            "\"break\""
        );
        assert_eq!(
            serde_json::from_str::<AlertMode>("\"both\"").unwrap(),
            AlertMode::Both
        );
        let t = Totals {
            total_ms: 5_000,
            focused_ms: 1_000,
            unfocused_ms: 3_000,
            starting_ms: 1_000,
            frames_analyzed: 20,
            eyes: EyeCounts {
                blinks: 3,
                long_closures: 1,
                eyes_seen_ms: 12_000,
                eyes_shut_ms: 600,
            },
            zone_time: vec![ZoneTime {
                zone: "notes".into(),
                ms: 400,
            }],
            ..Totals::default()
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json["zone_time"],
            serde_json::json!([{"zone": "notes", "ms": 400}])
        );
        assert_eq!(json["focus_percent"], 25.0);
        assert_eq!(json["blinks"], 3);
        assert_eq!(json["eyes_shut_ms"], 600);
        assert_eq!(json["blink_rate_per_min"], 15.0);
        assert_eq!(json["perclos_percent"], 5.0);
        // Under 10 s of eyes seen there is no figure.
        let unseen = serde_json::to_value(Totals::default()).unwrap();
        assert!(unseen["blink_rate_per_min"].is_null() && unseen["perclos_percent"].is_null());
        assert_eq!(json["starting_ms"], 1_000);
        assert_eq!(json["frames_analyzed"], 20);
        assert_eq!(json["focused_ms"], 1_000);
        // The extra field does not stop it from being read back.
        assert_eq!(serde_json::from_value::<Totals>(json).unwrap(), t);
    }

    #[test]
    fn text_round_trips_and_unknown_text_is_rejected() {
        for s in [
            DeliveryStatus::Pending,
            DeliveryStatus::Sent,
            DeliveryStatus::Failed,
        ] {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryStatus::parse("Sent"), None);
        let err = SessionStatus::column_result(ValueRef::Text(b"paused")).unwrap_err();
        assert!(err.to_string().contains("paused"), "{err}");
        for r in [
            EndReason::Planned,
            EndReason::User,
            EndReason::ServerStopped,
            EndReason::ServerLost,
        ] {
            assert_eq!(EndReason::parse(r.as_str()), Some(r));
        }
        for k in [EventKind::Starting, EventKind::Paused, EventKind::Offline] {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
    }
}
