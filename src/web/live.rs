//! `GET /api/sessions/{id}/live`: the WebSocket that carries the camera stream.
//!
//! The server paces the stream: it asks for each frame with `{"next": true}`, at most once
//! per [`Timing::frame_interval`](crate::config::Timing) (5 a second) and only once the
//! previous frame has been answered, and the page captures and sends a frame when asked.
//! The page needs no timer to stream, so a hidden tab, whose timers the browser throttles
//! to once a second or once a minute, keeps its full rate (`docs/architecture.md`,
//! "Streaming in the background"). A request that goes unanswered is repeated after
//! [`Timing::frame_request_retry`](crate::config::Timing); none is sent while the session is
//! paused.
//!
//! The page sends each frame as one binary message (a JPEG). Each analysed frame gets one
//! text reply with the live state (`"source": "frame"`); a frame that cannot be used gets
//! `{"error": ..., "detail": ..., "source": "frame"}` and the connection goes on. When
//! nothing has been sent for a second, even while a frame is being analysed, the server
//! sends the state anyway (`"source": "tick"`), so the page shows "no camera signal", its
//! timers move, and a page that hears nothing for a few seconds knows the connection is
//! gone. State messages carry `stream`, what the server measured of the stream (rates,
//! analysis and request times), so the page can tell a throttled tab from a busy server.
//! At the planned end (or when the session is ended elsewhere) the server sends
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

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

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
use tokio::time::Instant;

use super::{AppState, SessionId};
use crate::db::DbError;
use crate::error::error_chain;
use crate::session::{LiveSession, SessionSummary};
use crate::vision::{AnalyzeError, Vision};
use crate::web::error::AppError;

mod messages;
mod stats;

use messages::{EndedReply, ErrorReply, Reply, StateReply};
use stats::StreamStats;

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
    let timing = &state.config.timing;
    let stream = Stream {
        live,
        vision: state.sessions.vision().clone(),
        max_frame_bytes: limits.max_frame_bytes,
        idle_push: timing.idle_push_interval,
        frame_interval: timing.frame_interval,
        request_retry: timing.frame_request_retry,
    };
    Ok(ws
        .max_message_size(limits.max_ws_message_bytes)
        .max_frame_size(limits.max_ws_message_bytes)
        .on_upgrade(move |socket| stream.run(socket)))
}

/// One connection's settings: the session it streams and the limits it applies.
struct Stream {
    live: Arc<LiveSession>,
    vision: Vision,
    max_frame_bytes: usize,
    idle_push: Duration,
    /// At most one request for a frame per this interval.
    frame_interval: Duration,
    /// A request unanswered this long is sent again.
    request_retry: Duration,
}

type Sink = SplitSink<WebSocket, Message>;
type Analysis = Result<FrameAnalysis, AnalyzeError>;

/// How a connection ends.
enum Finish {
    /// The client went away (or the socket failed): nothing more to send.
    Gone,
    /// The session ended: send the summary and close normally (boxed: it is large).
    Ended(Box<SessionSummary>),
    /// Another connection took over.
    Replaced,
}

/// What a handler says: go on, or end the connection this way.
type Flow = ControlFlow<Finish>;

/// One connection's moving parts: the outgoing half of the socket, the frames in hand, the
/// requests for frames and what was measured of the stream.
struct Connection {
    sink: Sink,
    /// The frame being analysed, at most one, and when it arrived.
    in_flight: Option<JoinHandle<Analysis>>,
    in_flight_since: Instant,
    /// The newest frame that arrived while another was analysed (it goes next), and when
    /// it arrived.
    waiting: Option<(Bytes, Instant)>,
    /// Frames replaced in `waiting` by a newer one before they were analysed.
    dropped: u64,
    /// When the page was last sent anything.
    last_sent: Instant,
    /// When the last request for a frame was sent; `awaiting` while it is unanswered.
    last_request: Option<Instant>,
    awaiting: bool,
    /// When the next request is due; `None` when none is scheduled.
    next_request: Option<Instant>,
    stats: StreamStats,
}

impl Connection {
    /// Sends one JSON message; the connection is gone if that fails.
    async fn send<T: Serialize>(&mut self, message: &T) -> Flow {
        if send(&mut self.sink, message).await {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(Finish::Gone)
        }
    }

    /// Sends the live state unasked (`"source": "tick"`), or ends with the summary.
    async fn push_state(&mut self, live: &LiveSession) -> Flow {
        match live.current() {
            Ok(state) => {
                let stream = self.stats.view(Instant::now(), self.dropped);
                let flow = self.send(&StateReply::tick(state, stream)).await;
                self.last_sent = Instant::now();
                flow
            }
            Err(summary) => ControlFlow::Break(Finish::Ended(summary)),
        }
    }

    /// Asks the page for a frame now.
    async fn request_frame(&mut self) -> Flow {
        let now = Instant::now();
        self.next_request = None;
        self.last_request = Some(now);
        self.awaiting = true;
        self.last_sent = now;
        self.send(&NextRequest { next: true }).await
    }

    /// Schedules the next request: at once if the last one was at least `interval` ago,
    /// else when it will have been. Nothing while a frame is in hand or one is awaited.
    fn schedule_request(&mut self, interval: Duration) {
        if self.in_flight.is_some() || self.waiting.is_some() || self.awaiting {
            return;
        }
        let now = Instant::now();
        let due = self.last_request.map_or(now, |at| (at + interval).max(now));
        self.next_request = Some(due);
    }

    /// Says goodbye the way `finish` asks.
    async fn close(&mut self, finish: Finish) {
        match finish {
            Finish::Ended(summary) => {
                let _ = send(&mut self.sink, &EndedReply::new(*summary)).await;
                close(&mut self.sink, 1000, "session ended").await;
            }
            Finish::Replaced => {
                let reply = ErrorReply::other(
                    "replaced",
                    "this session was opened in another window or tab; this one stopped streaming",
                );
                let _ = send(&mut self.sink, &reply).await;
                close(
                    &mut self.sink,
                    CLOSE_REPLACED,
                    "replaced by a newer connection",
                )
                .await;
            }
            Finish::Gone => {}
        }
    }
}

impl Stream {
    /// Serves one connection until the page goes, the session ends or a newer connection
    /// takes over: one handler per event, as axum's WebSocket example reads.
    async fn run(self, socket: WebSocket) {
        let id = self.live.id;
        let (sink, mut incoming) = socket.split();
        let (generation, mut connections) = self.live.connect();
        // Counts as streaming (the session is not paused for want of a page) until it closes.
        let _streaming = self.live.stream_opened();
        let mut ended = self.live.subscribe_ended();
        let mut ticks = self.live.subscribe_ticks();
        tracing::debug!(session = id, generation, "live stream connected");
        let mut changes = self.live.subscribe_changes();
        let now = Instant::now();
        let mut conn = Connection {
            sink,
            in_flight: None,
            in_flight_since: now,
            waiting: None,
            dropped: 0,
            last_sent: now,
            last_request: None,
            awaiting: false,
            next_request: None,
            stats: StreamStats::new(now, self.frame_interval),
        };

        // The state at once, so the page has numbers before its first frame is analysed,
        // then the first request for a frame.
        let mut flow = conn.push_state(&self.live).await;
        if flow.is_continue() && !self.live.is_paused() {
            flow = conn.request_frame().await;
        }
        while flow.is_continue() {
            flow = tokio::select! {
                biased;
                changed = ended.changed() => on_session_change(changed.is_ok(), ended.borrow().clone()),
                _ = connections.changed() => on_connection(*connections.borrow(), generation),
                result = wait(&mut conn.in_flight) => self.on_analysed(&mut conn, result).await,
                message = incoming.next() => self.on_message(&mut conn, message).await,
                () = sleep_until(conn.next_request) => self.on_request_due(&mut conn).await,
                _ = changes.changed() => self.on_user_change(&mut conn).await,
                _ = ticks.changed() => self.on_tick(&mut conn).await,
            };
        }
        if let ControlFlow::Break(finish) = flow {
            conn.close(finish).await;
        }
        // A frame waiting for inference is dropped now; one being analysed finishes on its
        // own (inference cannot be interrupted) and frees its place when it does.
        if let Some(task) = conn.in_flight.take() {
            task.abort();
        }
        let dropped = conn.dropped;
        tracing::debug!(session = id, generation, dropped, "live stream closed");
    }

    /// A frame's analysis finished: answer it, then start the frame that waited, if any,
    /// or schedule the request for the next one.
    async fn on_analysed(
        &self,
        conn: &mut Connection,
        result: Result<Analysis, tokio::task::JoinError>,
    ) -> Flow {
        conn.in_flight = None;
        let now = Instant::now();
        let flow = match self.reply_to_frame(result) {
            Ok(mut reply) => {
                if let Reply::State(state) = &mut reply {
                    conn.stats
                        .analysed(now, now.saturating_duration_since(conn.in_flight_since));
                    state.stream = Some(conn.stats.view(now, conn.dropped));
                }
                conn.send(&reply).await
            }
            Err(summary) => {
                let refusal = ErrorReply::frame(
                    "session ended",
                    "this session has ended; the frame was not counted",
                );
                let _ = conn.send(&refusal).await;
                ControlFlow::Break(Finish::Ended(summary))
            }
        };
        conn.last_sent = Instant::now();
        if let Some((frame, arrived)) = conn.waiting.take() {
            conn.in_flight = Some(self.start_analysis(frame));
            conn.in_flight_since = arrived;
        } else if !self.live.is_paused() {
            conn.schedule_request(self.frame_interval);
        }
        flow
    }

    /// The next request for a frame is due.
    async fn on_request_due(&self, conn: &mut Connection) -> Flow {
        conn.next_request = None;
        if self.live.is_paused() {
            return ControlFlow::Continue(());
        }
        conn.request_frame().await
    }

    /// The user paused or resumed: say so at once, and stop or start asking for frames.
    async fn on_user_change(&self, conn: &mut Connection) -> Flow {
        if self.live.is_paused() {
            conn.next_request = None;
            conn.awaiting = false;
        } else {
            conn.schedule_request(self.frame_interval);
        }
        conn.push_state(&self.live).await
    }

    /// A message from the page: a frame to analyse (or hold), a mistake to answer, or the
    /// end of the connection.
    async fn on_message(
        &self,
        conn: &mut Connection,
        message: Option<Result<Message, axum::Error>>,
    ) -> Flow {
        match message {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => ControlFlow::Break(Finish::Gone),
            Some(Ok(Message::Binary(frame))) => self.on_frame(conn, frame).await,
            Some(Ok(Message::Text(_))) => {
                let reply = ErrorReply::frame(
                    "expected a binary frame",
                    "send each camera frame as one binary WebSocket message holding a JPEG image",
                );
                conn.send(&reply).await
            }
            // Pings are answered by the WebSocket layer.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => ControlFlow::Continue(()),
        }
    }

    /// A camera frame: refused when too large, else analysed now, or held as the next one
    /// while another is analysed (newest frame wins).
    async fn on_frame(&self, conn: &mut Connection, frame: Bytes) -> Flow {
        let now = Instant::now();
        conn.stats.received(now);
        if conn.awaiting {
            conn.awaiting = false;
            if let Some(asked) = conn.last_request {
                conn.stats
                    .answered(now, now.saturating_duration_since(asked));
            }
        }
        if frame.len() > self.max_frame_bytes {
            let reply = ErrorReply::frame(
                "frame too large",
                format!(
                    "the frame is {} bytes; the limit is {} bytes (send JPEG frames at most 640 px wide)",
                    frame.len(),
                    self.max_frame_bytes
                ),
            );
            let flow = conn.send(&reply).await;
            conn.last_sent = Instant::now();
            conn.schedule_request(self.frame_interval);
            return flow;
        }
        if conn.in_flight.is_some() {
            if conn.waiting.replace((frame, now)).is_some() {
                conn.dropped += 1;
            }
        } else {
            conn.in_flight = Some(self.start_analysis(frame));
            conn.in_flight_since = now;
        }
        ControlFlow::Continue(())
    }

    /// The session's clock ticked: when the page has heard nothing for a while (even if a
    /// frame is being analysed), send it the state anyway; ask again for a frame that a
    /// request did not bring.
    async fn on_tick(&self, conn: &mut Connection) -> Flow {
        if conn.last_sent.elapsed() >= self.idle_push {
            let flow = conn.push_state(&self.live).await;
            if flow.is_break() {
                return flow;
            }
        }
        let unanswered = conn.awaiting
            && conn
                .last_request
                .is_some_and(|at| at.elapsed() >= self.request_retry);
        if unanswered && conn.in_flight.is_none() && !self.live.is_paused() {
            return conn.request_frame().await;
        }
        ControlFlow::Continue(())
    }

    fn start_analysis(&self, frame: Bytes) -> JoinHandle<Analysis> {
        let vision = self.vision.clone();
        let tracker = self.live.tracker().clone();
        tokio::spawn(async move { vision.analyze(&tracker, frame).await })
    }

    /// The reply to an analysed frame, or the summary if the session ended meanwhile.
    fn reply_to_frame(
        &self,
        result: Result<Analysis, tokio::task::JoinError>,
    ) -> Result<Reply, Box<SessionSummary>> {
        let analysis = match result {
            Ok(Ok(analysis)) => analysis,
            // Not analysed: the server holds as many frames as it allows. The page is asked
            // for another as usual.
            Ok(Err(AnalyzeError::Busy)) => {
                return Ok(Reply::Error(ErrorReply::frame(
                    "busy",
                    AnalyzeError::Busy.to_string(),
                )));
            }
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
        Ok(Reply::State(Box::new(StateReply::frame(state, &analysis))))
    }
}

/// The session's end watch changed: `open` is false when the session is gone altogether.
fn on_session_change(open: bool, summary: Option<SessionSummary>) -> Flow {
    match (open, summary) {
        (_, Some(summary)) => ControlFlow::Break(Finish::Ended(Box::new(summary))),
        // The session is gone without a summary: nothing more to do.
        (false, None) => ControlFlow::Break(Finish::Gone),
        (true, None) => ControlFlow::Continue(()),
    }
}

/// A page connected to the session: this connection stops unless it is the newest.
fn on_connection(newest: u64, generation: u64) -> Flow {
    if newest == generation {
        ControlFlow::Continue(())
    } else {
        ControlFlow::Break(Finish::Replaced)
    }
}

/// Sleeps until `due`; never resolves when there is none.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
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

/// The server's request for the next frame.
#[derive(Debug, Serialize)]
struct NextRequest {
    next: bool,
}
