//! The model files: three ONNX networks converted from MediaPipe's Face Landmarker
//! (Apache-2.0, see `models/README.md`) and the canonical face mesh used for head pose.
//!
//! With the `embedded-models` feature (default) they are compiled into the library, so the
//! program needs no files at run time. The library never reads a path: callers that load
//! models from elsewhere pass the bytes in.

use serde::Deserialize;

use crate::Error;

/// The raw bytes of every model the pipeline needs.
#[derive(Debug, Clone, Copy)]
pub struct ModelBytes {
    /// BlazeFace short-range: NHWC 1x128x128x3 RGB in [-1, 1].
    pub face_detector: &'static [u8],
    /// Face mesh with irises: NHWC 1x256x256x3 RGB in [0, 1].
    pub face_landmarks: &'static [u8],
    /// Blendshapes: 1x146x2 landmark coordinates.
    pub face_blendshapes: &'static [u8],
    /// JSON: the canonical face mesh and Procrustes weights (`models/canonical_face.json`).
    pub canonical_face_json: &'static [u8],
    /// JSON: landmark subset and category names for the blendshape model.
    pub blendshapes_subset_json: &'static [u8],
}

#[cfg(feature = "embedded-models")]
impl ModelBytes {
    /// The models compiled into the library.
    pub fn embedded() -> Self {
        Self {
            face_detector: include_bytes!("../../../models/face_detector.onnx"),
            face_landmarks: include_bytes!("../../../models/face_landmarks_detector.onnx"),
            face_blendshapes: include_bytes!("../../../models/face_blendshapes.onnx"),
            canonical_face_json: include_bytes!("../../../models/canonical_face.json"),
            blendshapes_subset_json: include_bytes!("../../../models/blendshapes_subset.json"),
        }
    }
}

/// MediaPipe's canonical face (units: cm; x toward the subject's left, y up, z out of the face).
#[derive(Debug, Clone)]
pub struct CanonicalFace {
    pub vertices: Vec<[f32; 3]>,
    /// `(landmark index, weight)` pairs for the Procrustes fit.
    pub procrustes_weights: Vec<(usize, f32)>,
}

#[derive(Deserialize)]
struct CanonicalFaceFile {
    vertices: Vec<[f32; 3]>,
    procrustes_weights: Vec<(f64, f32)>,
}

impl CanonicalFace {
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let file: CanonicalFaceFile = serde_json::from_slice(bytes)
            .map_err(|e| Error::Model(format!("canonical face: {e}")))?;
        let n = file.vertices.len();
        let procrustes_weights = file
            .procrustes_weights
            .into_iter()
            .map(|(i, w)| (i as usize, w))
            .filter(|&(i, _)| i < n)
            .collect::<Vec<_>>();
        if n < 468 || procrustes_weights.is_empty() {
            return Err(Error::Model(format!(
                "canonical face: {n} vertices, {} weights",
                procrustes_weights.len()
            )));
        }
        Ok(Self {
            vertices: file.vertices,
            procrustes_weights,
        })
    }
}

/// Which landmarks feed the blendshape model, and the names of its outputs.
#[derive(Debug, Clone, Deserialize)]
pub struct BlendshapeSpec {
    #[serde(rename = "landmarks_subset_idxs")]
    pub landmark_indices: Vec<usize>,
    #[serde(rename = "blendshape_names")]
    pub categories: Vec<String>,
}

impl BlendshapeSpec {
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::Model(format!("blendshape spec: {e}")))
    }

    pub fn category(&self, name: &str) -> Option<usize> {
        self.categories.iter().position(|c| c == name)
    }
}
