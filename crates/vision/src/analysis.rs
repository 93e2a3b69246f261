//! The result of analysing one frame: the attention verdict and the face measurements behind it.
//!
//! Coordinates are pixels of the analysed image, origin top-left, x right, y down.
//! Angles are degrees. See [`HeadPose`] for the sign conventions.

use serde::Serialize;

/// Why a frame is not focused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No face was found in the frame (or the face model rejected the crop).
    NoFace,
    /// A face is there but both eyes are closed.
    EyesClosed,
    /// The head (or the gaze) is turned away from the screen.
    LookingAway,
}

impl Reason {
    /// The wire name, as in JSON: `no_face`, `eyes_closed`, `looking_away`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoFace => "no_face",
            Reason::EyesClosed => "eyes_closed",
            Reason::LookingAway => "looking_away",
        }
    }
}

/// A pair of per-eye measurements. `left` is the subject's left eye (image right in an
/// unmirrored photo), as MediaPipe names them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EyePair {
    pub left: f32,
    pub right: f32,
}

/// Head orientation relative to the camera, from a weighted Procrustes fit of the landmarks
/// to MediaPipe's canonical face.
///
/// Conventions (those of the AFLW2000-3D labels used for evaluation):
/// - `yaw_deg > 0`: face turned toward image-left (the subject's right),
/// - `pitch_deg > 0`: head tilted up,
/// - `roll_deg > 0`: the head tilts clockwise on screen (the line from the subject's right
///   eye to their left eye turns clockwise; see [`crate::pose`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadPose {
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub roll_deg: f32,
}

/// Where the irises sit inside the eyes, averaged over both eyes.
///
/// `horizontal`: -1 at the image-left eye corner, +1 at the image-right corner, 0 centred.
/// `vertical`: -1 at the upper lid, +1 at the lower lid, 0 centred.
/// `yaw_deg`/`pitch_deg`: the gaze direction in the camera frame (head pose plus the eye
/// rotation estimated from the iris offset), same sign conventions as [`HeadPose`].
/// `look_down`/`look_up`: MediaPipe's `eyeLookDown*`/`eyeLookUp*` blendshape scores, mean of
/// both eyes, in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gaze {
    pub horizontal: f32,
    pub vertical: f32,
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub look_down: f32,
    pub look_up: f32,
}

/// Everything measured about the face in a frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceObservation {
    /// Confidence that this is a face, in [0, 1] (the landmark model's presence score).
    pub score: f32,
    /// Bounding box of the landmarks, `[x0, y0, x1, y1]` in image pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    /// Eye aspect ratio per eye (lid gap / eye width); about 0.25-0.35 open, below 0.1 closed.
    pub eye_openness: EyePair,
    /// MediaPipe blendshape scores `eyeBlinkLeft` / `eyeBlinkRight`, in [0, 1].
    pub blink: EyePair,
    pub head_pose: HeadPose,
    pub gaze: Gaze,
    /// Whether the eyes could be measured (false e.g. behind sunglasses). When false, the
    /// eye state does not count against focus.
    pub eyes_visible: bool,
    /// The 478 landmarks in image pixels (x, y) with relative depth z (pixels, same scale).
    #[serde(skip)]
    pub landmarks: Vec<[f32; 3]>,
}

/// The verdict for one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameAnalysis {
    pub focused: bool,
    pub reason: Option<Reason>,
    pub face: Option<FaceObservation>,
    /// Width and height of the analysed image in pixels.
    #[serde(skip)]
    pub image_size: (u32, u32),
}
