//! Focus Sentry's vision core: one webcam frame in, an attention verdict out.
//!
//! Pure and synchronous: bytes in, a [`FrameAnalysis`] out. No async, no I/O, no logging of
//! frames. Models come in already loaded (by default compiled into the library, see
//! [`ModelBytes::embedded`]).
//!
//! # Layout
//! - [`analysis`]: the result types ([`FrameAnalysis`], [`FaceObservation`], [`Reason`]).
//! - [`decode`]: JPEG/PNG bytes to RGB, with size limits checked before allocating.
//! - [`engine`]: the [`engine::InferenceEngine`] trait and its `rten` implementation.
//! - [`detect`]: BlazeFace short-range face detection (anchors, decoding, NMS).
//! - [`crop`]: rotated, eyes-level face crops by affine resampling.
//! - [`landmarks`]: the 478-point face mesh (with irises) and face-presence score.
//! - [`blendshapes`]: eye-blink scores from MediaPipe's blendshape model.
//! - [`eyes`]: eye aspect ratio and eye visibility.
//! - [`pose`]: head pose by weighted Procrustes fit to the canonical face.
//! - [`gaze`]: where the eyes look: an eye-in-head model from the irises, plus the head pose.
//! - [`profile`]: a person's calibration ([`Profile`]): where their screen is, their open
//!   eyes, their head at rest.
//! - [`calibration`]: frames at known points become a profile ([`calibration::Calibration`]),
//!   or an error that says what went wrong.
//! - [`classify`]: the rules ([`Params`]) and the focused / reason decision, relative to a
//!   profile.
//! - [`fatigue`]: blinks, blink rate and PERCLOS over a stream, with time passed in.
//! - `frame`: a frame under analysis, decoded only in the region its readers ask for.
//! - [`pipeline`]: the stateless [`FaceAnalyzer`] and the stateful [`FaceTracker`].
//! - [`framing`]: framing advice for a camera preview (face found, centred, near, lit).
//! - `recycle`: the per-frame buffers (decoded frame, face crop) kept for the next frame.

pub mod analysis;
pub mod blendshapes;
pub mod calibration;
pub mod classify;
pub mod crop;
pub mod decode;
pub mod detect;
pub mod engine;
pub mod error;
pub mod eyes;
pub mod fatigue;
mod frame;
pub mod framing;
pub mod gaze;
pub mod landmarks;
pub mod models;
pub mod pipeline;
pub mod pose;
pub mod profile;
mod recycle;

pub use analysis::{Away, EyePair, FaceObservation, FrameAnalysis, Gaze, HeadPose, Reason};
pub use classify::Params;
pub use decode::DecodeLimits;
pub use error::Error;
pub use models::ModelBytes;
pub use pipeline::{FaceAnalyzer, FaceTracker};
pub use profile::Profile;
