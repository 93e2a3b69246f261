//! Framing advice for the camera preview before a session: is a face in the picture, is it
//! in the middle, near enough and whole, and is there light enough to measure it.
//!
//! Pure: a decoded frame and the pipeline's [`FrameAnalysis`] of it in, a [`Framing`] out
//! (measurements and the problems found, most important first). The words a person reads are
//! the caller's; this module only measures.
//!
//! Coordinates are those of the frame as the camera sent it (not mirrored): x right, y down.
//! Brightness is mean luma, Rec. 601 weights on the 8-bit sRGB values, 0-255.
//!
//! Where the thresholds of [`FramingParams::default`] come from:
//! - **Light** (`min_luma` 60). The attentive photos of `../shared/eval/faces` and
//!   `tests/fixtures/faces`, padded to 640x480, were darkened step by step (their sRGB values
//!   scaled by 1 down to 0.03) and analysed. On the half used to choose (every other photo,
//!   8 photos) the brightest face the pipeline lost had a mean luma of 28.7; the threshold is
//!   twice that, rounded, as a margin for the sensor noise a real webcam adds in dim light
//!   (the scaled photos have none). On the other half (7 photos) the brightest face lost was
//!   at 28.1, under the threshold as well; no undarkened photo (face luma 102-162) is
//!   flagged.
//! - **Centred** (`max_centre_offset` 1/6): the face's centre is inside the middle third of
//!   the frame in both directions (the rule of thirds).
//! - **Near enough** (`min_face_width` 0.10): MediaPipe's short-range face detector is made for
//!   faces within about 2 m. A face is about 15 cm wide; a typical webcam's ~65° field of view
//!   is about 1.3 m wide at 1 m, so a face narrower than a tenth of the frame is more than
//!   about 1.2 m away: well past a desk, and towards the detector's limit.
//! - **Not too close** (`max_face_width` 0.6): wider than that, a turn of the head takes part
//!   of the face out of the picture.
//! - **Whole** (`edge_margin_px` 2): a face whose landmarks reach the frame's edge is cut off.

use image::RgbImage;
use serde::Serialize;

use crate::FrameAnalysis;

/// Thresholds of the framing check (see the module docs for where each comes from).
#[derive(Debug, Clone, PartialEq)]
pub struct FramingParams {
    /// Below this mean luma (0-255) of the face, or of the whole frame when no face was found,
    /// the frame is too dark.
    pub min_luma: f32,
    /// Largest distance of the face's centre from the frame's centre still counted as
    /// centred, as a fraction of the frame's width (horizontally) and height (vertically).
    pub max_centre_offset: f32,
    /// Narrowest face that is near enough, as a fraction of the frame's width.
    pub min_face_width: f32,
    /// Widest face that is not too close, as a fraction of the frame's width.
    pub max_face_width: f32,
    /// A face whose box comes within this many pixels of the frame's edge is cut off.
    pub edge_margin_px: f32,
}

impl Default for FramingParams {
    fn default() -> Self {
        FramingParams {
            min_luma: 60.0,
            max_centre_offset: 1.0 / 6.0,
            min_face_width: 0.10,
            max_face_width: 0.6,
            edge_margin_px: 2.0,
        }
    }
}

/// Something to fix before starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FramingProblem {
    /// No face was found.
    NoFace,
    /// The face (or, without a face, the frame) is too dark to measure well.
    TooDark,
    /// Part of the face is outside the picture.
    CutOff,
    /// The face is too small: the person sits too far from the camera.
    TooFar,
    /// The face fills too much of the picture.
    TooClose,
    /// The face is outside the middle third of the picture.
    OffCentre,
}

impl FramingProblem {
    /// The wire name: `no_face`, `too_dark`, `cut_off`, `too_far`, `too_close`, `off_centre`.
    pub fn as_str(self) -> &'static str {
        match self {
            FramingProblem::NoFace => "no_face",
            FramingProblem::TooDark => "too_dark",
            FramingProblem::CutOff => "cut_off",
            FramingProblem::TooFar => "too_far",
            FramingProblem::TooClose => "too_close",
            FramingProblem::OffCentre => "off_centre",
        }
    }
}

/// Where the face sits in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Placement {
    /// The face box's centre minus the frame's centre, as fractions of the frame's width and
    /// height: `[x, y]`, each in about [-0.5, 0.5]; positive is right / down in the camera's
    /// (unmirrored) picture.
    pub offset: [f32; 2],
    /// The face box's width as a fraction of the frame's width.
    pub width: f32,
}

/// The framing check of one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Framing {
    /// Mean luma of the face box (0-255); `None` without a face.
    pub face_luma: Option<f32>,
    /// Mean luma of the whole frame (0-255).
    pub frame_luma: f32,
    /// Where the face is; `None` without a face.
    pub placement: Option<Placement>,
    /// What to fix, most important first; empty when the framing is good.
    pub problems: Vec<FramingProblem>,
}

impl Framing {
    /// True when nothing needs fixing.
    pub fn is_good(&self) -> bool {
        self.problems.is_empty()
    }

    /// True when `problem` was found.
    pub fn has(&self, problem: FramingProblem) -> bool {
        self.problems.contains(&problem)
    }
}

/// Checks the framing of `image`, analysed as `analysis`.
pub fn assess_framing(
    image: &RgbImage,
    analysis: &FrameAnalysis,
    params: &FramingParams,
) -> Framing {
    let (width, height) = image.dimensions();
    let frame_luma = mean_luma(image, [0.0, 0.0, width as f32, height as f32]);
    let mut problems = Vec::new();
    let Some(face) = analysis.face.as_ref() else {
        problems.push(FramingProblem::NoFace);
        if frame_luma < params.min_luma {
            problems.push(FramingProblem::TooDark);
        }
        return Framing {
            face_luma: None,
            frame_luma,
            placement: None,
            problems,
        };
    };
    let [x0, y0, x1, y1] = face.bbox;
    let face_luma = mean_luma(image, face.bbox);
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    let placement = Placement {
        offset: [((x0 + x1) / 2.0) / w - 0.5, ((y0 + y1) / 2.0) / h - 0.5],
        width: (x1 - x0) / w,
    };
    if face_luma < params.min_luma {
        problems.push(FramingProblem::TooDark);
    }
    let margin = params.edge_margin_px;
    if x0 < margin || y0 < margin || x1 > w - margin || y1 > h - margin {
        problems.push(FramingProblem::CutOff);
    }
    if placement.width < params.min_face_width {
        problems.push(FramingProblem::TooFar);
    } else if placement.width > params.max_face_width {
        problems.push(FramingProblem::TooClose);
    }
    let [dx, dy] = placement.offset;
    if dx.abs() > params.max_centre_offset || dy.abs() > params.max_centre_offset {
        problems.push(FramingProblem::OffCentre);
    }
    Framing {
        face_luma: Some(face_luma),
        frame_luma,
        placement: Some(placement),
        problems,
    }
}

/// Mean luma (Rec. 601, 0-255) of `image` inside `[x0, y0, x1, y1]` (clamped to the image);
/// 0 for an empty region.
fn mean_luma(image: &RgbImage, [x0, y0, x1, y1]: [f32; 4]) -> f32 {
    let (width, height) = image.dimensions();
    let clamp = |v: f32, max: u32| (v.max(0.0) as u32).min(max);
    let (x0, x1) = (clamp(x0.floor(), width), clamp(x1.ceil(), width));
    let (y0, y1) = (clamp(y0.floor(), height), clamp(y1.ceil(), height));
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let mut sum = 0.0f64;
    for y in y0..y1 {
        for x in x0..x1 {
            let [r, g, b] = image.get_pixel(x, y).0;
            sum += 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
        }
    }
    (sum / f64::from((x1 - x0) * (y1 - y0))) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EyePair, FaceObservation, Gaze, HeadPose};
    use image::Rgb;

    fn face_at(bbox: [f32; 4]) -> FaceObservation {
        FaceObservation {
            score: 0.99,
            bbox,
            eye_openness: EyePair {
                left: 0.3,
                right: 0.3,
            },
            blink: EyePair {
                left: 0.1,
                right: 0.1,
            },
            head_pose: HeadPose {
                yaw_deg: 0.0,
                pitch_deg: 0.0,
                roll_deg: 0.0,
            },
            gaze: Gaze {
                eye_yaw_deg: 0.0,
                eye_pitch_deg: 0.0,
                yaw_deg: 0.0,
                pitch_deg: 0.0,
                iris_drop: 0.0,
                look_down: 0.0,
                look_up: 0.0,
            },
            eyes_visible: true,
            landmarks: Vec::new(),
        }
    }

    fn analysis(face: Option<FaceObservation>) -> FrameAnalysis {
        FrameAnalysis {
            focused: face.is_some(),
            reason: None,
            away: None,
            zone: None,
            eye_closure: None,
            face,
            image_size: (640, 480),
        }
    }

    /// A 640x480 frame of grey `level`, with the region `bbox` at `face_level`.
    fn frame(level: u8, bbox: [u32; 4], face_level: u8) -> RgbImage {
        RgbImage::from_fn(640, 480, |x, y| {
            let inside = x >= bbox[0] && x < bbox[2] && y >= bbox[1] && y < bbox[3];
            let v = if inside { face_level } else { level };
            Rgb([v, v, v])
        })
    }

    #[test]
    fn a_lit_centred_face_at_desk_distance_is_good() {
        let image = frame(120, [240, 140, 400, 340], 150);
        let framing = assess_framing(
            &image,
            &analysis(Some(face_at([240.0, 140.0, 400.0, 340.0]))),
            &FramingParams::default(),
        );
        assert!(framing.is_good(), "{framing:?}");
        let placement = framing.placement.expect("a face has a placement");
        assert!((placement.width - 0.25).abs() < 1e-6);
        assert!(placement.offset[0].abs() < 1e-6);
        assert!((placement.offset[1] - 0.0).abs() < 1e-6);
        assert!((framing.face_luma.expect("a face has a luma") - 150.0).abs() < 0.01);
    }

    #[test]
    fn no_face_in_the_dark_names_both() {
        let framing = assess_framing(
            &frame(20, [0, 0, 0, 0], 0),
            &analysis(None),
            &FramingParams::default(),
        );
        assert_eq!(
            framing.problems,
            vec![FramingProblem::NoFace, FramingProblem::TooDark]
        );
        let lit = assess_framing(
            &frame(130, [0, 0, 0, 0], 0),
            &analysis(None),
            &FramingParams::default(),
        );
        assert_eq!(lit.problems, vec![FramingProblem::NoFace]);
    }

    #[test]
    fn a_dark_face_before_a_bright_window_is_too_dark() {
        // The frame as a whole is bright; the face is what is measured.
        let image = frame(230, [240, 140, 400, 340], 40);
        let framing = assess_framing(
            &image,
            &analysis(Some(face_at([240.0, 140.0, 400.0, 340.0]))),
            &FramingParams::default(),
        );
        assert_eq!(framing.problems, vec![FramingProblem::TooDark]);
        assert!(framing.frame_luma > 150.0);
    }

    #[test]
    fn placement_problems() {
        let p = FramingParams::default();
        let image = frame(120, [0, 0, 0, 0], 0);
        let check = |bbox| assess_framing(&image, &analysis(Some(face_at(bbox))), &p).problems;
        // Far right of the frame: centre at x = 560 (offset 0.375).
        assert_eq!(
            check([500.0, 150.0, 620.0, 330.0]),
            vec![FramingProblem::OffCentre]
        );
        // Just inside the middle third horizontally (offset 1/6 - a little).
        assert!(check([346.0, 150.0, 506.0, 330.0]).is_empty());
        // Small: 40 px of 640.
        assert_eq!(
            check([300.0, 220.0, 340.0, 270.0]),
            vec![FramingProblem::TooFar]
        );
        // Past the top edge and very wide.
        assert_eq!(
            check([60.0, -30.0, 580.0, 470.0]),
            vec![FramingProblem::CutOff, FramingProblem::TooClose]
        );
    }
}
