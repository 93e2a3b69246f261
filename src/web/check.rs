//! `POST /api/frames/check`: the camera preview's framing check before a session starts.
//!
//! The body is one camera frame (JPEG or PNG, at most `max_frame_bytes`, the live socket's
//! limit). The answer says in words whether a face was found, whether it is centred, near
//! enough and lit well enough, and what to fix. No session is involved and nothing is kept:
//! the frame is analysed in memory and dropped, never stored or logged, like a live frame.
//!
//! One check runs at a time for the whole server ([`crate::vision::Vision::check_framing`]);
//! a second one meanwhile gets 429 with `Retry-After: 1`, so a page polling its preview can
//! never queue work up behind the live sessions.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use focus_vision::FrameAnalysis;
use focus_vision::framing::{Framing, FramingProblem};
use serde::Serialize;

use super::AppState;
use crate::error::error_chain;
use crate::vision::{AnalyzeError, CheckError, FrameCheck};
use crate::web::error::AppError;

/// `POST /api/frames/check`: one frame in, the framing verdict and advice out.
pub async fn check_frame(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<FrameCheckView>, AppError> {
    let limit = state.config.limits.max_frame_bytes;
    let frame = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::FrameTooLarge(limit)
        } else {
            AppError::BadRequest(format!(
                "the frame could not be read: {}",
                rejection.body_text()
            ))
        }
    })?;
    if frame.is_empty() {
        return Err(AppError::UnusableFrame(
            "the body is empty; send one camera frame (a JPEG image) as the request body".into(),
        ));
    }
    let check = state
        .sessions
        .vision()
        .check_framing(frame)
        .await
        .map_err(|e| match e {
            CheckError::Busy => {
                AppError::Busy("another framing check is running; try again in a second".into())
            }
            CheckError::Analyze(AnalyzeError::Frame(e)) => AppError::UnusableFrame(e.to_string()),
            CheckError::Analyze(AnalyzeError::Busy) => AppError::Busy(
                "the server is busy analysing other frames; try again in a second".into(),
            ),
            CheckError::Analyze(e) => {
                tracing::error!(error = %error_chain(&e), "framing check failed");
                AppError::AnalysisFailed
            }
        })?;
    Ok(Json(FrameCheckView::from(&check)))
}

/// The framing check as the API returns it (`docs/api.md`).
#[derive(Debug, Serialize)]
pub struct FrameCheckView {
    /// Nothing to fix: the session can start as it is.
    pub good: bool,
    /// The verdict in one short sentence ("Ready: …" or the main thing to fix).
    pub headline: String,
    pub face_found: bool,
    /// `null` without a face.
    pub centred: Option<bool>,
    /// `null` without a face.
    pub near_enough: Option<bool>,
    pub enough_light: bool,
    /// `no_face`, `too_dark`, `cut_off`, `too_far`, `too_close`, `off_centre`; most important
    /// first.
    pub problems: Vec<FramingProblem>,
    /// What to do about each problem, in words, in the same order.
    pub advice: Vec<String>,
    /// This frame's own attention verdict (uncalibrated, one frame).
    pub focused: bool,
    /// Why not focused: `no_face`, `eyes_closed`, `looking_away`.
    pub reason: Option<&'static str>,
    /// Mean luma, 0-255, of the face (`null` without one) and of the whole frame.
    pub face_luma: Option<f32>,
    pub frame_luma: f32,
    /// Where the face is, in the frame's pixels; `null` without a face.
    pub face: Option<FaceView>,
}

/// The face as found in the frame (camera coordinates, not mirrored).
#[derive(Debug, Serialize)]
pub struct FaceView {
    /// `[x0, y0, x1, y1]`, origin top-left, in pixels of the frame as sent.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    /// The face's centre minus the frame's centre, as fractions of the frame's width and
    /// height (`[x, y]`, positive right and down in the camera's picture).
    pub offset: [f32; 2],
    /// The face's width as a fraction of the frame's.
    pub width: f32,
    pub image_width: u32,
    pub image_height: u32,
}

impl From<&FrameCheck> for FrameCheckView {
    fn from(check: &FrameCheck) -> Self {
        let FrameCheck { analysis, framing } = check;
        let face_found = analysis.face.is_some();
        let advice: Vec<String> = framing
            .problems
            .iter()
            .map(|&p| advice(p, framing))
            .collect();
        FrameCheckView {
            good: framing.is_good(),
            headline: headline(analysis, framing),
            face_found,
            centred: face_found.then(|| !framing.has(FramingProblem::OffCentre)),
            near_enough: face_found.then(|| !framing.has(FramingProblem::TooFar)),
            enough_light: !framing.has(FramingProblem::TooDark),
            problems: framing.problems.clone(),
            advice,
            focused: analysis.focused,
            reason: analysis.reason.map(|r| r.as_str()),
            face_luma: framing.face_luma.map(round1),
            frame_luma: round1(framing.frame_luma),
            face: analysis
                .face
                .as_ref()
                .zip(framing.placement)
                .map(|(face, placement)| FaceView {
                    bbox: face.bbox.map(round1),
                    offset: placement.offset.map(|v| (v * 1000.0).round() / 1000.0),
                    width: (placement.width * 1000.0).round() / 1000.0,
                    image_width: analysis.image_size.0,
                    image_height: analysis.image_size.1,
                }),
        }
    }
}

fn round1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

/// The verdict in one sentence.
fn headline(analysis: &FrameAnalysis, framing: &Framing) -> String {
    let Some(first) = framing.problems.first() else {
        return if analysis.focused {
            "Ready: your face is found, centred and well lit.".into()
        } else {
            // Framing is fine; the frame's own verdict is not (eyes closed, turned away).
            "Ready: your face is found, centred and well lit. Face the screen when you start."
                .into()
        };
    };
    match first {
        FramingProblem::NoFace if framing.has(FramingProblem::TooDark) => {
            "No face found: the picture is too dark."
        }
        FramingProblem::NoFace => "No face found.",
        FramingProblem::TooDark => "Face found, but there is not enough light on it.",
        FramingProblem::CutOff => "Face found, but part of it is out of the picture.",
        FramingProblem::TooFar => "Face found, but you are far from the camera.",
        FramingProblem::TooClose => "Face found, but you are very close to the camera.",
        FramingProblem::OffCentre => "Face found, but not in the middle of the picture.",
    }
    .into()
}

/// What to do about `problem`, in words. Directions are the person's own: the camera sees
/// them from the front, so a face on the picture's right is a person off to their left.
fn advice(problem: FramingProblem, framing: &Framing) -> String {
    match problem {
        FramingProblem::NoFace => {
            "Sit in front of the camera, facing the screen, with nothing covering the lens.".into()
        }
        FramingProblem::TooDark => match framing.face_luma {
            // A bright frame round a dark face: the light comes from behind.
            Some(face) if framing.frame_luma > 1.5 * face => {
                "Your face is in shadow, probably from a bright window or lamp behind you: \
                 light your face from the front, or turn away from the window."
                    .into()
            }
            _ => "Turn on a light in front of you or nearby.".into(),
        },
        FramingProblem::CutOff => {
            "Move back a little, or move to the middle, so your whole face is in the picture."
                .into()
        }
        FramingProblem::TooFar => "Move closer to the camera (about an arm's length).".into(),
        FramingProblem::TooClose => "Move back from the camera a little.".into(),
        FramingProblem::OffCentre => {
            let [dx, dy] = framing.placement.map_or([0.0, 0.0], |p| p.offset);
            let limit = 1.0 / 6.0;
            let mut moves = Vec::new();
            if dx > limit {
                moves.push("move a little to your right");
            } else if dx < -limit {
                moves.push("move a little to your left");
            }
            if dy > limit {
                moves.push("tilt the camera (or the screen it sits on) down a little");
            } else if dy < -limit {
                moves.push("tilt the camera (or the screen it sits on) up a little");
            }
            let text = if moves.is_empty() {
                "Move to the middle of the picture".to_string()
            } else {
                let joined = moves.join(", and ");
                let mut chars = joined.chars();
                chars.next().map_or(String::new(), |c| {
                    c.to_uppercase().collect::<String>() + chars.as_str()
                })
            };
            format!("{text}, so your face is in the middle of the picture.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use focus_vision::framing::Placement;

    fn framing(problems: Vec<FramingProblem>, offset: [f32; 2], face_luma: f32) -> Framing {
        Framing {
            face_luma: Some(face_luma),
            frame_luma: 100.0,
            placement: Some(Placement { offset, width: 0.3 }),
            problems,
        }
    }

    #[test]
    fn directions_are_the_persons_own() {
        // The face on the camera picture's right: the person sits to their own left.
        let f = framing(vec![FramingProblem::OffCentre], [0.3, 0.0], 120.0);
        assert_eq!(
            advice(FramingProblem::OffCentre, &f),
            "Move a little to your right, so your face is in the middle of the picture."
        );
        let f = framing(vec![FramingProblem::OffCentre], [-0.3, 0.25], 120.0);
        assert_eq!(
            advice(FramingProblem::OffCentre, &f),
            "Move a little to your left, and tilt the camera (or the screen it sits on) down \
             a little, so your face is in the middle of the picture."
        );
    }

    #[test]
    fn a_dark_face_before_a_bright_background_is_called_backlit() {
        let f = framing(vec![FramingProblem::TooDark], [0.0, 0.0], 40.0);
        assert!(advice(FramingProblem::TooDark, &f).contains("window"));
        let f = Framing {
            frame_luma: 45.0,
            ..framing(vec![FramingProblem::TooDark], [0.0, 0.0], 40.0)
        };
        assert_eq!(
            advice(FramingProblem::TooDark, &f),
            "Turn on a light in front of you or nearby."
        );
    }
}
