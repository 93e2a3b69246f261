//! The pipeline: [`FaceAnalyzer`] analyses one frame on its own; [`FaceTracker`] analyses a
//! stream, reusing each frame's landmarks as the next frame's crop and skipping the
//! detector while the face stays put. Either judges the frame relative to the user's
//! calibration [`Profile`] when there is one.
//!
//! A face turned beyond the face model's range (a profile) is not "no face": when the
//! detector still finds a face seen side-on, or the tracker just followed one turning out of
//! range, the verdict is `looking_away` ("turned out of view").
//!
//! A face too small for the detector to see in the whole frame (a person far from a wide,
//! high-resolution camera) is looked for again in tiles
//! ([`FaceDetector::detect_small_faces`]) when the detector finds nothing, on frames at least
//! [`SMALL_FACE_MIN_SIDE`] on their longer side; a stream does so on its first frame without a
//! face and then on every [`SMALL_FACE_EVERY`]th, so an empty room costs little more than
//! before.
//!
//! A stream's tracked frame is decoded only where it is read: [`FaceTracker::analyze_bytes`]
//! asks the decoder for the region under the previous frame's crop, and every reader of the
//! frame states the region it reads (`Frame::region`, see `frame`); a reader of more (the
//! detector, when the track is lost) has the frame decoded whole first, so the analysis is
//! the same as a whole frame's to the bit.

use std::sync::Arc;

use image::{ImageFormat, RgbImage};

use crate::{
    Error, FaceObservation, FrameAnalysis,
    blendshapes::BlendshapeModel,
    classify::{Params, Verdict, judge},
    crop::{Roi, region_read},
    decode::{DecodeLimits, Region, declared_size, decode_image_into, decode_region_into},
    detect::{Detection, FaceDetector},
    engine::{InferenceEngine, RtenEngine},
    eyes::{eye_aspect_ratios, eye_brightness_ratio, eye_brightness_region},
    frame::Frame,
    gaze::estimate_gaze,
    landmarks::{FaceLandmarks, INPUT_SIZE, LandmarkModel},
    models::{BlendshapeSpec, CanonicalFace, ModelBytes},
    pose::fit_head_pose,
    profile::Profile,
    recycle::Recycler,
};

/// ONNX output names of the converted MediaPipe models (see `models/README.md`).
mod outputs {
    pub const DETECTOR_REGRESSORS: &str = "regressors";
    pub const DETECTOR_SCORES: &str = "classificators";
    pub const LANDMARKS: &str = "Identity";
    pub const PRESENCE: &str = "Identity_1";
    pub const BLENDSHAPES: &str = "StatefulPartitionedCall:0";
}

/// The loaded models and parameters. Immutable, `Send + Sync`: share one in an `Arc`.
#[derive(Debug)]
pub struct FaceAnalyzer {
    detector: FaceDetector,
    landmarks: LandmarkModel,
    blendshapes: BlendshapeModel,
    canonical: CanonicalFace,
    params: Params,
    limits: DecodeLimits,
    small_face_min_side: u32,
    /// Decoded-frame buffers, reused by the next frame (see `recycle`).
    frames: Recycler<RgbImage>,
}

/// A decoded frame's buffer is kept for the next frame only up to this size (a 1280x720 RGB
/// frame; the page sends at most 640 px wide), so an occasional large photo does not stay
/// in memory.
const MAX_KEPT_FRAME_BYTES: usize = 1280 * 720 * 3;

/// The small-face retry runs on frames whose longer side is at least this many pixels (HD and
/// up). There a face of 1/20 of the frame (the smallest the retry is sized for) is at least 64
/// px wide: a quarter of the face mesh's 256 px input, about 12 px per eye, enough to tell
/// open eyes from shut. In the page's frames (at most 640 px wide) such a face would be 32 px,
/// 6 px per eye, and a face that small in a webcam's view is someone across the room, not the
/// user at the desk (`framing`: under a tenth of the width is already "too far").
pub const SMALL_FACE_MIN_SIDE: u32 = 1280;

/// In a stream, the small-face retry runs on the first frame without a face and then on every
/// this-many-th consecutive one (every 2 s at the page's 5 frames a second): its 15 detector
/// runs on an HD frame spread over ten frames add about 1.5 detector runs to each (the figure
/// measured is in docs/vision.md), where running it on every such frame would multiply the cost
/// of an empty room's frame several times over.
pub const SMALL_FACE_EVERY: u32 = 10;

/// What a frame held: what the tracker needs for the next frame.
#[derive(Debug, Clone)]
enum Found {
    /// A face the mesh reads; `tracked`: found in the prior crop (the detector did not run).
    Face {
        landmarks: FaceLandmarks,
        yaw_deg: f32,
        tracked: bool,
    },
    /// A face the detector sees side-on, beyond the mesh's range.
    SideOn,
    /// Nothing.
    Nothing,
}

/// A detection counts as a face seen side-on when it is clearly a face (score at least this,
/// MediaPipe's tracking threshold)...
const SIDE_ON_MIN_SCORE: f32 = 0.7;
/// ...and its eyes lie closer together than this fraction of the face box: about 0.4 for a
/// frontal face, shrinking with the cosine of the yaw (cats, dogs and toys that fool the
/// detector measured 0.32-0.5).
const SIDE_ON_MAX_EYE_SPACING: f32 = 0.3;

fn is_side_on(d: &Detection) -> bool {
    let [r, l] = [d.right_eye(), d.left_eye()];
    let spacing = ((r[0] - l[0]).powi(2) + (r[1] - l[1]).powi(2)).sqrt();
    let width = (d.bbox[2] - d.bbox[0]).max(1.0);
    d.score >= SIDE_ON_MIN_SCORE && spacing / width < SIDE_ON_MAX_EYE_SPACING
}

impl FaceAnalyzer {
    /// Loads the models compiled into the library, with default parameters and rten using
    /// its global thread pool.
    #[cfg(feature = "embedded-models")]
    pub fn embedded() -> Result<Self, Error> {
        Self::new(
            &ModelBytes::embedded(),
            &RtenEngine::default(),
            Params::default(),
        )
    }

    /// Loads the models with `engine`.
    pub fn new(
        models: &ModelBytes,
        engine: &dyn InferenceEngine,
        params: Params,
    ) -> Result<Self, Error> {
        let spec = BlendshapeSpec::from_json(models.blendshapes_subset_json)?;
        Ok(Self {
            detector: FaceDetector::new(
                engine.load("face_detector", models.face_detector)?,
                outputs::DETECTOR_REGRESSORS,
                outputs::DETECTOR_SCORES,
            ),
            landmarks: LandmarkModel::new(
                engine.load("face_landmarks_detector", models.face_landmarks)?,
                outputs::LANDMARKS,
                outputs::PRESENCE,
            ),
            blendshapes: BlendshapeModel::new(
                engine.load("face_blendshapes", models.face_blendshapes)?,
                outputs::BLENDSHAPES,
                &spec,
            )?,
            canonical: CanonicalFace::from_json(models.canonical_face_json)?,
            params,
            limits: DecodeLimits::default(),
            small_face_min_side: SMALL_FACE_MIN_SIDE,
            frames: Recycler::default(),
        })
    }

    /// Replaces the smallest longer side ([`SMALL_FACE_MIN_SIDE`]) of a frame on which the
    /// small-face retry runs; `u32::MAX` turns it off, 0 runs it on every frame without a face.
    pub fn with_small_face_min_side(mut self, pixels: u32) -> Self {
        self.small_face_min_side = pixels;
        self
    }

    /// Replaces the decode limits (e.g. a smaller byte limit for the web server).
    pub fn with_limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Decodes `bytes` (JPEG or PNG) and analyses the frame.
    pub fn analyze_bytes(&self, bytes: &[u8]) -> Result<FrameAnalysis, Error> {
        self.analyze_bytes_with(bytes, None)
    }

    /// Decodes `bytes` and analyses the frame, judged relative to `profile`.
    pub fn analyze_bytes_with(
        &self,
        bytes: &[u8],
        profile: Option<&Profile>,
    ) -> Result<FrameAnalysis, Error> {
        self.with_decoded(bytes, |image| self.analyze_image_with(image, profile))
    }

    /// Decodes `bytes` (JPEG or PNG, within this analyser's limits) into a buffer kept for
    /// the next frame and runs `analyze` on the decoded frame: for callers that need the
    /// pixels as well as the analysis (the server's framing check), without a fresh buffer
    /// per frame.
    pub fn with_decoded<R>(
        &self,
        bytes: &[u8],
        analyze: impl FnOnce(&RgbImage) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.with_frame(bytes, None, |frame| analyze(frame.whole()?))
    }

    /// Decodes `bytes` as [`Self::with_decoded`] does, whole or at least `region` (see
    /// `frame`), and runs `analyze` on the frame.
    fn with_frame<R>(
        &self,
        bytes: &[u8],
        region: Option<Region>,
        analyze: impl FnOnce(&mut Frame<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let mut image = self.frames.take();
        let limits = &self.limits;
        let result = match region {
            Some(region) => decode_region_into(bytes, limits, &mut image, region)
                .and_then(|decoded| analyze(&mut Frame::part(&mut image, decoded, bytes, limits))),
            None => decode_image_into(bytes, limits, &mut image)
                .and_then(|()| analyze(&mut Frame::whole_image(&image))),
        };
        if image.as_raw().capacity() <= MAX_KEPT_FRAME_BYTES {
            self.frames.give(image);
        }
        result
    }

    /// Analyses a decoded frame.
    pub fn analyze_image(&self, image: &RgbImage) -> Result<FrameAnalysis, Error> {
        self.analyze_image_with(image, None)
    }

    /// Analyses a decoded frame, judged relative to `profile`.
    pub fn analyze_image_with(
        &self,
        image: &RgbImage,
        profile: Option<&Profile>,
    ) -> Result<FrameAnalysis, Error> {
        let (face, found) = self.locate(&mut Frame::whole_image(image), None, true)?;
        let verdict = match (&face, &found) {
            (None, Found::SideOn) => Verdict::turned_out_of_view(),
            _ => judge(face.as_ref(), &self.params, profile),
        };
        Ok(analysis(image.dimensions(), verdict, face))
    }

    /// Finds and measures the face; with `prior`, first tries the landmark model on that
    /// crop. `small_faces`: the small-face retry may run (on a large enough frame).
    fn locate(
        &self,
        frame: &mut Frame<'_>,
        prior: Option<&Roi>,
        small_faces: bool,
    ) -> Result<(Option<FaceObservation>, Found), Error> {
        let (width, height) = frame.dimensions();
        let (landmarks, detection, tracked) = match prior {
            Some(roi) => {
                let read = region_read(roi, INPUT_SIZE, width, height)
                    .unwrap_or(Region::whole(width, height));
                let tracked = self.landmarks.detect_landmarks(frame.region(&read)?, roi)?;
                if tracked.presence >= self.params.min_tracking_presence {
                    (Some(tracked), None, true)
                } else {
                    let (l, d) = self.find_face(frame.whole()?, small_faces)?;
                    (l, d, false)
                }
            }
            None => {
                let (l, d) = self.find_face(frame.whole()?, small_faces)?;
                (l, d, false)
            }
        };
        let Some(landmarks) = landmarks.filter(|l| l.presence >= self.params.min_presence) else {
            let side_on = detection.as_ref().is_some_and(is_side_on);
            return Ok((
                None,
                if side_on {
                    Found::SideOn
                } else {
                    Found::Nothing
                },
            ));
        };
        let face = self.observe(frame, &landmarks)?;
        let yaw_deg = face.head_pose.yaw_deg;
        Ok((
            Some(face),
            Found::Face {
                landmarks,
                yaw_deg,
                tracked,
            },
        ))
    }

    /// Detector, then landmarks on the strongest face; with a margin retry for tight crops
    /// and, with `small_faces` on a frame of at least `small_face_min_side`, a tiled retry
    /// for faces too small for the whole frame. The landmarks may have a low presence score
    /// (the mesh rejects the crop); the detection is returned too.
    fn find_face(
        &self,
        image: &RgbImage,
        small_faces: bool,
    ) -> Result<(Option<FaceLandmarks>, Option<Detection>), Error> {
        let (score, iou) = (self.params.min_detection_score, self.params.nms_iou);
        let whole = self.detector.detect_faces(image, score, iou)?;
        if let Some((detection, found)) = self.mesh_largest(image, &whole)? {
            return Ok((Some(found), Some(detection)));
        }
        let (w, h) = image.dimensions();
        let mut padded_found = None;
        if self.params.retry_margin > 0.0 {
            let margin = (w.max(h) as f32 * self.params.retry_margin).round() as u32;
            let padded = pad_replicate(image, margin);
            let detections = self.detector.detect_faces(&padded, score, iou)?;
            if let Some((detection, mut l)) = self.mesh_largest(&padded, &detections)? {
                for p in &mut l.points {
                    p[0] -= margin as f32;
                    p[1] -= margin as f32;
                }
                if l.presence >= self.params.min_presence {
                    return Ok((Some(l), Some(detection)));
                }
                // The mesh rejects it: kept (a face seen side-on?) unless the tiles find one.
                padded_found = Some((l, detection));
            }
        }
        if small_faces && w.max(h) >= self.small_face_min_side {
            // Only a face the mesh accepts: a small detection the mesh rejects is not taken
            // for a face seen side-on (the rule for "turned out of view" is the whole frame's).
            let small = self.detector.detect_small_faces(image, score, iou)?;
            if let Some((detection, found)) = self.mesh_largest(image, &small)?
                && found.presence >= self.params.min_presence
            {
                return Ok((Some(found), Some(detection)));
            }
        }
        Ok(padded_found.map_or((None, None), |(l, d)| (Some(l), Some(d))))
    }

    /// Landmarks on the largest of `detections` (none: `None`).
    fn mesh_largest(
        &self,
        image: &RgbImage,
        detections: &[Detection],
    ) -> Result<Option<(Detection, FaceLandmarks)>, Error> {
        // The user is the largest face in their own webcam.
        let Some(best) = detections
            .iter()
            .max_by(|a, b| area(&a.bbox).total_cmp(&area(&b.bbox)))
        else {
            return Ok(None);
        };
        let roi = Roi::around(
            best.bbox,
            best.right_eye(),
            best.left_eye(),
            self.params.roi_scale,
        );
        let landmarks = self.landmarks.detect_landmarks(image, &roi)?;
        if landmarks.presence >= self.params.min_presence {
            return Ok(Some((*best, landmarks)));
        }
        // In profile the two eye keypoints nearly coincide and their angle is noise, which
        // can turn the crop upside down. Try once more with the crop upright.
        let upright = Roi { angle: 0.0, ..roi };
        let retry = self.landmarks.detect_landmarks(image, &upright)?;
        let better = if retry.presence > landmarks.presence {
            retry
        } else {
            landmarks
        };
        Ok(Some((*best, better)))
    }

    fn observe(
        &self,
        frame: &mut Frame<'_>,
        landmarks: &FaceLandmarks,
    ) -> Result<FaceObservation, Error> {
        let points = &landmarks.points;
        let eyes = self.blendshapes.estimate_eyes(landmarks)?;
        let eye_openness = eye_aspect_ratios(points);
        let (width, height) = frame.dimensions();
        let read = eye_brightness_region(points, width, height);
        let eyes_visible = eye_brightness_ratio(frame.region(&read)?, points)
            >= self.params.min_eye_brightness_ratio;
        let fit = fit_head_pose(points, &self.canonical)
            .ok_or_else(|| Error::Model("head pose fit failed".into()))?;
        let head_pose = fit.angles();
        let gaze = estimate_gaze(points, &fit, &eyes);
        Ok(FaceObservation {
            score: landmarks.presence,
            bbox: landmarks.bbox(),
            eye_openness,
            blink: eyes.blink,
            head_pose,
            gaze,
            eyes_visible,
            landmarks: points.clone(),
        })
    }
}

fn analysis(
    image_size: (u32, u32),
    verdict: Verdict,
    face: Option<FaceObservation>,
) -> FrameAnalysis {
    FrameAnalysis {
        focused: verdict.focused,
        reason: verdict.reason,
        away: verdict.away,
        zone: verdict.zone,
        eye_closure: verdict.eye_closure,
        face,
        image_size,
    }
}

fn area(b: &[f32; 4]) -> f32 {
    (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)
}

/// The image with `margin` pixels added on every side, repeating the edge pixels.
fn pad_replicate(image: &RgbImage, margin: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    RgbImage::from_fn(w + 2 * margin, h + 2 * margin, |x, y| {
        let sx = x.saturating_sub(margin).min(w - 1);
        let sy = y.saturating_sub(margin).min(h - 1);
        *image.get_pixel(sx, sy)
    })
}

/// A face turning further than this yaw (degrees) is on its way out of the face model's
/// range (about 60): if the model then loses it, the face turned away rather than left.
const TURNING_OUT_YAW_DEG: f32 = 40.0;
/// How many frames a face lost while turning out of view is still reported as turned away
/// without being seen again (2 s at the browser's 5 frames a second); after that, no face.
const TURNED_HOLD_FRAMES: u32 = 10;

/// Analyses consecutive frames of one stream. The previous frame's landmarks give the next
/// crop, and the detector runs only when the tracked face's presence score drops.
#[derive(Debug)]
pub struct FaceTracker {
    analyzer: Arc<FaceAnalyzer>,
    profile: Option<Arc<Profile>>,
    previous: Option<Roi>,
    /// A face that turned out of the model's range: frames it has been held for.
    turned_out: Option<u32>,
    /// Consecutive frames without a face (paces the small-face retry).
    misses: u32,
    /// Frames analysed, and of those, how many found the face in the previous frame's crop
    /// (the detector did not run).
    frames: u64,
    tracked_frames: u64,
}

impl FaceTracker {
    pub fn new(analyzer: Arc<FaceAnalyzer>) -> Self {
        Self {
            analyzer,
            profile: None,
            previous: None,
            turned_out: None,
            misses: 0,
            frames: 0,
            tracked_frames: 0,
        }
    }

    /// Judges the following frames relative to `profile` (`None`: uncalibrated).
    pub fn set_profile(&mut self, profile: Option<Arc<Profile>>) {
        self.profile = profile;
    }

    /// Decodes and analyses the next frame of the stream. While the face is tracked, only
    /// the region under its crop is decoded, unless more is read (see `frame`).
    pub fn analyze_bytes(&mut self, bytes: &[u8]) -> Result<FrameAnalysis, Error> {
        let analyzer = Arc::clone(&self.analyzer);
        let region = self.region_to_decode(bytes);
        analyzer.with_frame(bytes, region, |frame| self.analyze_frame(frame))
    }

    /// Analyses the next decoded frame of the stream.
    pub fn analyze_image(&mut self, image: &RgbImage) -> Result<FrameAnalysis, Error> {
        self.analyze_frame(&mut Frame::whole_image(image))
    }

    /// The region of the JPEG `bytes` that the tracked crop will read (`None`: decode it
    /// all): the one under the previous frame's crop, in the size its header declares.
    fn region_to_decode(&self, bytes: &[u8]) -> Option<Region> {
        let (w, h) = declared_size(bytes, ImageFormat::Jpeg)?;
        let prior = self.previous.filter(|roi| roi.is_valid_for(w, h))?;
        region_read(&prior, INPUT_SIZE, w, h)
    }

    fn analyze_frame(&mut self, frame: &mut Frame<'_>) -> Result<FrameAnalysis, Error> {
        let (w, h) = frame.dimensions();
        let prior = self.previous.filter(|roi| roi.is_valid_for(w, h));
        let small_faces = self.misses.is_multiple_of(SMALL_FACE_EVERY);
        let (face, found) = self.analyzer.locate(frame, prior.as_ref(), small_faces)?;
        self.frames += 1;
        self.misses = match found {
            Found::Nothing => self.misses.saturating_add(1),
            _ => 0,
        };
        let params = &self.analyzer.params;
        let verdict = match &found {
            Found::Face {
                landmarks,
                yaw_deg,
                tracked,
            } => {
                if *tracked {
                    self.tracked_frames += 1;
                }
                self.previous = Some(landmarks.next_roi(params.roi_scale));
                let rest = self.profile.as_ref().map_or(0.0, |p| p.head_rest.yaw_deg);
                self.turned_out = ((yaw_deg - rest).abs() >= TURNING_OUT_YAW_DEG).then_some(0);
                judge(face.as_ref(), params, self.profile.as_deref())
            }
            // The detector finds the face again when it turns back.
            Found::SideOn => {
                self.previous = None;
                self.turned_out = Some(0);
                Verdict::turned_out_of_view()
            }
            Found::Nothing => {
                self.previous = None;
                match self.turned_out {
                    Some(held) if held < TURNED_HOLD_FRAMES => {
                        self.turned_out = Some(held + 1);
                        Verdict::turned_out_of_view()
                    }
                    _ => {
                        self.turned_out = None;
                        Verdict::no_face()
                    }
                }
            }
        };
        Ok(analysis((w, h), verdict, face))
    }

    /// Whether the next frame will try the tracked crop before the detector.
    pub fn is_tracking(&self) -> bool {
        self.previous.is_some()
    }

    /// `(frames analysed, frames whose face was found in the previous frame's crop without
    /// running the detector)`.
    pub fn counts(&self) -> (u64, u64) {
        (self.frames, self.tracked_frames)
    }
}

#[cfg(all(test, feature = "embedded-models"))]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn stream_frame(n: u32) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../tests/fixtures/stream/pexels_woman_attentive/frame{n}.jpg"
        ));
        std::fs::read(path).expect("read frame")
    }

    #[test]
    fn a_tracked_frame_is_decoded_only_under_its_crop() {
        let analyzer = Arc::new(FaceAnalyzer::embedded().expect("embedded models load"));
        let mut tracker = FaceTracker::new(Arc::clone(&analyzer));
        let (first, second) = (stream_frame(141), stream_frame(146));
        // Nothing tracked yet: the whole frame.
        assert_eq!(tracker.region_to_decode(&first), None);
        tracker.analyze_bytes(&first).expect("analyses");
        assert!(tracker.is_tracking());
        // The woman's face crop spans the frame's height but not its width (640x360).
        let region = tracker.region_to_decode(&second).expect("a tracked face");
        assert!(
            region.columns.len() < 500 && !region.rows.is_empty(),
            "{region:?}"
        );
        analyzer
            .with_frame(&second, Some(region.clone()), |frame| {
                let decoded = frame.decoded();
                assert!(decoded.contains(&region), "{decoded:?}");
                assert!(decoded.columns.len() < 600, "{decoded:?}");
                Ok(())
            })
            .expect("decodes");
        let analysis = tracker.analyze_bytes(&second).expect("analyses");
        assert!(analysis.face.is_some());
        assert_eq!(tracker.counts(), (2, 1));
    }
}
