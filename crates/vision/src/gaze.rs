//! Gaze from the iris landmarks relative to the eye corners.
//!
//! The iris centres (468: the subject's right eye, 473: left) are placed on the axis through
//! each eye's corners and on its normal. That gives the eye-in-head offset; the gaze
//! direction adds the head pose. The mapping from offset to angle is a linear
//! approximation (iris at a corner ~ 45 degrees), good enough to catch eyes turned well
//! away, which is what the classifier uses it for.

use crate::{Gaze, HeadPose, blendshapes::EyeScores};

const RIGHT_IRIS: usize = 468;
const LEFT_IRIS: usize = 473;

/// Degrees of eye rotation per unit of normalised iris offset.
pub const DEG_PER_OFFSET: f32 = 45.0;

/// Iris offset in one eye: `(horizontal, vertical)`, horizontal -1..1 from the image-left
/// corner to the image-right one, vertical in eye widths, positive downward.
fn iris_offset(points: &[[f32; 3]], iris: usize, a: usize, b: usize) -> (f32, f32) {
    let (pa, pb, pi) = (points[a], points[b], points[iris]);
    let ax = [pb[0] - pa[0], pb[1] - pa[1]];
    let len2 = ax[0] * ax[0] + ax[1] * ax[1];
    if len2 <= f32::EPSILON {
        return (0.0, 0.0);
    }
    let rel = [pi[0] - pa[0], pi[1] - pa[1]];
    let t = (rel[0] * ax[0] + rel[1] * ax[1]) / len2;
    // Normal pointing down the image when the eye axis points right.
    let n = (rel[1] * ax[0] - rel[0] * ax[1]) / len2;
    (2.0 * t - 1.0, n)
}

/// Estimates where the eyes look, from the landmarks (image pixels), the head pose and the
/// eye blendshape scores.
pub fn estimate_gaze(points: &[[f32; 3]], head: &HeadPose, eyes: &EyeScores) -> Gaze {
    // Image-left corner first: for the subject's right eye that is the outer corner.
    let (rh, rv) = iris_offset(points, RIGHT_IRIS, 33, 133);
    let (lh, lv) = iris_offset(points, LEFT_IRIS, 362, 263);
    let horizontal = (rh + lh) / 2.0;
    let vertical = (rv + lv) / 2.0;
    Gaze {
        horizontal,
        vertical,
        // Iris toward image-left = eyes turned toward image-left = positive yaw.
        yaw_deg: head.yaw_deg - horizontal * DEG_PER_OFFSET,
        pitch_deg: head.pitch_deg - vertical * DEG_PER_OFFSET * 2.0,
        look_down: (eyes.look_down.left + eyes.look_down.right) / 2.0,
        look_up: (eyes.look_up.left + eyes.look_up.right) / 2.0,
    }
}
