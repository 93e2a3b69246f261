//! Head pose from a weighted Procrustes (Kabsch with scale) fit of the landmarks to
//! MediaPipe's canonical face, under weak perspective.
//!
//! Frames: landmarks are turned into a right-handed camera frame with x to image-right,
//! y up and z toward the camera (`(x, -y, -z)`). The canonical face has x toward the
//! subject's left, y up, z out of the face, so a frontal face fits with the identity.
//! Angles (degrees), as in the AFLW2000-3D labels:
//! - yaw > 0: the face turns toward image-left (the subject's right);
//! - pitch > 0: the head tilts up;
//! - roll > 0: the head tilts clockwise on screen (the line from the subject's right eye to
//!   their left eye turns clockwise).
//!
//! and in their order: the labels (3DDFA's `RotationMatrix`, which made AFLW2000-3D and
//! 300W-LP) compose the head's rotation as `R = Rx(pitch) * Ry(yaw) * Rz(roll)`, pitch
//! outermost, so the fitted rotation is read back the same way. When the head is both turned
//! and tilted this differs from reading yaw first (`Ry * Rx * Rz`): a head at 30 deg of yaw
//! and 20 of pitch in the labels' order reads 31.6 and 17.2 that way (docs/vision.md,
//! "Conventions").

use nalgebra::{Matrix3, Vector3};

use crate::{HeadPose, models::CanonicalFace};

/// A similarity transform `p = scale * rotation * c + translation` from canonical to camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseFit {
    pub rotation: Matrix3<f32>,
    pub scale: f32,
    pub translation: Vector3<f32>,
    /// Weighted RMS residual of the fit, in landmark units (pixels).
    pub rms_residual: f32,
}

impl PoseFit {
    /// Yaw, pitch and roll of the fitted rotation, decomposed as
    /// `Rx(-pitch) * Ry(-yaw) * Rz(-roll)` (the labels' order; the signs turn the standard
    /// right-handed rotations about the camera axes into the documented ones).
    pub fn angles(&self) -> HeadPose {
        let r = &self.rotation;
        // Where the face's forward axis (canonical +z) and its ear-to-ear axis (+x) point:
        // forward = (-sin yaw, sin pitch cos yaw, cos pitch cos yaw).
        let forward = r * Vector3::z();
        let across = r * Vector3::x();
        let yaw = (-forward.x).clamp(-1.0, 1.0).asin();
        let pitch = forward.y.atan2(forward.z);
        // Roll: the ear-to-ear axis against where it would lie with no roll, Rx * Ry * x,
        // and the matching up axis, Rx * y.
        let (sy, cy) = yaw.sin_cos();
        let (sp, cp) = pitch.sin_cos();
        let across_unrolled = Vector3::new(cy, sp * sy, cp * sy);
        let up_unrolled = Vector3::new(0.0, cp, -sp);
        let roll = -across.dot(&up_unrolled).atan2(across.dot(&across_unrolled));
        HeadPose {
            yaw_deg: yaw.to_degrees(),
            pitch_deg: pitch.to_degrees(),
            roll_deg: roll.to_degrees(),
        }
    }
}

/// Fits the canonical face to `landmarks` (image pixels, `(x, y, z)`, y down, z smaller
/// nearer the camera) with the canonical Procrustes weights.
pub fn fit_head_pose(landmarks: &[[f32; 3]], canonical: &CanonicalFace) -> Option<PoseFit> {
    let pairs: Vec<Pair> = canonical
        .procrustes_weights
        .iter()
        .filter_map(|&(i, w)| {
            let p = landmarks.get(i)?;
            let c = canonical.vertices.get(i)?;
            Some((
                Vector3::new(c[0], c[1], c[2]),
                Vector3::new(p[0], -p[1], -p[2]),
                w,
            ))
        })
        .collect();
    weighted_procrustes(&pairs)
}

/// A source point, its target and the pair's weight.
type Pair = (Vector3<f32>, Vector3<f32>, f32);

/// Least-squares similarity transform taking each source point onto its target.
fn weighted_procrustes(pairs: &[Pair]) -> Option<PoseFit> {
    let total: f32 = pairs.iter().map(|p| p.2).sum();
    if pairs.len() < 3 || total <= 0.0 {
        return None;
    }
    let mean = |f: fn(&Pair) -> Vector3<f32>| {
        pairs.iter().map(|p| f(p) * p.2).sum::<Vector3<f32>>() / total
    };
    let src_mean = mean(|p| p.0);
    let dst_mean = mean(|p| p.1);
    let mut cov = Matrix3::zeros();
    let mut src_var = 0.0;
    for (s, d, w) in pairs {
        let (s, d) = (s - src_mean, d - dst_mean);
        cov += d * s.transpose() * *w;
        src_var += w * s.norm_squared();
    }
    let svd = cov.svd(true, true);
    let (u, v_t) = (svd.u?, svd.v_t?);
    let d = (u * v_t).determinant().signum();
    let fix = Matrix3::from_diagonal(&Vector3::new(1.0, 1.0, d));
    let rotation = u * fix * v_t;
    let sv = svd.singular_values;
    let scale = (sv[0] + sv[1] + d * sv[2]) / src_var;
    let translation = dst_mean - rotation * src_mean * scale;
    let residual: f32 = pairs
        .iter()
        .map(|(s, dst, w)| w * (rotation * s * scale + translation - dst).norm_squared())
        .sum();
    let fit = PoseFit {
        rotation,
        scale,
        translation,
        rms_residual: (residual / total).sqrt(),
    };
    fit.rotation.iter().all(|v| v.is_finite()).then_some(fit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Rotation3;

    fn cloud() -> Vec<Vector3<f32>> {
        vec![
            Vector3::new(-3.0, 2.0, 1.0),
            Vector3::new(3.0, 2.0, 1.0),
            Vector3::new(0.0, 0.0, 3.0),
            Vector3::new(-2.0, -3.0, 0.5),
            Vector3::new(2.0, -3.0, 0.5),
            Vector3::new(0.0, 4.0, 0.0),
        ]
    }

    #[test]
    fn recovers_a_known_similarity_transform() {
        let rot = Rotation3::from_euler_angles(0.2, -0.4, 0.1);
        let t = Vector3::new(100.0, -50.0, 7.0);
        let pairs: Vec<_> = cloud()
            .into_iter()
            .map(|c| (c, rot * c * 12.5 + t, 1.0))
            .collect();
        let fit = weighted_procrustes(&pairs).expect("fit");
        assert!((fit.scale - 12.5).abs() < 1e-3, "scale {}", fit.scale);
        assert!((fit.rotation - rot.matrix()).abs().max() < 1e-4);
        assert!((fit.translation - t).abs().max() < 1e-2);
        assert!(fit.rms_residual < 1e-2);
    }

    #[test]
    fn angles_follow_the_documented_signs() {
        let fit = |r: Rotation3<f32>| PoseFit {
            rotation: *r.matrix(),
            scale: 1.0,
            translation: Vector3::zeros(),
            rms_residual: 0.0,
        };
        // Turning about the up axis so the nose goes toward image-left (-x): yaw > 0.
        let yaw = fit(Rotation3::from_axis_angle(&Vector3::y_axis(), -0.5)).angles();
        assert!((yaw.yaw_deg - 0.5f32.to_degrees()).abs() < 1e-3, "{yaw:?}");
        assert!(yaw.pitch_deg.abs() < 1e-3 && yaw.roll_deg.abs() < 1e-3);
        // Nose up: pitch > 0.
        let pitch = fit(Rotation3::from_axis_angle(&Vector3::x_axis(), -0.3)).angles();
        assert!(
            (pitch.pitch_deg - 0.3f32.to_degrees()).abs() < 1e-3,
            "{pitch:?}"
        );
        // Clockwise on screen about the view axis (negative about +z, y up): roll > 0.
        let roll = fit(Rotation3::from_axis_angle(&Vector3::z_axis(), -0.35)).angles();
        assert!(
            (roll.roll_deg - 0.35f32.to_degrees()).abs() < 1e-3,
            "{roll:?}"
        );
        assert!(roll.yaw_deg.abs() < 1e-3);
    }

    #[test]
    fn a_turned_and_tilted_head_reads_in_the_labels_order() {
        // Built as AFLW2000-3D's labels compose it, pitch outermost: Rx * Ry * Rz.
        let (yaw, pitch, roll) = (30f32.to_radians(), -25f32.to_radians(), 15f32.to_radians());
        let r = Rotation3::from_axis_angle(&Vector3::x_axis(), -pitch)
            * Rotation3::from_axis_angle(&Vector3::y_axis(), -yaw)
            * Rotation3::from_axis_angle(&Vector3::z_axis(), -roll);
        let angles = PoseFit {
            rotation: *r.matrix(),
            scale: 1.0,
            translation: Vector3::zeros(),
            rms_residual: 0.0,
        }
        .angles();
        assert!((angles.yaw_deg - 30.0).abs() < 1e-3, "{angles:?}");
        assert!((angles.pitch_deg + 25.0).abs() < 1e-3, "{angles:?}");
        assert!((angles.roll_deg - 15.0).abs() < 1e-3, "{angles:?}");
    }
}
