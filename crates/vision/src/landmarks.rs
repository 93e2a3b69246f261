//! The 478-point face mesh with irises (MediaPipe's `face_landmarks_detector.tflite`).
//!
//! Input: a 256x256 rotated face crop ([`crate::crop`]), NHWC, RGB in [0, 1]. Output: 478
//! points `(x, y, z)` in crop pixels (z: relative depth in the same units, smaller is nearer
//! the camera) and a face-presence logit. Points 0-467 are the mesh, 468-472 and 473-477
//! the two irises (centre first).

use image::RgbImage;

use crate::{
    Error,
    crop::{Roi, crop_rotated_into},
    engine::Network,
    recycle::Recycler,
};

/// Side of the landmark model's square input, in pixels.
pub const INPUT_SIZE: usize = 256;
/// Number of landmarks the model returns.
pub const NUM_LANDMARKS: usize = 478;

/// Landmarks of one face in image pixels, and the model's confidence that a face is there.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceLandmarks {
    /// `(x, y, z)` per landmark; z is scaled like x and y (pixels).
    pub points: Vec<[f32; 3]>,
    /// Sigmoid of the presence logit, in [0, 1].
    pub presence: f32,
}

impl FaceLandmarks {
    /// Axis-aligned bounding box of the mesh, `[x0, y0, x1, y1]`.
    pub fn bbox(&self) -> [f32; 4] {
        self.points
            .iter()
            .fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, p| {
                [
                    b[0].min(p[0]),
                    b[1].min(p[1]),
                    b[2].max(p[0]),
                    b[3].max(p[1]),
                ]
            })
    }

    /// The region to crop for the next frame of a stream: the mesh's box scaled by `scale`,
    /// turned so the outer eye corners (33 and 263) are level. MediaPipe tracks the same way.
    pub fn next_roi(&self, scale: f32) -> Roi {
        let p = |i: usize| [self.points[i][0], self.points[i][1]];
        Roi::around(self.bbox(), p(33), p(263), scale)
    }
}

/// The face mesh network and the names of its outputs.
#[derive(Debug)]
pub struct LandmarkModel {
    network: Box<dyn Network>,
    landmarks_output: String,
    presence_output: String,
    /// Crop buffers, reused by the next run (see `recycle`).
    crops: Recycler<Vec<f32>>,
}

impl LandmarkModel {
    pub fn new(network: Box<dyn Network>, landmarks_output: &str, presence_output: &str) -> Self {
        Self {
            network,
            landmarks_output: landmarks_output.to_owned(),
            presence_output: presence_output.to_owned(),
            crops: Recycler::default(),
        }
    }

    /// Crops `roi` out of `image` and returns the landmarks in image pixels.
    pub fn detect_landmarks(&self, image: &RgbImage, roi: &Roi) -> Result<FaceLandmarks, Error> {
        let mut input = self.crops.take();
        let outputs = crop_rotated_into(image, roi, INPUT_SIZE, &mut input).and_then(|()| {
            self.network.run(
                &input,
                &[1, INPUT_SIZE, INPUT_SIZE, 3],
                &[&self.landmarks_output, &self.presence_output],
            )
        });
        self.crops.give(input);
        let outputs = outputs?;
        let (coords, presence) = (&outputs[0].data, &outputs[1].data);
        if coords.len() != NUM_LANDMARKS * 3 || presence.is_empty() {
            return Err(Error::Model(format!(
                "landmark output shapes {:?} and {:?}",
                outputs[0].shape, outputs[1].shape
            )));
        }
        let size = INPUT_SIZE as f32;
        let z_scale = roi.side / size;
        let points = coords
            .chunks_exact(3)
            .map(|c| {
                let [x, y] = roi.to_image(c[0], c[1], size);
                [x, y, c[2] * z_scale]
            })
            .collect();
        Ok(FaceLandmarks {
            points,
            presence: 1.0 / (1.0 + (-presence[0]).exp()),
        })
    }
}
