//! `GET /api/sessions/{id}/live`: the WebSocket that carries the camera stream.
//!
//! The page sends each frame as one binary message (a JPEG). Each analysed frame gets one
//! text reply with the live state (`"source": "frame"`); a frame that cannot be used gets
//! `{"error": ..., "detail": ..., "source": "frame"}` and the connection goes on. When no
//! frame has been answered for a second, the server sends the state anyway
//! (`"source": "tick"`), so the page shows "no camera signal" and its timers move. At the
//! planned end (or when the session is ended elsewhere) the server sends
//! `{"ended": true, "summary": {...}}` and closes the socket with code 1000.
//!
//! Back-pressure: at most one frame per session is analysed at a time. A frame that
//! arrives while another is being analysed waits in a one-frame slot; a newer one replaces
//! it (the older is dropped unanswered). Memory per connection is therefore bounded by two
//! frames, whatever the client sends.
//!
//! A session has one stream: when the page reconnects (or opens in a second tab), the
//! older connection is told so and closed with code 4001.
//!
//! Frames are never stored or logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use focus_vision::FrameAnalysis;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::task::JoinHandle;

use super::{AppState, SessionId};
use crate::db::DbError;
use crate::error::error_chain;
use crate::web::error::AppError;
use crate::session::{LiveSession, LiveState, SessionSummary};
use crate::vision::{AnalyzeError, Vision};

/// Close code sent when a newer connection of the same session takes over.
pub const CLOSE_REPLACED: u16 = 4001;

/// Checks the session is open, then upgrades to a WebSocket.
pub async fn upgrade(
    State(state): State<AppState>,
    SessionId(id): SessionId,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let Some(live) = state.sessions.live(id) else {
        return Err(match state.db.call(move |s| s.get_session(id)).await {
            Ok(_) => AppError::SessionEnded(id),
            Err(DbError::NotFound) => AppError::SessionNotFound(id.to_string()),
            Err(e) => e.into(),
        });
    };
    let ws =
        ws.map_err(|_| AppError::BadRequest("this address takes a WebSocket connection".into()))?;
    let limits = &state.config.limits;
    let stream = Stream {
        live,
        vision: state.sessions.vision().clone(),
        max_frame_bytes: limits.max_frame_bytes,
        idle_push: state.config.timing.idle_push_interval,
    };
    Ok(ws
        .max_message_size(limits.max_ws_message_bytes)
        .max_frame_size(limits.max_ws_message_bytes)
        .on_upgrade(move |socket| stream.run(socket)))
}

/// One connection's state.
struct Stream {
    live: Arc<LiveSession>,
    vision: Vision,
    max_frame_bytes: usize,
    idle_push: Duration,
}

type Sink = SplitSink<WebSocket, Message>;

/// How a connection ends.
enum Finish {
    /// The client went away (or the socket failed): nothing more to send.
    Gone,
    /// The session ended: send the summary and close normally.
    Ended(SessionSummary),
    /// Another connection took over.
    Replaced,
}

impl Stream {
    async fn run(self, socket: WebSocket) {
        let id = self.live.id;
        let (mut sink, mut incoming) = socket.split();
        let (generation, mut connections) = self.live.connect();
        let mut ended = self.live.subscribe_ended();
        let mut ticks = self.live.subscribe_ticks();
        tracing::debug!(session = id, generation, "live stream connected");

        let mut in_flight: Option<JoinHandle<Result<FrameAnalysis, AnalyzeError>>> = None;
        let mut waiting: Option<Bytes> = None;
        let mut dropped: u64 = 0;
        let mut last_sent = Instant::now();

        // The state at once, so the page has numbers before its first frame is analysed.
        let mut finish = match self.live.current() {
            Ok(state) => {
                if send(&mut sink, &StateReply::tick(state)).await {
                    None
                } else {
                    Some(Finish::Gone)
                }
            }
            Err(summary) => Some(Finish::Ended(summary)),
        };

        while finish.is_none() {
            tokio::select! {
                biased;
                changed = ended.changed() => {
                    let summary = ended.borrow().clone();
                    finish = match (changed, summary) {
                        (_, Some(summary)) => Some(Finish::Ended(summary)),
                        // The session is gone without a summary: nothing more to do.
                        (Err(_), None) => Some(Finish::Gone),
                        (Ok(()), None) => None,
                    };
                }
                _ = connections.changed() => {
                    if *connections.borrow() != generation {
                        finish = Some(Finish::Replaced);
                    }
                }
                result = wait(&mut in_flight) => {
                    in_flight = None;
                    let reply = self.reply_to_frame(result);
                    finish = match reply {
                        Ok(reply) => (!send(&mut sink, &reply).await).then_some(Finish::Gone),
                        Err(summary) => {
                            let refusal = ErrorReply::frame(
                                "session ended",
                                "this session has ended; the frame was not counted",
                            );
                            let _ = send(&mut sink, &refusal).await;
                            Some(Finish::Ended(summary))
                        }
                    };
                    last_sent = Instant::now();
                    if let Some(frame) = waiting.take() {
                        in_flight = Some(self.start_analysis(frame));
                    }
                }
                message = incoming.next() => {
                    match message {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => finish = Some(Finish::Gone),
                        Some(Ok(Message::Binary(frame))) => {
                            if frame.len() > self.max_frame_bytes {
                                let reply = ErrorReply::frame(
                                    "frame too large",
                                    format!(
                                        "the frame is {} bytes; the limit is {} bytes (send JPEG frames at most 640 px wide)",
                                        frame.len(),
                                        self.max_frame_bytes
                                    ),
                                );
                                if !send(&mut sink, &reply).await {
                                    finish = Some(Finish::Gone);
                                }
                                last_sent = Instant::now();
                            } else if in_flight.is_some() {
                                // Newest frame wins: replace the one waiting, if any.
                                if waiting.replace(frame).is_some() {
                                    dropped += 1;
                                }
                            } else {
                                in_flight = Some(self.start_analysis(frame));
                            }
                        }
                        Some(Ok(Message::Text(_))) => {
                            let reply = ErrorReply::frame(
                                "expected a binary frame",
                                "send each camera frame as one binary WebSocket message holding a JPEG image",
                            );
                            if !send(&mut sink, &reply).await {
                                finish = Some(Finish::Gone);
                            }
                        }
                        // Pings are answered by the WebSocket layer.
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    }
                }
                _ = ticks.changed() => {
                    if last_sent.elapsed() >= self.idle_push && in_flight.is_none() {
                        finish = match self.live.current() {
                            Ok(state) => (!send(&mut sink, &StateReply::tick(state)).await).then_some(Finish::Gone),
                            Err(summary) => Some(Finish::Ended(summary)),
                        };
                        last_sent = Instant::now();
                    }
                }
            }
        }

        match finish {
            Some(Finish::Ended(summary)) => {
                let _ = send(&mut sink, &EndedReply::new(summary)).await;
                close(&mut sink, 1000, "session ended").await;
            }
            Some(Finish::Replaced) => {
                let reply = ErrorReply::other(
                    "replaced",
                    "this session was opened in another window or tab; this one stopped streaming",
                );
                let _ = send(&mut sink, &reply).await;
                close(&mut sink, CLOSE_REPLACED, "replaced by a newer connection").await;
            }
            Some(Finish::Gone) | None => {}
        }
        if let Some(task) = in_flight {
            // The analysis finishes on its own (it cannot be interrupted); its result is
            // simply not used.
            drop(task);
        }
        tracing::debug!(session = id, generation, dropped, "live stream closed");
    }

    fn start_analysis(&self, frame: Bytes) -> JoinHandle<Result<FrameAnalysis, AnalyzeError>> {
        let vision = self.vision.clone();
        let tracker = self.live.tracker().clone();
        tokio::spawn(async move { vision.analyze(&tracker, frame).await })
    }

    /// The reply to an analysed frame, or the summary if the session ended meanwhile.
    fn reply_to_frame(
        &self,
        result: Result<Result<FrameAnalysis, AnalyzeError>, tokio::task::JoinError>,
    ) -> Result<Reply, SessionSummary> {
        let analysis = match result {
            Ok(Ok(analysis)) => analysis,
            Ok(Err(AnalyzeError::Frame(e))) => {
                return Ok(Reply::Error(ErrorReply::frame(
                    "unusable frame",
                    e.to_string(),
                )));
            }
            Ok(Err(e)) => {
                tracing::error!(session = self.live.id, error = %error_chain(&e), "frame analysis failed");
                return Ok(Reply::Error(ErrorReply::frame(
                    "analysis failed",
                    "the server could not analyse this frame",
                )));
            }
            Err(e) => {
                tracing::error!(session = self.live.id, error = %error_chain(&e), "frame analysis task failed");
                return Ok(Reply::Error(ErrorReply::frame(
                    "analysis failed",
                    "the server could not analyse this frame",
                )));
            }
        };
        let state = self.live.observe(&analysis)?;
        Ok(Reply::State(StateReply::frame(state, &analysis)))
    }
}

/// Waits for the frame in flight; never resolves when there is none.
async fn wait<T>(task: &mut Option<JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match task {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

/// Sends one JSON text message. `false` if the socket is gone.
async fn send<T: Serialize>(sink: &mut Sink, message: &T) -> bool {
    match serde_json::to_string(message) {
        Ok(text) => sink.send(Message::Text(text.into())).await.is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a live message");
            false
        }
    }
}

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
    let _ = sink.close().await;
}

/// A reply to a frame.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Reply {
    State(StateReply),
    Error(ErrorReply),
}

/// The live state: the clock's numbers, plus for frame replies the face and the frame's
/// own verdict (the clock's state is debounced and lags it slightly).
#[derive(Debug, Serialize)]
struct StateReply {
    /// `frame` (answers a frame) or `tick` (sent without one).
    source: &'static str,
    #[serde(flatten)]
    state: LiveState,
    face: Option<FaceView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<Verdict>,
}

impl StateReply {
    fn tick(state: LiveState) -> Self {
        StateReply {
            source: "tick",
            state,
            face: None,
            verdict: None,
        }
    }

    fn frame(state: LiveState, analysis: &FrameAnalysis) -> Self {
        let (width, height) = analysis.image_size;
        StateReply {
            source: "frame",
            state,
            face: analysis.face.as_ref().map(|face| FaceView {
                bbox: face.bbox.map(|v| (v * 10.0).round() / 10.0),
                score: (face.score * 1000.0).round() / 1000.0,
                image_width: width,
                image_height: height,
            }),
            verdict: Some(Verdict {
                focused: analysis.focused,
                reason: analysis.reason.map(|r| r.as_str()),
            }),
        }
    }
}

/// The face found in the frame, in the frame's pixels.
#[derive(Debug, Serialize)]
struct FaceView {
    /// `[x0, y0, x1, y1]`, origin top-left, in pixels of the frame as sent.
    #[serde(rename = "box")]
    bbox: [f32; 4],
    /// Face confidence, 0-1.
    score: f32,
    image_width: u32,
    image_height: u32,
}

/// This frame's own verdict, before debouncing.
#[derive(Debug, Serialize)]
struct Verdict {
    focused: bool,
    reason: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct ErrorReply {
    error: &'static str,
    detail: String,
    /// `frame` when it answers a frame (the page may send the next one).
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
}

impl ErrorReply {
    fn frame(error: &'static str, detail: impl Into<String>) -> Self {
        ErrorReply {
            error,
            detail: detail.into(),
            source: Some("frame"),
        }
    }

    fn other(error: &'static str, detail: impl Into<String>) -> Self {
        ErrorReply {
            error,
            detail: detail.into(),
            source: None,
        }
    }
}

#[derive(Debug, Serialize)]
struct EndedReply {
    ended: bool,
    summary: SessionSummary,
}

impl EndedReply {
    fn new(summary: SessionSummary) -> Self {
        EndedReply {
            ended: true,
            summary,
        }
    }
}
