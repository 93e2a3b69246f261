//! Eye-blink scores from MediaPipe's blendshape model (`face_blendshapes.tflite`).
//!
//! Input: 146 of the 478 landmarks as `(x, y)` in image pixels, shape 1x146x2 (the model
//! normalises them itself). Output: 52 blendshape scores in [0, 1], of which Focus Sentry
//! uses the eye ones: `eyeBlink*`, `eyeLookDown*`, `eyeLookUp*`, `eyeLookIn*`, `eyeLookOut*`.

use crate::{Error, EyePair, engine::Network, landmarks::FaceLandmarks, models::BlendshapeSpec};

/// The blendshape network with its landmark subset and the positions of the blink scores.
#[derive(Debug)]
pub struct BlendshapeModel {
    network: Box<dyn Network>,
    output: String,
    indices: Vec<usize>,
    /// Output positions of the eye categories, `(left, right)` pairs, in [`EyeScores`] order.
    eye_categories: [(usize, usize); 5],
}

/// The eye blendshape scores, each per eye, in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeScores {
    pub blink: EyePair,
    pub look_down: EyePair,
    pub look_up: EyePair,
    /// Toward the nose.
    pub look_in: EyePair,
    /// Toward the temple.
    pub look_out: EyePair,
}

impl BlendshapeModel {
    pub fn new(
        network: Box<dyn Network>,
        output: &str,
        spec: &BlendshapeSpec,
    ) -> Result<Self, Error> {
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
            eye_categories: [
                (find("eyeBlinkLeft")?, find("eyeBlinkRight")?),
                (find("eyeLookDownLeft")?, find("eyeLookDownRight")?),
                (find("eyeLookUpLeft")?, find("eyeLookUpRight")?),
                (find("eyeLookInLeft")?, find("eyeLookInRight")?),
                (find("eyeLookOutLeft")?, find("eyeLookOutRight")?),
            ],
        })
    }

    /// Blink and eye-direction scores of the subject's left and right eye.
    pub fn estimate_eyes(&self, face: &FaceLandmarks) -> Result<EyeScores, Error> {
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
            scores.get(i).copied().ok_or_else(|| {
                Error::Model(format!("blendshape output has {} scores", scores.len()))
            })
        };
        let pair = |(l, r): (usize, usize)| -> Result<EyePair, Error> {
            Ok(EyePair {
                left: get(l)?,
                right: get(r)?,
            })
        };
        let [blink, down, up, inward, outward] = self.eye_categories;
        Ok(EyeScores {
            blink: pair(blink)?,
            look_down: pair(down)?,
            look_up: pair(up)?,
            look_in: pair(inward)?,
            look_out: pair(outward)?,
        })
    }
}
