//! Where the eyes look: an eye-in-head model from the iris centres, added to the head pose.
//!
//! The model: each eye is a ball turning about its centre, and the iris centre sits on the
//! ball's surface [`IRIS_RADIUS`] eye widths from that centre (about 10 mm from the centre of
//! rotation to the iris plane, for a 29 mm wide eye). Looking straight ahead in the head, the
//! iris centre sits [`REST_UP`] eye widths above the midpoint of the eye corners and
//! [`REST_FORWARD`] eye widths in front of it (in MediaPipe's canonical face the lid centres
//! stand 0.36 cm in front of the corners of a 2.59 cm eye). So the ball's centre is the rest
//! point moved back by the radius.
//!
//! The face mesh gives good image positions for the iris centres (468 for the subject's right
//! eye, 473 for the left) but not a usable depth for them, so each iris is placed on its ball
//! by casting the camera ray through its image position: under the weak perspective of the
//! head-pose fit ([`crate::pose`]) that ray is the camera's z axis seen from the head. The
//! nearer of the two points where it meets the ball is the iris; when the ray misses the ball
//! (noise, at the edge of the eye) the closest point on the ball is used. The two eyes'
//! directions are averaged.
//!
//! Measured error and how the three constants were chosen: `docs/vision.md` ("Gaze").

use nalgebra::{Matrix3, Vector3};

use crate::{
    Gaze,
    blendshapes::EyeScores,
    pose::{PoseFit, camera_point},
};

/// Distance from an eye's centre of rotation to its iris centre, in eye widths (corner to
/// corner): 10 mm over 29 mm, from anatomy.
pub const IRIS_RADIUS: f32 = 0.35;
/// Height of the iris centre above the midpoint of the eye corners when the eye looks
/// straight ahead in the head, in eye widths. Chosen on the choosing half of the evaluation
/// photos (faces that look into the camera): 0.05.
pub const REST_UP: f32 = 0.05;
/// How far the iris centre stands in front of the eye corners' midpoint when looking ahead,
/// in eye widths: 0.14, from the canonical face's lid centres.
pub const REST_FORWARD: f32 = 0.14;

/// One eye's landmarks: iris centre, then the two corners.
struct EyeLandmarks {
    iris: usize,
    outer: usize,
    inner: usize,
}

const RIGHT_EYE: EyeLandmarks = EyeLandmarks {
    iris: 468,
    outer: 33,
    inner: 133,
};
const LEFT_EYE: EyeLandmarks = EyeLandmarks {
    iris: 473,
    outer: 263,
    inner: 362,
};

/// The unit direction an eye looks in, in the head frame (x toward the subject's left, y up,
/// z out of the face), or `None` if its landmarks are missing or degenerate.
fn eye_direction(points: &[[f32; 3]], fit: &PoseFit, eye: &EyeLandmarks) -> Option<Vector3<f32>> {
    let (iris, outer, inner) = (
        points.get(eye.iris)?,
        points.get(eye.outer)?,
        points.get(eye.inner)?,
    );
    if fit.scale <= f32::EPSILON {
        return None;
    }
    let r_t: Matrix3<f32> = fit.rotation.transpose();
    let to_head = |p: Vector3<f32>| r_t * (p - fit.translation) / fit.scale;
    let (a, b) = (to_head(camera_point(*outer)), to_head(camera_point(*inner)));
    let width = (a - b).norm();
    if width <= f32::EPSILON {
        return None;
    }
    let radius = IRIS_RADIUS * width;
    let rest = (a + b) / 2.0 + Vector3::new(0.0, REST_UP * width, REST_FORWARD * width);
    let centre = rest - Vector3::new(0.0, 0.0, radius);
    // The camera ray through the iris's image position: depth 0, then along the camera's z.
    let q0 = to_head(Vector3::new(iris[0], -iris[1], 0.0));
    let view = r_t * Vector3::z();
    let d = q0 - centre;
    let b_half = d.dot(&view);
    let disc = b_half * b_half - (d.norm_squared() - radius * radius);
    // The nearer intersection (toward the camera), or the closest point when it misses.
    let mu = if disc >= 0.0 {
        -b_half + disc.sqrt()
    } else {
        -b_half
    };
    let dir = (q0 + view * mu - centre).try_normalize(f32::EPSILON)?;
    dir.iter().all(|v| v.is_finite()).then_some(dir)
}

/// Yaw and pitch (degrees) of a direction, in the conventions of [`crate::HeadPose`].
fn yaw_pitch(v: &Vector3<f32>) -> (f32, f32) {
    (
        (-v.x).atan2(v.z).to_degrees(),
        v.y.clamp(-1.0, 1.0).asin().to_degrees(),
    )
}

/// How far an iris sits below the line through its eye's corners, in eye widths (image
/// plane; positive = lower).
fn iris_drop(points: &[[f32; 3]], eye: &EyeLandmarks) -> Option<f32> {
    let (pi, pa, pb) = (
        points.get(eye.iris)?,
        points.get(eye.outer)?,
        points.get(eye.inner)?,
    );
    // Corner axis from the image-left corner to the image-right one.
    let (pa, pb) = if pa[0] <= pb[0] { (pa, pb) } else { (pb, pa) };
    let ax = [pb[0] - pa[0], pb[1] - pa[1]];
    let len2 = ax[0] * ax[0] + ax[1] * ax[1];
    if len2 <= f32::EPSILON {
        return None;
    }
    let rel = [pi[0] - pa[0], pi[1] - pa[1]];
    // The axis's normal pointing down the image.
    Some((rel[1] * ax[0] - rel[0] * ax[1]) / len2)
}

/// Estimates where the eyes look from the landmarks (image pixels), the head-pose fit and
/// the eye blendshape scores. Without usable eye landmarks the eyes are taken to look
/// straight ahead in the head.
pub fn estimate_gaze(points: &[[f32; 3]], fit: &PoseFit, eyes: &EyeScores) -> Gaze {
    let directions = [RIGHT_EYE, LEFT_EYE].map(|e| eye_direction(points, fit, &e));
    let in_head = match directions {
        [Some(r), Some(l)] => (r + l).try_normalize(f32::EPSILON),
        [Some(one), None] | [None, Some(one)] => Some(one),
        [None, None] => None,
    }
    .unwrap_or_else(Vector3::z);
    let in_camera = fit.rotation * in_head;
    let (eye_yaw_deg, eye_pitch_deg) = yaw_pitch(&in_head);
    let (yaw_deg, pitch_deg) = yaw_pitch(&in_camera);
    let drops: Vec<f32> = [RIGHT_EYE, LEFT_EYE]
        .iter()
        .filter_map(|e| iris_drop(points, e))
        .collect();
    let iris_drop = if drops.is_empty() {
        0.0
    } else {
        drops.iter().sum::<f32>() / drops.len() as f32
    };
    Gaze {
        eye_yaw_deg,
        eye_pitch_deg,
        yaw_deg,
        pitch_deg,
        iris_drop,
        look_down: (eyes.look_down.left + eyes.look_down.right) / 2.0,
        look_up: (eyes.look_up.left + eyes.look_up.right) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EyePair;
    use nalgebra::Rotation3;

    fn scores() -> EyeScores {
        let zero = EyePair {
            left: 0.0,
            right: 0.0,
        };
        EyeScores {
            blink: zero,
            look_down: zero,
            look_up: zero,
            look_in: zero,
            look_out: zero,
        }
    }

    /// Landmarks of a synthetic head: eye corners of a 3 cm eye at the canonical spots, and
    /// irises placed by the model itself for eyes turned by `eye_yaw`/`eye_pitch` (degrees)
    /// in the head; the head turned by `rotation`, scaled and moved into image pixels.
    fn head(rotation: Rotation3<f32>, eye_yaw: f32, eye_pitch: f32) -> (Vec<[f32; 3]>, PoseFit) {
        let scale = 20.0;
        let translation = Vector3::new(320.0, -240.0, 0.0);
        let fit = PoseFit {
            rotation: *rotation.matrix(),
            scale,
            translation,
            rms_residual: 0.0,
        };
        let mut points = vec![[0.0f32; 3]; 478];
        let place = |q: Vector3<f32>| {
            let p = rotation * q * scale + translation;
            [p.x, -p.y, -p.z]
        };
        let (y, p) = (eye_yaw.to_radians(), eye_pitch.to_radians());
        let look = Vector3::new(-y.sin() * p.cos(), p.sin(), y.cos() * p.cos());
        for (eye, sign) in [(RIGHT_EYE, -1.0f32), (LEFT_EYE, 1.0)] {
            let outer = Vector3::new(sign * 4.5, 2.6, 3.2);
            let inner = Vector3::new(sign * 1.5, 2.6, 3.7);
            let w = (outer - inner).norm();
            let rest = (outer + inner) / 2.0 + Vector3::new(0.0, REST_UP * w, REST_FORWARD * w);
            let centre = rest - Vector3::new(0.0, 0.0, IRIS_RADIUS * w);
            points[eye.outer] = place(outer);
            points[eye.inner] = place(inner);
            points[eye.iris] = place(centre + look * IRIS_RADIUS * w);
        }
        (points, fit)
    }

    #[test]
    fn recovers_eye_rotations_under_a_turned_head() {
        for (head_yaw, head_pitch) in [(0.0f32, 0.0f32), (25.0, -10.0), (-30.0, 15.0)] {
            // Yaw > 0 turns the face toward image-left: about +y by -yaw (see pose tests).
            let rotation = Rotation3::from_axis_angle(&Vector3::y_axis(), -head_yaw.to_radians())
                * Rotation3::from_axis_angle(&Vector3::x_axis(), -head_pitch.to_radians());
            for (eye_yaw, eye_pitch) in [(0.0f32, 0.0f32), (20.0, 0.0), (-15.0, -10.0)] {
                let (points, fit) = head(rotation, eye_yaw, eye_pitch);
                let g = estimate_gaze(&points, &fit, &scores());
                assert!(
                    (g.eye_yaw_deg - eye_yaw).abs() < 0.5
                        && (g.eye_pitch_deg - eye_pitch).abs() < 0.5,
                    "head {head_yaw}/{head_pitch}, eyes {eye_yaw}/{eye_pitch}: got {g:?}"
                );
            }
        }
    }

    #[test]
    fn eyes_turned_back_to_the_camera_cancel_the_head_turn() {
        // Head turned 25 degrees, eyes turned 25 degrees back: the gaze meets the camera.
        let rotation = Rotation3::from_axis_angle(&Vector3::y_axis(), -25f32.to_radians());
        let (points, fit) = head(rotation, -25.0, 0.0);
        let g = estimate_gaze(&points, &fit, &scores());
        assert!(g.yaw_deg.abs() < 0.5, "{g:?}");
        assert!(g.pitch_deg.abs() < 0.5, "{g:?}");
        // And with the eyes following the head, the gaze is the head's.
        let (points, fit) = head(rotation, 0.0, 0.0);
        let g = estimate_gaze(&points, &fit, &scores());
        assert!((g.yaw_deg - 25.0).abs() < 0.5, "{g:?}");
    }

    #[test]
    fn missing_eye_landmarks_mean_eyes_straight_ahead() {
        let rotation = Rotation3::from_axis_angle(&Vector3::y_axis(), -10f32.to_radians());
        let (mut points, fit) = head(rotation, 20.0, 0.0);
        points.truncate(400);
        let g = estimate_gaze(&points, &fit, &scores());
        assert_eq!(g.eye_yaw_deg, 0.0);
        assert!((g.yaw_deg - 10.0).abs() < 1e-3, "{g:?}");
    }
}
