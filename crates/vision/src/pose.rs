//! Head pose from a fit of MediaPipe's canonical face to the landmarks, under weak
//! perspective: a weighted Procrustes (Kabsch with scale) in 3D to start, then refined on the
//! landmarks' image positions alone (docs/vision.md, "Head pose").
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

use nalgebra::{Matrix3, Matrix6x3, Rotation3, Vector2, Vector3, Vector6};

use crate::{HeadPose, models::CanonicalFace};

/// A similarity transform `p = scale * rotation * c + translation` from canonical to camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseFit {
    pub rotation: Matrix3<f32>,
    pub scale: f32,
    pub translation: Vector3<f32>,
    /// RMS residual of the fit, in landmark units (pixels): of the image positions once
    /// refined on them ([`fit_head_pose`]), else weighted and in 3D.
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
/// nearer the camera): first the weighted 3D Procrustes fit on the canonical weights, then,
/// from there, the rotation, scale and image shift that best place the canonical face's 468
/// points, under weak perspective, on the landmarks' image positions (equal weights; the
/// mesh's depth is not used, see [`refine_on_image`]). `None` if the landmarks are degenerate.
pub fn fit_head_pose(landmarks: &[[f32; 3]], canonical: &CanonicalFace) -> Option<PoseFit> {
    let start = weighted_procrustes(&weighted_pairs(landmarks, canonical))?;
    let n = MESH_POINTS
        .min(landmarks.len())
        .min(canonical.vertices.len());
    let points: Vec<(Vector3<f32>, Vector3<f32>)> = (0..n)
        .map(|i| {
            (
                Vector3::from(canonical.vertices[i]),
                camera_point(landmarks[i]),
            )
        })
        .collect();
    Some(refine_on_image(&points, start).unwrap_or(start))
}

/// A landmark (image pixels, y down, z smaller nearer the camera) in the camera frame above:
/// x right, y up, z toward the camera.
pub(crate) fn camera_point(p: [f32; 3]) -> Vector3<f32> {
    Vector3::new(p[0], -p[1], -p[2])
}

/// The canonical points with MediaPipe's Procrustes weights, each with its landmark.
fn weighted_pairs(landmarks: &[[f32; 3]], canonical: &CanonicalFace) -> Vec<Pair> {
    canonical
        .procrustes_weights
        .iter()
        .filter_map(|&(i, w)| {
            let p = landmarks.get(i)?;
            let c = canonical.vertices.get(i)?;
            Some((Vector3::from(*c), camera_point(*p), w))
        })
        .collect()
}

/// The face mesh's own points (the 10 iris points after them move with the eyes).
const MESH_POINTS: usize = 468;

/// Gauss-Newton iterations of [`refine_on_image`] at most (it stops earlier once a step
/// turns the head by less than 1e-9 rad).
const REFINE_ITERATIONS: usize = 20;

/// Refines `start` so that the canonical points, turned, scaled and shifted, fall on the
/// landmarks' image positions: least squares over `(x, y)` only, every point weighted
/// equally, under weak perspective (the model the AFLW2000-3D pose labels were fitted
/// with, on 2D landmarks). The mesh's depth output is left out: the network learnt its image
/// positions from annotated real photos and its depth from synthetic renders only, and with
/// its depth the fit reads turned heads short (docs/vision.md, "Head pose"). The depth of the
/// shift keeps the mesh's mean depth, for the gaze model. `None` if the normal equations are
/// singular or the result is not finite.
///
/// Gauss-Newton on a small turn `w` (`rotation <- exp([w]x) * rotation`), the scale and the
/// shift. The residuals are linear in each canonical point `c`, so every sum the normal
/// equations need follows from a few moments of the points (`sum c c^T`, `sum x c`, ...),
/// taken once: an iteration costs the same whatever the number of points.
fn refine_on_image(points: &[(Vector3<f32>, Vector3<f32>)], start: PoseFit) -> Option<PoseFit> {
    if points.len() < 4 {
        return None;
    }
    let n = points.len() as f64;
    let (mut sc, mut scc) = (Vector3::<f64>::zeros(), Matrix3::<f64>::zeros());
    let (mut spx, mut spy) = (Vector3::<f64>::zeros(), Vector3::<f64>::zeros());
    let (mut sp, mut spp) = (Vector3::<f64>::zeros(), 0.0);
    for (c, p) in points {
        let (c, p) = (c.cast::<f64>(), p.cast::<f64>());
        sc += c;
        scc += c * c.transpose();
        spx += c * p.x;
        spy += c * p.y;
        sp += p;
        spp += p.x * p.x + p.y * p.y;
    }
    let mut rotation = start.rotation.cast::<f64>();
    let mut scale = f64::from(start.scale);
    let mut shift = Vector2::new(
        f64::from(start.translation.x),
        f64::from(start.translation.y),
    );
    // Sums over the turned points q = R c: of q q^T, of q, of q times the image x and y.
    let turned = |rotation: &Matrix3<f64>| {
        (
            rotation * scc * rotation.transpose(),
            rotation * sc,
            rotation * spx,
            rotation * spy,
        )
    };
    for _ in 0..REFINE_ITERATIONS {
        let (q_q, q_sum, q_px, q_py) = turned(&rotation);
        let (s, tx, ty) = (scale, shift.x, shift.y);
        // Each point's Jacobian rows are jx = ax q + bx, jy = ay q + by (unknowns: the turn,
        // the scale, the shift); d(w x q)/dw = -[q]x, rows x and y.
        #[rustfmt::skip]
        let ax = Matrix6x3::new(
            0.0, 0.0, 0.0,
            0.0, 0.0, s,
            0.0, -s, 0.0,
            1.0, 0.0, 0.0,
            0.0, 0.0, 0.0,
            0.0, 0.0, 0.0,
        );
        #[rustfmt::skip]
        let ay = Matrix6x3::new(
            0.0, 0.0, -s,
            0.0, 0.0, 0.0,
            s, 0.0, 0.0,
            0.0, 1.0, 0.0,
            0.0, 0.0, 0.0,
            0.0, 0.0, 0.0,
        );
        let (bx, by) = (Vector6::<f64>::ith(4, 1.0), Vector6::<f64>::ith(5, 1.0));
        let gram = |a: &Matrix6x3<f64>, b: &Vector6<f64>| {
            let cross = a * q_sum * b.transpose();
            a * q_q * a.transpose() + cross + cross.transpose() + b * b.transpose() * n
        };
        let jtj = gram(&ax, &bx) + gram(&ay, &by);
        // Residuals r_x = s q_x + t_x - p_x, r_y likewise.
        let jtr = ax * (q_q.column(0) * s + q_sum * tx - q_px)
            + bx * (s * q_sum.x + n * tx - sp.x)
            + ay * (q_q.column(1) * s + q_sum * ty - q_py)
            + by * (s * q_sum.y + n * ty - sp.y);
        let step = jtj.cholesky()?.solve(&(-jtr));
        let turn = Vector3::new(step[0], step[1], step[2]);
        rotation = Rotation3::new(turn).matrix() * rotation;
        scale += step[3];
        shift += Vector2::new(step[4], step[5]);
        if turn.amax() < 1e-9 && step[3].abs() < 1e-9 * scale.abs() {
            break;
        }
    }
    // Re-orthonormalise what the small turns accumulated.
    let rotation = *Rotation3::from_matrix(&rotation).matrix();
    let (q_q, q_sum, q_px, q_py) = turned(&rotation);
    let (s, tx, ty) = (scale, shift.x, shift.y);
    let residual = s * s * (q_q[(0, 0)] + q_q[(1, 1)])
        + n * (tx * tx + ty * ty)
        + spp
        + 2.0 * s * (tx * q_sum.x + ty * q_sum.y)
        - 2.0 * s * (q_px.x + q_py.y)
        - 2.0 * (tx * sp.x + ty * sp.y);
    let depth = (sp.z - s * q_sum.z) / n;
    let fit = PoseFit {
        rotation: rotation.cast::<f32>(),
        scale: scale as f32,
        translation: Vector3::new(tx, ty, depth).cast::<f32>(),
        rms_residual: (residual.max(0.0) / n).sqrt() as f32,
    };
    (fit.scale > 0.0
        && fit.rotation.iter().all(|v| v.is_finite())
        && fit.translation.iter().all(|v| v.is_finite()))
    .then_some(fit)
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
    use crate::models::ModelBytes;

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

    /// The canonical face turned by `rot`, scaled, shifted, as image landmarks (y down, z
    /// smaller nearer), with the depth multiplied by `depth_gain`.
    fn landmarks_of(rot: &Rotation3<f32>, depth_gain: f32) -> (CanonicalFace, Vec<[f32; 3]>) {
        let canonical = CanonicalFace::from_json(ModelBytes::embedded().canonical_face_json)
            .expect("canonical face");
        let points = canonical
            .vertices
            .iter()
            .map(|c| {
                let p =
                    rot * Vector3::new(c[0], c[1], c[2]) * 14.0 + Vector3::new(320.0, -240.0, 5.0);
                [p.x, -p.y, -p.z * depth_gain]
            })
            .collect();
        (canonical, points)
    }

    #[test]
    fn the_fit_reads_the_turn_from_the_image_positions_not_the_meshs_depth() {
        // 35 deg of yaw, -20 of pitch, 10 of roll, in the labels' order.
        let rot = Rotation3::from_axis_angle(&Vector3::x_axis(), 20f32.to_radians())
            * Rotation3::from_axis_angle(&Vector3::y_axis(), -35f32.to_radians())
            * Rotation3::from_axis_angle(&Vector3::z_axis(), -10f32.to_radians());
        for depth_gain in [1.0, 0.6, 1.5] {
            let (canonical, points) = landmarks_of(&rot, depth_gain);
            let fit = fit_head_pose(&points, &canonical).expect("fit");
            let a = fit.angles();
            assert!((a.yaw_deg - 35.0).abs() < 0.05, "{depth_gain}: {a:?}");
            assert!((a.pitch_deg + 20.0).abs() < 0.05, "{depth_gain}: {a:?}");
            assert!((a.roll_deg - 10.0).abs() < 0.05, "{depth_gain}: {a:?}");
            assert!((fit.scale - 14.0).abs() < 0.01, "{fit:?}");
            assert!(fit.rms_residual < 0.01, "{fit:?}");
        }
        // The 3D fit alone reads a flattened mesh short (what the image refinement removes).
        let (canonical, points) = landmarks_of(&rot, 0.6);
        let flat = weighted_procrustes(&weighted_pairs(&points, &canonical))
            .expect("fit")
            .angles();
        assert!(flat.yaw_deg < 33.0, "{flat:?}");
    }
}
