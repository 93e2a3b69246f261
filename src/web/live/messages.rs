//! The messages the server sends on the live socket: state (for a frame or a tick), errors
//! and the end. Their JSON is the protocol `docs/api.md` documents.

use focus_vision::FrameAnalysis;
use serde::Serialize;

use super::stats::StreamView;
use crate::session::{LiveState, SessionSummary};

/// A reply to a frame.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum Reply {
    State(Box<StateReply>),
    Error(ErrorReply),
}

/// The live state: the clock's numbers, plus for frame replies the face and the frame's
/// own verdict (the clock's state is debounced and lags it slightly).
#[derive(Debug, Serialize)]
pub(super) struct StateReply {
    /// `frame` (answers a frame) or `tick` (sent without one).
    source: &'static str,
    #[serde(flatten)]
    state: LiveState,
    face: Option<FaceView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<Verdict>,
    /// What the server measured of the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stream: Option<StreamView>,
}

impl StateReply {
    pub(super) fn tick(state: LiveState, stream: StreamView) -> Self {
        StateReply {
            source: "tick",
            state,
            face: None,
            verdict: None,
            stream: Some(stream),
        }
    }

    pub(super) fn frame(state: LiveState, analysis: &FrameAnalysis) -> Self {
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
                zone: analysis.zone.clone(),
            }),
            stream: None,
        }
    }
}

/// The face found in the frame, in the frame's pixels.
#[derive(Debug, Serialize)]
pub(super) struct FaceView {
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
pub(super) struct Verdict {
    focused: bool,
    reason: Option<&'static str>,
    /// Focused on one of the profile's extra zones ("notes") rather than the screen: its
    /// name; `null` otherwise.
    zone: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct ErrorReply {
    error: &'static str,
    detail: String,
    /// `frame` when it answers a frame (the page may send the next one).
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
}

impl ErrorReply {
    pub(super) fn frame(error: &'static str, detail: impl Into<String>) -> Self {
        ErrorReply {
            error,
            detail: detail.into(),
            source: Some("frame"),
        }
    }

    pub(super) fn other(error: &'static str, detail: impl Into<String>) -> Self {
        ErrorReply {
            error,
            detail: detail.into(),
            source: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct EndedReply {
    ended: bool,
    summary: SessionSummary,
}

impl EndedReply {
    pub(super) fn new(summary: SessionSummary) -> Self {
        EndedReply {
            ended: true,
            summary,
        }
    }
}
