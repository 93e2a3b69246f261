//! The attention decision: thresholds in [`Params`] and [`classify`], which turns the face
//! measurements into `focused` and a [`Reason`].
//!
//! Order of the checks: no face, then looking away, then eyes closed. Looking away wins over
//! eyes closed because eyes cast down at a phone or a desk read as nearly closed lids.

use crate::{FaceObservation, Reason};

/// Every threshold of the pipeline, with defaults chosen from measurements on the fixture
/// and evaluation photos (see `docs/vision.md` for the figures behind each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Minimum BlazeFace score for a detection. MediaPipe uses 0.5.
    pub min_detection_score: f32,
    /// IoU above which detections are merged.
    pub nms_iou: f32,
    /// Minimum landmark-model presence score to accept a face.
    pub min_presence: f32,
    /// While tracking, the presence score the previous frame's crop must keep to skip the
    /// detector on the next frame.
    pub min_tracking_presence: f32,
    /// The landmark crop is this many times the face box (MediaPipe: 1.5).
    pub roi_scale: f32,
    /// If nothing is found, look again with this much margin (fraction of the longer side,
    /// each edge) around the frame: tight face crops have no room for the detector's anchors.
    pub retry_margin: f32,
    /// Largest |yaw| still facing the screen, degrees.
    pub max_yaw_deg: f32,
    /// Largest upward pitch still facing the screen, degrees.
    pub max_pitch_up_deg: f32,
    /// Largest downward pitch still facing the screen, degrees (as a positive number).
    pub max_pitch_down_deg: f32,
    /// Largest |gaze yaw| (head plus eyes) still on the screen, degrees. Only used when the
    /// eyes are visible.
    pub max_gaze_yaw_deg: f32,
    /// The eyes count as closed when the mean of the two blink scores is at least this...
    pub closed_blink: f32,
    /// ...or the mean eye aspect ratio is below this.
    pub closed_ear: f32,
    /// Eyes are "not visible" (dark glasses) when the eye openings are darker than this
    /// fraction of the surrounding skin.
    pub min_eye_brightness_ratio: f32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            min_detection_score: 0.5,
            nms_iou: 0.3,
            min_presence: 0.5,
            min_tracking_presence: 0.7,
            roi_scale: 1.5,
            retry_margin: 0.4,
            max_yaw_deg: 25.0,
            max_pitch_up_deg: 20.0,
            max_pitch_down_deg: 28.0,
            max_gaze_yaw_deg: 40.0,
            closed_blink: 0.5,
            closed_ear: 0.12,
            min_eye_brightness_ratio: 0.15,
        }
    }
}

/// Decides focus from a face observation (or its absence).
pub fn classify(face: Option<&FaceObservation>, params: &Params) -> (bool, Option<Reason>) {
    let Some(face) = face else {
        return (false, Some(Reason::NoFace));
    };
    let pose = &face.head_pose;
    let head_away = pose.yaw_deg.abs() > params.max_yaw_deg
        || pose.pitch_deg > params.max_pitch_up_deg
        || pose.pitch_deg < -params.max_pitch_down_deg;
    let gaze_away = face.eyes_visible && face.gaze.yaw_deg.abs() > params.max_gaze_yaw_deg;
    if head_away || gaze_away {
        return (false, Some(Reason::LookingAway));
    }
    let mean = |p: &crate::EyePair| (p.left + p.right) / 2.0;
    let eyes_closed = face.eyes_visible
        && (mean(&face.blink) >= params.closed_blink
            || mean(&face.eye_openness) < params.closed_ear);
    if eyes_closed {
        return (false, Some(Reason::EyesClosed));
    }
    (true, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EyePair, Gaze, HeadPose};

    fn face(yaw: f32, pitch: f32, blink: f32, ear: f32, eyes_visible: bool) -> FaceObservation {
        FaceObservation {
            score: 1.0,
            bbox: [0.0, 0.0, 100.0, 100.0],
            eye_openness: EyePair {
                left: ear,
                right: ear,
            },
            blink: EyePair {
                left: blink,
                right: blink,
            },
            head_pose: HeadPose {
                yaw_deg: yaw,
                pitch_deg: pitch,
                roll_deg: 0.0,
            },
            gaze: Gaze {
                horizontal: 0.0,
                vertical: 0.0,
                yaw_deg: yaw,
                pitch_deg: pitch,
                look_down: 0.0,
                look_up: 0.0,
            },
            eyes_visible,
            landmarks: Vec::new(),
        }
    }

    #[test]
    fn decides_in_order_no_face_away_closed() {
        let p = Params::default();
        let open = |yaw, pitch| face(yaw, pitch, 0.1, 0.3, true);
        let cases = [
            (None, false, Some(Reason::NoFace)),
            (Some(open(0.0, 0.0)), true, None),
            (Some(open(24.0, -27.0)), true, None),
            (Some(open(-26.0, 0.0)), false, Some(Reason::LookingAway)),
            (Some(open(0.0, 21.0)), false, Some(Reason::LookingAway)),
            (Some(open(0.0, -29.0)), false, Some(Reason::LookingAway)),
            (
                Some(face(0.0, 0.0, 0.8, 0.05, true)),
                false,
                Some(Reason::EyesClosed),
            ),
            // Head away beats closed-looking eyes (eyes cast down at a desk).
            (
                Some(face(0.0, -35.0, 0.8, 0.05, true)),
                false,
                Some(Reason::LookingAway),
            ),
            // One blink score under the threshold, the mean over it: closed.
            (
                Some(face(0.0, 0.0, 0.55, 0.13, true)),
                false,
                Some(Reason::EyesClosed),
            ),
        ];
        for (face, focused, reason) in cases {
            assert_eq!(classify(face.as_ref(), &p), (focused, reason), "{face:?}");
        }
    }

    #[test]
    fn eyes_that_cannot_be_seen_are_not_called_closed() {
        // Dark glasses: the mesh may read the lenses as shut lids.
        let sunglasses = face(0.0, 0.0, 0.9, 0.02, false);
        assert_eq!(
            classify(Some(&sunglasses), &Params::default()),
            (true, None)
        );
    }

    #[test]
    fn gaze_far_to_the_side_is_looking_away_only_when_the_eyes_are_seen() {
        let mut f = face(10.0, 0.0, 0.1, 0.3, true);
        f.gaze.yaw_deg = 50.0;
        assert_eq!(
            classify(Some(&f), &Params::default()),
            (false, Some(Reason::LookingAway))
        );
        f.eyes_visible = false;
        assert_eq!(classify(Some(&f), &Params::default()), (true, None));
    }
}
