//! The pipeline: [`FaceAnalyzer`] analyses one frame on its own; [`FaceTracker`] analyses a
//! stream, reusing each frame's landmarks as the next frame's crop and skipping the
//! detector while the face stays put.

use std::sync::Arc;

use image::RgbImage;

use crate::{
    Error, FaceObservation, FrameAnalysis,
    blendshapes::BlendshapeModel,
    classify::{Params, classify},
    crop::Roi,
    decode::{DecodeLimits, decode_image},
    detect::FaceDetector,
    engine::{InferenceEngine, RtenEngine},
    eyes::{eye_aspect_ratios, eye_brightness_ratio},
    gaze::estimate_gaze,
    landmarks::{FaceLandmarks, LandmarkModel},
    models::{BlendshapeSpec, CanonicalFace, ModelBytes},
    pose::fit_head_pose,
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

/// Where a frame's face came from: what the tracker needs for the next frame.
#[derive(Debug, Clone)]
struct Found {
    landmarks: FaceLandmarks,
    /// The landmarks came from the prior crop: the detector did not run.
    tracked: bool,
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
        let image = decode_image(bytes, &self.limits)?;
        self.analyze_image(&image)
    }

    /// Analyses a decoded frame.
    pub fn analyze_image(&self, image: &RgbImage) -> Result<FrameAnalysis, Error> {
        Ok(self.analyze_with_prior(image, None)?.0)
    }

    /// Runs the whole pipeline; with `prior`, first tries the landmark model on that crop.
    fn analyze_with_prior(
        &self,
        image: &RgbImage,
        prior: Option<&Roi>,
    ) -> Result<(FrameAnalysis, Option<Found>), Error> {
        let (landmarks, tracked) = match prior {
            Some(roi) => {
                let tracked = self.landmarks.detect_landmarks(image, roi)?;
                if tracked.presence >= self.params.min_tracking_presence {
                    (Some(tracked), true)
                } else {
                    (self.find_face(image)?, false)
                }
            }
            None => (self.find_face(image)?, false),
        };
        let Some(landmarks) = landmarks.filter(|l| l.presence >= self.params.min_presence) else {
            return Ok((self.verdict(image, None), None));
        };
        let face = self.observe(image, &landmarks)?;
        Ok((
            self.verdict(image, Some(face)),
            Some(Found { landmarks, tracked }),
        ))
    }

    /// Detector, then landmarks on the strongest face; with a margin retry for tight crops.
    fn find_face(&self, image: &RgbImage) -> Result<Option<FaceLandmarks>, Error> {
        if let Some(found) = self.detect_and_mesh(image)? {
            return Ok(Some(found));
        }
        if self.params.retry_margin <= 0.0 {
            return Ok(None);
        }
        let (w, h) = image.dimensions();
        let margin = (w.max(h) as f32 * self.params.retry_margin).round() as u32;
        let padded = pad_replicate(image, margin);
        Ok(self.detect_and_mesh(&padded)?.map(|mut l| {
            for p in &mut l.points {
                p[0] -= margin as f32;
                p[1] -= margin as f32;
            }
            l
        }))
    }

    fn detect_and_mesh(&self, image: &RgbImage) -> Result<Option<FaceLandmarks>, Error> {
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
            return Ok(Some(landmarks));
        }
        // In profile the two eye keypoints nearly coincide and their angle is noise, which
        // can turn the crop upside down. Try once more with the crop upright.
        let upright = Roi { angle: 0.0, ..roi };
        let retry = self.landmarks.detect_landmarks(image, &upright)?;
        Ok(Some(if retry.presence > landmarks.presence {
            retry
        } else {
            landmarks
        }))
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
        let head_pose = fit_head_pose(points, &self.canonical)
            .map(|f| f.angles())
            .ok_or_else(|| Error::Model("head pose fit failed".into()))?;
        let gaze = estimate_gaze(points, &head_pose, &eyes);
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

    fn verdict(&self, image: &RgbImage, face: Option<FaceObservation>) -> FrameAnalysis {
        let (focused, reason) = classify(face.as_ref(), &self.params);
        FrameAnalysis {
            focused,
            reason,
            face,
            image_size: image.dimensions(),
        }
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

/// Analyses consecutive frames of one stream. The previous frame's landmarks give the next
/// crop, and the detector runs only when the tracked face's presence score drops.
#[derive(Debug)]
pub struct FaceTracker {
    analyzer: Arc<FaceAnalyzer>,
    previous: Option<Roi>,
    /// Frames analysed, and of those, how many found the face in the previous frame's crop
    /// (the detector did not run).
    frames: u64,
    tracked_frames: u64,
}

impl FaceTracker {
    pub fn new(analyzer: Arc<FaceAnalyzer>) -> Self {
        Self {
            analyzer,
            previous: None,
            frames: 0,
            tracked_frames: 0,
        }
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
        let (analysis, found) = self.analyzer.analyze_with_prior(image, prior.as_ref())?;
        self.frames += 1;
        if found.as_ref().is_some_and(|f| f.tracked) {
            self.tracked_frames += 1;
        }
        self.previous = found.map(|f| f.landmarks.next_roi(self.analyzer.params.roi_scale));
        Ok(analysis)
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
