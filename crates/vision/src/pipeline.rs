//! The pipeline: [`FaceAnalyzer`] analyses one frame on its own; [`FaceTracker`] analyses a
//! stream, reusing each frame's landmarks as the next frame's crop and skipping the
//! detector while the face stays put. Either judges the frame relative to the user's
//! calibration [`Profile`] when there is one.
//!
//! A face turned beyond the face model's range (a profile) is not "no face": when the
//! detector still finds a face seen side-on, or the tracker just followed one turning out of
//! range, the verdict is `looking_away` ("turned out of view").

use std::sync::Arc;

use image::RgbImage;

use crate::{
    Error, FaceObservation, FrameAnalysis,
    blendshapes::BlendshapeModel,
    classify::{Params, Verdict, judge},
    crop::Roi,
    decode::{DecodeLimits, decode_image},
    detect::{Detection, FaceDetector},
    engine::{InferenceEngine, RtenEngine},
    eyes::{eye_aspect_ratios, eye_brightness_ratio},
    gaze::estimate_gaze,
    landmarks::{FaceLandmarks, LandmarkModel},
    models::{BlendshapeSpec, CanonicalFace, ModelBytes},
    pose::fit_head_pose,
    profile::Profile,
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
}

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
        })
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
        let image = decode_image(bytes, &self.limits)?;
        self.analyze_image_with(&image, profile)
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
        let (face, found) = self.locate(image, None)?;
        let verdict = match (&face, &found) {
            (None, Found::SideOn) => Verdict::turned_out_of_view(),
            _ => judge(face.as_ref(), &self.params, profile),
        };
        Ok(analysis(image, verdict, face))
    }

    /// Finds and measures the face; with `prior`, first tries the landmark model on that
    /// crop.
    fn locate(
        &self,
        image: &RgbImage,
        prior: Option<&Roi>,
    ) -> Result<(Option<FaceObservation>, Found), Error> {
        let (landmarks, detection, tracked) = match prior {
            Some(roi) => {
                let tracked = self.landmarks.detect_landmarks(image, roi)?;
                if tracked.presence >= self.params.min_tracking_presence {
                    (Some(tracked), None, true)
                } else {
                    let (l, d) = self.find_face(image)?;
                    (l, d, false)
                }
            }
            None => {
                let (l, d) = self.find_face(image)?;
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
        let face = self.observe(image, &landmarks)?;
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

    /// Detector, then landmarks on the strongest face; with a margin retry for tight crops.
    /// The landmarks may have a low presence score (the mesh rejects the crop); the
    /// detection is returned too.
    fn find_face(
        &self,
        image: &RgbImage,
    ) -> Result<(Option<FaceLandmarks>, Option<Detection>), Error> {
        if let Some((detection, found)) = self.detect_and_mesh(image)? {
            return Ok((Some(found), Some(detection)));
        }
        if self.params.retry_margin <= 0.0 {
            return Ok((None, None));
        }
        let (w, h) = image.dimensions();
        let margin = (w.max(h) as f32 * self.params.retry_margin).round() as u32;
        let padded = pad_replicate(image, margin);
        Ok(match self.detect_and_mesh(&padded)? {
            Some((detection, mut l)) => {
                for p in &mut l.points {
                    p[0] -= margin as f32;
                    p[1] -= margin as f32;
                }
                (Some(l), Some(detection))
            }
            None => (None, None),
        })
    }

    fn detect_and_mesh(
        &self,
        image: &RgbImage,
    ) -> Result<Option<(Detection, FaceLandmarks)>, Error> {
        let detections = self.detector.detect_faces(
            image,
            self.params.min_detection_score,
            self.params.nms_iou,
        )?;
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
        image: &RgbImage,
        landmarks: &FaceLandmarks,
    ) -> Result<FaceObservation, Error> {
        let points = &landmarks.points;
        let eyes = self.blendshapes.estimate_eyes(landmarks)?;
        let eye_openness = eye_aspect_ratios(points);
        let eyes_visible =
            eye_brightness_ratio(image, points) >= self.params.min_eye_brightness_ratio;
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

fn analysis(image: &RgbImage, verdict: Verdict, face: Option<FaceObservation>) -> FrameAnalysis {
    FrameAnalysis {
        focused: verdict.focused,
        reason: verdict.reason,
        away: verdict.away,
        zone: verdict.zone,
        eye_closure: verdict.eye_closure,
        face,
        image_size: image.dimensions(),
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
            frames: 0,
            tracked_frames: 0,
        }
    }

    /// Judges the following frames relative to `profile` (`None`: uncalibrated).
    pub fn set_profile(&mut self, profile: Option<Arc<Profile>>) {
        self.profile = profile;
    }

    /// Decodes and analyses the next frame of the stream.
    pub fn analyze_bytes(&mut self, bytes: &[u8]) -> Result<FrameAnalysis, Error> {
        let image = decode_image(bytes, &self.analyzer.limits)?;
        self.analyze_image(&image)
    }

    /// Analyses the next decoded frame of the stream.
    pub fn analyze_image(&mut self, image: &RgbImage) -> Result<FrameAnalysis, Error> {
        let (w, h) = image.dimensions();
        let prior = self.previous.filter(|roi| roi.is_valid_for(w, h));
        let (face, found) = self.analyzer.locate(image, prior.as_ref())?;
        self.frames += 1;
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
        Ok(analysis(image, verdict, face))
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
