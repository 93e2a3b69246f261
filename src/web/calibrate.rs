//! `GET /api/profiles/calibrate`: the WebSocket of the calibration page. The page says which
//! dot is shown, sends the camera frames taken while the user looks at it, and at the end
//! asks for the profile to be saved under a name; the server answers each frame (was a face
//! seen) and the end with the saved profile or, in words, why the calibration cannot be
//! trusted.
//!
//! Why a WebSocket rather than one upload of every frame: each frame is analysed while the
//! next dot is shown, one in memory at a time (as in a live session), so the answer is ready
//! when the last dot goes and the page can tell the user at once that no face is seen rather
//! than after ten seconds of dots.
//!
//! Protocol (`docs/api.md`, "Calibration"): text `{"point": "center"}` (or `top_left`,
//! `top_right`, `bottom_left`, `bottom_right`), then binary JPEG frames, answered one by one
//! with `{"frame": {"point", "face", "frames", "faces"}}`; then `{"finish": {"name": "..."}}`
//! (a new profile) or `{"finish": {"profile_id": N, "zone": "notes"}}` (the centre frames
//! showed the user looking at an extra zone, added to that profile), answered with
//! `{"saved": <profile>}` or `{"refused": {"reason", "point", "detail"}}` and a normal close. A bad or taken name is answered with `{"error", "field": "name", "detail"}`
//! and the socket stays open for another `finish`. Other mistakes get
//! `{"error", "detail"}` and the calibration goes on. The page sends the next frame once the
//! previous one is answered; frames are read one at a time, so a client that sends faster
//! waits on the socket. A socket silent for [`IDLE_TIMEOUT`] is closed.
//!
//! Frames are never stored or logged: only their numbers are kept, for this calibration.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use focus_vision::calibration::{CalibrationError, CalibrationPoint};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::AppError;
use super::profiles::ProfileView;
use crate::calibration::{CalibrateError, CalibrationRun};
use crate::error::error_chain;
use crate::profiles::ProfileError;
use crate::vision::AnalyzeError;

/// A calibration socket that hears nothing this long is closed (a calibration takes ~10 s;
/// this leaves time to correct a name).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Upgrades to the calibration WebSocket.
pub async fn upgrade(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let ws =
        ws.map_err(|_| AppError::BadRequest("this address takes a WebSocket connection".into()))?;
    let limits = &state.config.limits;
    let max_frame_bytes = limits.max_frame_bytes;
    let max_message = limits.max_ws_message_bytes;
    Ok(ws
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| run(state, socket, max_frame_bytes)))
}

/// A text message from the page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Command {
    point: Option<CalibrationPoint>,
    finish: Option<Finish>,
}

/// `finish`: save a new profile (`name`), or add a zone to a saved one (`profile_id` and
/// `zone`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Finish {
    name: Option<String>,
    profile_id: Option<i64>,
    zone: Option<String>,
}

/// The reply to an analysed frame.
#[derive(Debug, Serialize)]
struct FrameReply {
    point: &'static str,
    face: bool,
    frames: usize,
    faces: usize,
}

/// The answer to a saved calibration.
#[derive(Debug, Serialize)]
struct SavedReply {
    saved: ProfileView,
}

/// What the loop does after a message.
enum Next {
    Continue,
    Close,
}

/// Serves one calibration until it is saved or refused, the page goes, or it falls silent.
async fn run(state: AppState, mut socket: WebSocket, max_frame_bytes: usize) {
    let mut calibration = CalibrationRun::new(state.sessions.vision().clone());
    loop {
        let message = match tokio::time::timeout(IDLE_TIMEOUT, socket.recv()).await {
            Ok(Some(Ok(message))) => message,
            Ok(None | Some(Err(_))) => return,
            Err(_) => {
                close(&mut socket, 1000, "calibration timed out").await;
                return;
            }
        };
        let reply = match message {
            Message::Binary(frame) => {
                let (reply, next) = on_frame(&mut calibration, frame, max_frame_bytes).await;
                (reply.to_string(), next)
            }
            Message::Text(text) => on_command(&state, &mut calibration, text.as_str()).await,
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let (body, next) = reply;
        if !send(&mut socket, &body).await {
            return;
        }
        if let Next::Close = next {
            close(&mut socket, 1000, "calibration finished").await;
            return;
        }
    }
}

async fn on_frame(run: &mut CalibrationRun, frame: Bytes, max_frame_bytes: usize) -> (Value, Next) {
    if frame.len() > max_frame_bytes {
        let detail = format!(
            "the frame is {} bytes; the limit is {max_frame_bytes} bytes (send JPEG frames at most 640 px wide)",
            frame.len()
        );
        return (error("frame too large", detail), Next::Continue);
    }
    match run.add_frame(frame).await {
        Ok(note) => (
            json!({ "frame": FrameReply {
                point: note.point.as_str(),
                face: note.face,
                frames: note.frames,
                faces: note.faces,
            }}),
            Next::Continue,
        ),
        Err(e) => (frame_error(e), Next::Continue),
    }
}

/// The words for a frame that was not counted.
fn frame_error(e: CalibrateError) -> Value {
    match e {
        CalibrateError::NoPoint => error("no point", e.to_string()),
        CalibrateError::TooManyFrames => error("too many frames", e.to_string()),
        CalibrateError::Frame(AnalyzeError::Busy) => error("busy", AnalyzeError::Busy.to_string()),
        CalibrateError::Frame(AnalyzeError::Frame(e)) => error("unusable frame", e.to_string()),
        other => {
            tracing::error!(error = %error_chain(&other), "calibration frame analysis failed");
            error("analysis failed", "the server could not analyse this frame")
        }
    }
}

async fn on_command(state: &AppState, run: &mut CalibrationRun, text: &str) -> (String, Next) {
    let command: Command = match serde_json::from_str(text) {
        Ok(command) => command,
        Err(e) => {
            let detail = format!(
                "expected {{\"point\": \"center\"}} (or top_left, top_right, bottom_left, bottom_right) or {{\"finish\": {{\"name\": \"...\"}}}}: {e}"
            );
            return (error("bad message", detail).to_string(), Next::Continue);
        }
    };
    match command {
        Command {
            point: Some(point),
            finish: None,
        } => {
            run.look_at(point);
            (
                json!({ "point": point.as_str() }).to_string(),
                Next::Continue,
            )
        }
        Command {
            point: None,
            finish:
                Some(Finish {
                    name: Some(name),
                    profile_id: None,
                    zone: None,
                }),
        } => on_finish(state, run, &name).await,
        Command {
            point: None,
            finish:
                Some(Finish {
                    name: None,
                    profile_id: Some(profile_id),
                    zone: Some(zone),
                }),
        } => on_finish_zone(state, run, profile_id, &zone).await,
        Command {
            point: None,
            finish: Some(_),
        } => (
            error(
                "bad message",
                "finish with {\"name\": \"...\"} (a new profile) or {\"profile_id\": N, \"zone\": \"...\"} (a zone added to it)",
            )
            .to_string(),
            Next::Continue,
        ),
        _ => (
            error(
                "bad message",
                "send either a point or finish, one per message",
            )
            .to_string(),
            Next::Continue,
        ),
    }
}

async fn on_finish(state: &AppState, run: &CalibrationRun, name: &str) -> (String, Next) {
    let now_ms = state.sessions.now_ms();
    match run.save(&state.db, name, now_ms).await {
        Ok(saved) => {
            tracing::info!(
                profile = saved.id,
                frames = run.frames(),
                "profile saved from a calibration"
            );
            saved_reply(saved)
        }
        Err(CalibrateError::Refused(why)) => {
            tracing::info!(reason = reason(&why), "calibration refused");
            (refusal(&why).to_string(), Next::Close)
        }
        Err(CalibrateError::Profile(ProfileError::Invalid { field, detail })) => (
            json!({
                "error": if field == "name" { "invalid name" } else { "invalid profile" },
                "field": field,
                "detail": detail,
            })
            .to_string(),
            Next::Continue,
        ),
        Err(CalibrateError::Profile(ProfileError::NameTaken(detail))) => (
            json!({ "error": "name taken", "field": "name", "detail": detail }).to_string(),
            Next::Continue,
        ),
        Err(other) => {
            tracing::error!(error = %error_chain(&other), "calibration could not be saved");
            (
                error(
                    "not saved",
                    "the profile could not be saved (the server's database failed); try again",
                )
                .to_string(),
                Next::Continue,
            )
        }
    }
}

async fn on_finish_zone(
    state: &AppState,
    run: &CalibrationRun,
    profile_id: i64,
    zone: &str,
) -> (String, Next) {
    match run.save_zone(&state.db, profile_id, zone).await {
        Ok(saved) => {
            tracing::info!(
                profile = saved.id,
                frames = run.frames(),
                "zone added to a profile from a calibration"
            );
            saved_reply(saved)
        }
        Err(CalibrateError::Refused(why)) => {
            tracing::info!(reason = reason(&why), "zone calibration refused");
            (refusal(&why).to_string(), Next::Close)
        }
        Err(CalibrateError::Profile(ProfileError::Invalid {
            field: "zone",
            detail,
        })) => (
            json!({ "error": "invalid zone", "field": "zone", "detail": detail }).to_string(),
            Next::Continue,
        ),
        Err(CalibrateError::Profile(ProfileError::NotFound(id))) => (
            json!({
                "error": "no such profile",
                "field": "profile_id",
                "detail": format!("there is no calibration profile with id {id}: calibrate the screen first"),
            })
            .to_string(),
            Next::Close,
        ),
        Err(CalibrateError::Profile(ProfileError::Invalid { detail, .. })) => (
            json!({
                "error": "invalid profile",
                "field": "profile_id",
                "detail": format!("the profile cannot be used ({detail}): calibrate the screen again"),
            })
            .to_string(),
            Next::Close,
        ),
        Err(other) => {
            tracing::error!(error = %error_chain(&other), "zone could not be saved");
            (
                error(
                    "not saved",
                    "the zone could not be saved (the server's database failed); try again",
                )
                .to_string(),
                Next::Continue,
            )
        }
    }
}

/// `{"saved": <profile>}`, serialised as `GET /api/profiles/{id}` is (through a JSON value,
/// its f32s would print with f64 digits); the calibration is over.
fn saved_reply(saved: crate::profiles::SavedProfile) -> (String, Next) {
    match serde_json::to_string(&SavedReply {
        saved: ProfileView::from(saved),
    }) {
        Ok(reply) => (reply, Next::Close),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a saved profile");
            let reply = error("not saved", "the profile was saved but could not be shown");
            (reply.to_string(), Next::Close)
        }
    }
}

/// The wire name of why a calibration was refused.
fn reason(e: &CalibrationError) -> &'static str {
    match e {
        CalibrationError::NoFrames(_) => "no_frames",
        CalibrationError::NoFace(_) => "no_face",
        CalibrationError::EyesHidden(_) => "eyes_hidden",
        CalibrationError::EyesClosed(_) => "eyes_closed",
        CalibrationError::Moved(_) => "moved",
        CalibrationError::PointsDoNotSeparate(_) => "points_do_not_separate",
        CalibrationError::ZoneOnScreen(_) => "zone_on_screen",
        CalibrationError::ZoneName => "zone_name",
    }
}

/// The point a refusal is about, if it is about one.
fn point(e: &CalibrationError) -> Option<&'static str> {
    match e {
        CalibrationError::NoFrames(p)
        | CalibrationError::NoFace(p)
        | CalibrationError::EyesHidden(p)
        | CalibrationError::EyesClosed(p)
        | CalibrationError::Moved(p) => Some(p.as_str()),
        _ => None,
    }
}

fn refusal(e: &CalibrationError) -> Value {
    json!({ "refused": {
        "reason": reason(e),
        "point": point(e),
        "detail": e.to_string(),
    }})
}

fn error(error: &'static str, detail: impl Into<String>) -> Value {
    json!({ "error": error, "detail": detail.into() })
}

/// Sends one JSON text message; `false` if the socket is gone.
async fn send(socket: &mut WebSocket, body: &str) -> bool {
    socket
        .send(Message::Text(body.to_owned().into()))
        .await
        .is_ok()
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
