//! What the server measures of one connection's stream (rates, analysis and request
//! times, over the last few seconds), sent in each state message so the page can tell a
//! throttled tab from a busy server.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// How far back the stream's rates and times look.
const STATS_WINDOW: Duration = Duration::from_secs(5);

/// What the server measured of one connection's stream over the last few seconds.
pub(super) struct StreamStats {
    connected: Instant,
    target_fps: f64,
    /// Arrival times of frames.
    received: VecDeque<Instant>,
    /// Verdicts: when sent, and how long from the frame's arrival.
    analysed: VecDeque<(Instant, Duration)>,
    /// Frames that answered a request: when they came, and how long after the request.
    answered: VecDeque<(Instant, Duration)>,
}

impl StreamStats {
    pub(super) fn new(connected: Instant, frame_interval: Duration) -> Self {
        StreamStats {
            connected,
            target_fps: 1.0 / frame_interval.as_secs_f64().max(0.001),
            received: VecDeque::new(),
            analysed: VecDeque::new(),
            answered: VecDeque::new(),
        }
    }

    pub(super) fn received(&mut self, at: Instant) {
        self.received.push_back(at);
        self.forget(at);
    }

    pub(super) fn analysed(&mut self, at: Instant, took: Duration) {
        self.analysed.push_back((at, took));
        self.forget(at);
    }

    pub(super) fn answered(&mut self, at: Instant, took: Duration) {
        self.answered.push_back((at, took));
        self.forget(at);
    }

    /// Drops what is older than the window.
    fn forget(&mut self, now: Instant) {
        let Some(since) = now.checked_sub(STATS_WINDOW) else {
            return;
        };
        while self.received.front().is_some_and(|&at| at < since) {
            self.received.pop_front();
        }
        while self.analysed.front().is_some_and(|&(at, _)| at < since) {
            self.analysed.pop_front();
        }
        while self.answered.front().is_some_and(|&(at, _)| at < since) {
            self.answered.pop_front();
        }
    }

    pub(super) fn view(&mut self, now: Instant, dropped: u64) -> StreamView {
        self.forget(now);
        // Over the window, or over the connection's life when it is younger (at least a
        // second, so the first frames do not read as a burst).
        let span = now
            .saturating_duration_since(self.connected)
            .clamp(Duration::from_secs(1), STATS_WINDOW)
            .as_secs_f64();
        let rate = |n: usize| (n as f64 / span * 10.0).round() / 10.0;
        let mean_ms = |times: &VecDeque<(Instant, Duration)>| {
            let n = u32::try_from(times.len()).ok().filter(|&n| n > 0)?;
            let total: Duration = times.iter().map(|&(_, took)| took).sum();
            Some(u64::try_from((total / n).as_millis()).unwrap_or(u64::MAX))
        };
        StreamView {
            received_fps: rate(self.received.len()),
            analysed_fps: rate(self.analysed.len()),
            target_fps: (self.target_fps * 10.0).round() / 10.0,
            analysis_ms: mean_ms(&self.analysed),
            request_ms: mean_ms(&self.answered),
            dropped,
        }
    }
}

/// The stream as the server sees it, in each state message (over the last 5 s).
#[derive(Debug, Serialize)]
pub(super) struct StreamView {
    /// Frames the page sent per second.
    received_fps: f64,
    /// Frames analysed (verdicts given) per second.
    analysed_fps: f64,
    /// The rate the server asks for.
    target_fps: f64,
    /// Mean time from a frame's arrival to its verdict: high when the server is busy.
    analysis_ms: Option<u64>,
    /// Mean time from the server's request to the frame's arrival: the page's capture,
    /// encoding and upload; high when the browser is slow or throttles the tab.
    request_ms: Option<u64>,
    /// Frames replaced by a newer one before they were analysed, on this connection.
    dropped: u64,
}
