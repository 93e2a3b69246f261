//! Eye-blink scores from MediaPipe's blendshape model (`face_blendshapes.tflite`).
//!
//! Input: 146 of the 478 landmarks as `(x, y)` in image pixels, shape 1x146x2 (the model
//! normalises them itself). Output: 52 blendshape scores in [0, 1], of which Focus Sentry
//! uses `eyeBlinkLeft` and `eyeBlinkRight`.

use crate::{Error, EyePair, engine::Network, landmarks::FaceLandmarks, models::BlendshapeSpec};

/// The blendshape network with its landmark subset and the positions of the blink scores.
#[derive(Debug)]
pub struct BlendshapeModel {
    network: Box<dyn Network>,
    output: String,
    indices: Vec<usize>,
    blink_left: usize,
    blink_right: usize,
}

impl BlendshapeModel {
    pub fn new(network: Box<dyn Network>, output: &str, spec: &BlendshapeSpec) -> Result<Self, Error> {
        let find = |name: &str| {
            spec.category(name)
                .ok_or_else(|| Error::Model(format!("blendshape spec has no {name}")))
        };
        if spec.landmark_indices.len() != 146 {
            return Err(Error::Model(format!(
                "blendshape spec has {} landmark indices, expected 146",
                spec.landmark_indices.len()
            )));
        }
        Ok(Self {
            network,
            output: output.to_owned(),
            indices: spec.landmark_indices.clone(),
            blink_left: find("eyeBlinkLeft")?,
            blink_right: find("eyeBlinkRight")?,
        })
    }

    /// Blink scores of the subject's left and right eye.
    pub fn estimate_blinks(&self, face: &FaceLandmarks) -> Result<EyePair, Error> {
        let mut input = Vec::with_capacity(self.indices.len() * 2);
        for &i in &self.indices {
            let p = face
                .points
                .get(i)
                .ok_or_else(|| Error::Model(format!("landmark {i} missing")))?;
            input.extend_from_slice(&[p[0], p[1]]);
        }
        let outputs = self
            .network
            .run(&input, &[1, self.indices.len(), 2], &[&self.output])?;
        let scores = &outputs[0].data;
        let get = |i: usize| {
            scores
                .get(i)
                .copied()
                .ok_or_else(|| Error::Model(format!("blendshape output has {} scores", scores.len())))
        };
        Ok(EyePair {
            left: get(self.blink_left)?,
            right: get(self.blink_right)?,
        })
    }
}
