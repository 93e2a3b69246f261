//! The JSON API handlers (the WebSocket is in [`super::live`]). Bodies are documented in
//! `docs/api.md`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use focus_store::{
    AlertMode, Delivery, DeliveryStatus, EndReason, Event, EventKind, Session, SessionStatus,
    Totals, ZoneTime,
};
use focus_types::Channel;
use focus_types::time::rfc3339_millis;
use serde::Serialize;

use super::validate::{Channels, SessionForm, validate_session_form};
use super::{AppState, SessionId, parse_id, truncate};
use crate::db::DbError;
use crate::session::{EndKind, LiveState, SessionProfile, SessionSummary};
use crate::web::error::AppError;

/// Widest frame the page sends, in pixels (it scales the camera image down to this).
pub const MAX_FRAME_WIDTH: u32 = 640;
/// Frames per second the page aims for when the server keeps up.
pub const TARGET_FPS: u32 = 5;

/// `GET /api/config`: what the page needs before showing the form.
pub async fn config(State(state): State<AppState>) -> Json<ConfigView> {
    let limits = &state.config.limits;
    let problems = |channel: Channel| {
        let mut names: Vec<&'static str> = Vec::new();
        for problem in state.config.notify.problems.iter() {
            if problem.channel == channel && !names.contains(&problem.variable) {
                names.push(problem.variable);
            }
        }
        names
    };
    Json(ConfigView {
        email_configured: state.delivery.is_configured(Channel::Email),
        sms_configured: state.delivery.is_configured(Channel::Sms),
        email_problems: problems(Channel::Email),
        sms_problems: problems(Channel::Sms),
        email_help_url: Channel::Email.help_path(),
        sms_help_url: Channel::Sms.help_path(),
        email_name: Channel::Email.name(),
        email_title: Channel::Email.title(),
        sms_name: Channel::Sms.name(),
        sms_title: Channel::Sms.title(),
        alert_modes: ["banner", "sound", "both"],
        limits: LimitsView {
            duration_minutes: Range {
                min: limits.duration_minutes.0,
                max: limits.duration_minutes.1,
            },
            alert_threshold_s: Range {
                min: limits.alert_threshold_s.0,
                max: limits.alert_threshold_s.1,
            },
            max_frame_bytes: limits.max_frame_bytes,
            max_frame_width: MAX_FRAME_WIDTH,
            target_fps: TARGET_FPS,
        },
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Debug, Serialize)]
pub struct ConfigView {
    /// Summaries can be emailed (SMTP is configured).
    pub email_configured: bool,
    /// Summaries can be texted (Twilio is configured).
    pub sms_configured: bool,
    /// Email variables that are set but wrong (email stays off until they are fixed); the
    /// server's start-up log says what is wrong with each. Names only, never values.
    pub email_problems: Vec<&'static str>,
    /// The same for SMS (`TWILIO_*`).
    pub sms_problems: Vec<&'static str>,
    /// The setup guide for email, served by this server.
    pub email_help_url: &'static str,
    /// The setup guide for SMS.
    pub sms_help_url: &'static str,
    /// Email as a sentence names it ("email") and as a label does ("Email"): the names the
    /// emails, logs and errors use ([`Channel::name`], [`Channel::title`]), so the page has
    /// none of its own.
    pub email_name: &'static str,
    pub email_title: &'static str,
    /// The same for SMS ("SMS" both).
    pub sms_name: &'static str,
    pub sms_title: &'static str,
    pub alert_modes: [&'static str; 3],
    pub limits: LimitsView,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct LimitsView {
    pub duration_minutes: Range,
    pub alert_threshold_s: Range,
    pub max_frame_bytes: usize,
    pub max_frame_width: u32,
    pub target_fps: u32,
}

#[derive(Debug, Serialize)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// `POST /api/sessions`: validates the form and starts a session. 201 with the session.
pub async fn create_session(
    State(state): State<AppState>,
    body: Result<Json<SessionForm>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(form) = body?;
    let channels = Channels {
        email: state.delivery.is_configured(Channel::Email),
        sms: state.delivery.is_configured(Channel::Sms),
    };
    let new = validate_session_form(
        &form,
        &state.config.limits,
        channels,
        state.sessions.now_ms(),
    )?;
    let session = state.sessions.start(new).await?;
    let location = format!("/api/sessions/{}", session.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(SessionView::from(&session)),
    )
        .into_response())
}

/// `GET /api/sessions/{id}`: the session with its timeline and summary deliveries.
pub async fn get_session(
    State(state): State<AppState>,
    SessionId(id): SessionId,
) -> Result<Json<SessionDetail>, AppError> {
    let (session, events, deliveries) = state
        .db
        .call(move |s| {
            Ok((
                s.get_session(id)?,
                s.session_events(id)?,
                s.deliveries_for(id)?,
            ))
        })
        .await
        .map_err(|e| not_found_as(e, id))?;
    let mut view = SessionView::from(&session);
    if let Some(live) = state.sessions.live(id) {
        view.frames_analyzed = live.frames_analyzed();
    }
    view.resumable = session.status == SessionStatus::Interrupted
        && state.sessions.now_ms() < session.ends_at_ms;
    Ok(Json(SessionDetail {
        session: view,
        events: events.iter().map(EventView::from).collect(),
        deliveries: deliveries.iter().map(DeliveryView::from).collect(),
    }))
}

#[derive(Debug, Serialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: SessionView,
    pub events: Vec<EventView>,
    pub deliveries: Vec<DeliveryView>,
}

/// `POST /api/sessions/{id}/end`: ends the session (if it runs) and returns its summary.
pub async fn end_session(
    State(state): State<AppState>,
    SessionId(id): SessionId,
) -> Result<Json<SessionSummary>, AppError> {
    Ok(Json(state.sessions.end(id, EndKind::Requested).await?))
}

/// `POST /api/sessions/{id}/pause`: pauses a running session (paused time is neither
/// focused nor unfocused; the planned end does not move). 200 with the session and its live
/// state; 409 if it is not running.
pub async fn pause_session(
    State(state): State<AppState>,
    SessionId(id): SessionId,
) -> Result<Json<SessionWithState>, AppError> {
    let live = state.sessions.pause(id).await?;
    let session = state
        .db
        .call(move |s| s.get_session(id))
        .await
        .map_err(|e| not_found_as(e, id))?;
    Ok(Json(SessionWithState::new(&session, live)))
}

/// `POST /api/sessions/{id}/resume`: resumes a paused session, or continues one that a
/// server stop interrupted before its planned end (the time the server was down becomes an
/// `offline` stretch). 200 with the session and its live state; 409 for a completed
/// session or an interrupted one past its planned end.
pub async fn resume_session(
    State(state): State<AppState>,
    SessionId(id): SessionId,
) -> Result<Json<SessionWithState>, AppError> {
    let (session, live) = state.sessions.resume(id).await?;
    Ok(Json(SessionWithState::new(&session, live)))
}

/// A running session and its live state (the answer to pause and resume).
#[derive(Debug, Serialize)]
pub struct SessionWithState {
    #[serde(flatten)]
    pub session: SessionView,
    /// The live state, as the WebSocket's state messages carry it.
    pub live: LiveState,
}

impl SessionWithState {
    fn new(session: &Session, live: LiveState) -> Self {
        let mut view = SessionView::from(session);
        view.frames_analyzed = live.frames_analyzed;
        SessionWithState {
            session: view,
            live,
        }
    }
}

/// `POST /api/sessions/{id}/deliveries/{channel}/retry`: queues a failed summary again (its
/// attempts start over) and wakes the worker. 202 with the delivery, now pending; 202
/// unchanged if it is already pending; 409 if it was sent; 422 if the channel is not set up
/// on this server; 404 for an unknown session or a session without that summary.
pub async fn retry_delivery(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(StatusCode, Json<DeliveryView>), AppError> {
    let Path((raw_id, raw_channel)) = path?;
    let id = parse_id(&raw_id, "session")?;
    let channel: Channel = raw_channel.parse().map_err(|_| {
        AppError::BadRequest(format!(
            "'{}' is not a summary channel (email or sms)",
            truncate(&raw_channel, 40)
        ))
    })?;
    let deliveries = state
        .db
        .call(move |s| s.deliveries_for(id))
        .await
        .map_err(|e| not_found_as(e, id))?;
    let delivery = deliveries
        .into_iter()
        .find(|d| d.channel == channel)
        .ok_or(AppError::DeliveryNotFound { id, channel })?;
    let name = channel.name();
    match delivery.status {
        DeliveryStatus::Sent => {
            return Err(AppError::Conflict(format!(
                "the {name} summary of session {id} was already sent; a summary is sent only once"
            )));
        }
        DeliveryStatus::Pending => {
            // Already queued (perhaps being sent now): nothing to reset.
            state.delivery.wake();
            return Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(&delivery))));
        }
        DeliveryStatus::Failed => {}
    }
    if !state.delivery.is_configured(channel) {
        return Err(AppError::invalid(
            "channel",
            format!(
                "{name} is not set up on this server, so the summary cannot be sent; set it up \
                 (see {}) and restart Focus Sentry, then send it again",
                channel.help_path()
            ),
        ));
    }
    let now = state.sessions.now_ms();
    let destination = delivery.destination;
    let queued = state
        .db
        .call(move |s| s.enqueue_delivery(id, channel, &destination, now))
        .await
        .map_err(|e| not_found_as(e, id))?;
    tracing::info!(session = id, %channel, "summary queued again on request");
    state.delivery.wake();
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(&queued))))
}

/// `DELETE /api/sessions/{id}`: deletes a session, its timeline and its deliveries. A
/// running session is ended first. 204.
pub async fn delete_session(
    State(state): State<AppState>,
    SessionId(id): SessionId,
) -> Result<StatusCode, AppError> {
    if state.sessions.live(id).is_some() {
        state.sessions.end(id, EndKind::Requested).await?;
    }
    state
        .db
        .call(move |s| s.delete_session(id))
        .await
        .map_err(|e| not_found_as(e, id))?;
    tracing::info!(session = id, "session deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/sessions.csv`: every session, oldest first, as a CSV download.
pub async fn export_csv(State(state): State<AppState>) -> Result<Response, AppError> {
    let csv = state.db.call(|s| s.sessions_csv()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"focus-sentry-sessions.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

fn not_found_as(error: DbError, id: i64) -> AppError {
    match error {
        DbError::NotFound => AppError::SessionNotFound(id.to_string()),
        other => other.into(),
    }
}

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub id: i64,
    /// `running`, `completed` or `interrupted`.
    pub status: SessionStatus,
    pub started_at_ms: i64,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// The planned end.
    pub ends_at_ms: i64,
    pub ends_at: String,
    pub ended_at_ms: Option<i64>,
    pub duration_minutes: f64,
    pub planned_duration_s: u32,
    pub alert_threshold_s: f64,
    pub alert_mode: AlertMode,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub send_email: bool,
    pub send_sms: bool,
    /// The calibration profile it judges with (`GET /api/profiles/{id}`); `null`: the
    /// default rules, or a profile deleted since.
    pub profile_id: Option<i64>,
    /// What it was judged with, as it was when the session started (name, mode, zones;
    /// `id` null once that profile is deleted); `null`: not calibrated.
    pub profile: Option<SessionProfile>,
    pub ended_early: bool,
    /// Why it ended (`planned`, `user`, `server_stopped`, `server_lost`); `null` while it
    /// runs.
    pub end_reason: Option<EndReason>,
    /// Frames that got a verdict so far (live while it runs, not only as last saved).
    pub frames_analyzed: u64,
    /// An interrupted session whose planned end has not passed: `POST .../resume`
    /// continues it. Only `GET /api/sessions/{id}` works this out; elsewhere `false`.
    pub resumable: bool,
    /// Totals as last saved (every few seconds while it runs; final once ended).
    pub totals: TotalsView,
    /// The summary, once ended.
    pub summary: Option<SessionSummary>,
    /// The WebSocket to stream frames to, while it runs.
    pub live_url: Option<String>,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        let running = s.status == SessionStatus::Running;
        SessionView {
            id: s.id,
            status: s.status,
            started_at_ms: s.started_at_ms,
            started_at: rfc3339_millis(s.started_at_ms),
            ends_at_ms: s.ends_at_ms,
            ends_at: rfc3339_millis(s.ends_at_ms),
            ended_at_ms: s.ended_at_ms,
            duration_minutes: f64::from(s.planned_duration_s) / 60.0,
            planned_duration_s: s.planned_duration_s,
            alert_threshold_s: f64::from(s.alert_threshold_ms) / 1000.0,
            alert_mode: s.alert_mode,
            email: s.email.clone(),
            phone: s.phone.clone(),
            send_email: s.send_email,
            send_sms: s.send_sms,
            profile_id: s.profile_id,
            profile: SessionProfile::of(s),
            ended_early: s.ended_early,
            end_reason: s.end_reason,
            frames_analyzed: s.totals.frames_analyzed,
            resumable: false,
            totals: TotalsView::from(&s.totals),
            summary: (!running).then(|| SessionSummary::from_session(s)),
            live_url: running.then(|| format!("/api/sessions/{}/live", s.id)),
        }
    }
}

/// Running or final totals, in milliseconds. `total_ms` is the sum of the five times.
#[derive(Debug, Clone, Serialize)]
pub struct TotalsView {
    pub total_ms: u64,
    pub focused_ms: u64,
    pub unfocused_ms: u64,
    /// No verdict yet: the start, and just after each resume.
    pub starting_ms: u64,
    pub paused_ms: u64,
    /// The server was down between an interruption and the resume.
    pub offline_ms: u64,
    pub breaks: u32,
    pub longest_focus_ms: u64,
    /// Over focused + unfocused.
    pub focus_percent: f64,
    /// Closures of the eyes of 50-500 ms.
    pub blinks: u32,
    /// Closures longer than a blink.
    pub long_closures: u32,
    /// Time the eyes were seen (the fatigue figures are over it).
    pub eyes_seen_ms: u64,
    /// Blinks per minute of `eyes_seen_ms`, one decimal; `null` under 10 s of it.
    pub blink_rate_per_min: Option<f64>,
    /// Share of `eyes_seen_ms` with the eyes at least 80% closed, 0-100, one decimal;
    /// `null` under 10 s of it.
    pub perclos_percent: Option<f64>,
    /// Focused time on each extra zone of the profile, in its order: a part of
    /// `focused_ms`. `[]` without zones, and for sessions stored before it was kept.
    pub zone_time: Vec<ZoneTime>,
}

impl From<&Totals> for TotalsView {
    fn from(t: &Totals) -> Self {
        TotalsView {
            total_ms: t.total_ms,
            focused_ms: t.focused_ms,
            unfocused_ms: t.unfocused_ms,
            starting_ms: t.starting_ms,
            paused_ms: t.paused_ms,
            offline_ms: t.offline_ms,
            breaks: t.breaks,
            longest_focus_ms: t.longest_focus_ms,
            focus_percent: t.focus_percent(),
            blinks: t.eyes.blinks,
            long_closures: t.eyes.long_closures,
            eyes_seen_ms: t.eyes.eyes_seen_ms,
            blink_rate_per_min: t.eyes.blink_rate_per_min(),
            perclos_percent: t.eyes.perclos_percent(),
            zone_time: t.zone_time.clone(),
        }
    }
}

/// One stretch of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// `focused`, `unfocused`, `starting` (no verdict yet), `paused`, `offline` (the
    /// server was down), or `break` (a drift that reached the alert threshold; it overlaps
    /// the unfocused stretches it spans).
    pub kind: EventKind,
    /// For unfocused stretches and breaks: `no_face`, `eyes_closed`, `looking_away`,
    /// `no_signal`.
    pub reason: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        EventView {
            kind: e.kind,
            reason: e.reason.clone(),
            start_ms: e.start_ms,
            end_ms: e.end_ms,
            duration_ms: e.end_ms.saturating_sub(e.start_ms),
        }
    }
}

/// A summary queued, sent or given up on, for one channel.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    /// `email` or `sms`.
    pub channel: Channel,
    /// The channel as a sentence writes it: "email", "SMS".
    pub channel_name: &'static str,
    /// The channel at the start of a sentence or as a label: "Email", "SMS".
    pub channel_title: &'static str,
    /// The address or phone number.
    pub destination: String,
    /// `pending` (queued, being sent or waiting to retry), `sent` or `failed`.
    pub status: DeliveryStatus,
    /// Attempts so far (starts over when a failed one is sent again).
    pub attempts: u32,
    /// Why the last attempt failed, in words: the reason of a `failed` delivery, or the
    /// error a `pending` one will retry after. `null` once sent.
    pub last_error: Option<String>,
    /// When a pending delivery is tried next (unix ms); `null` otherwise.
    pub next_attempt_at_ms: Option<i64>,
    /// Last change (unix ms).
    pub updated_at_ms: i64,
    /// Where to `POST` to send a failed one again; `null` unless failed.
    pub retry_url: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            channel: d.channel,
            channel_name: d.channel.name(),
            channel_title: d.channel.title(),
            destination: d.destination.clone(),
            status: d.status,
            attempts: d.attempts,
            // A failed summary queued again keeps its old error until the next attempt;
            // that error belongs to the previous series of tries, so it is not shown.
            last_error: if d.status == DeliveryStatus::Pending && d.attempts == 0 {
                None
            } else {
                d.last_error.clone()
            },
            next_attempt_at_ms: d.next_attempt_at_ms,
            updated_at_ms: d.updated_at_ms,
            retry_url: (d.status == DeliveryStatus::Failed).then(|| {
                format!(
                    "/api/sessions/{}/deliveries/{}/retry",
                    d.session_id, d.channel
                )
            }),
        }
    }
}
