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

/// Which way a `looking_away` frame looks away: the words a person reads ("looking down").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Away {
    /// The head is turned to the side, past the screen.
    HeadTurned,
    /// The head (or the gaze) points below the screen, including lids lowered over eyes cast
    /// down at a desk.
    LookingDown,
    /// The head (or the gaze) points above the screen.
    LookingUp,
    /// The head faces the screen but the eyes are turned off it.
    EyesAside,
    /// The tracked face turned out of the face model's range (a profile, or further): a face
    /// is still there, turned away.
    TurnedOutOfView,
}

impl Away {
    /// The wire name: `head_turned`, `looking_down`, `looking_up`, `eyes_aside`,
    /// `turned_out_of_view`.
    pub fn as_str(self) -> &'static str {
        match self {
            Away::HeadTurned => "head_turned",
            Away::LookingDown => "looking_down",
            Away::LookingUp => "looking_up",
            Away::EyesAside => "eyes_aside",
            Away::TurnedOutOfView => "turned_out_of_view",
        }
    }

    /// A few words for people: "head turned", "looking down", ...
    pub fn words(self) -> &'static str {
        match self {
            Away::HeadTurned => "head turned",
            Away::LookingDown => "looking down",
            Away::LookingUp => "looking up",
            Away::EyesAside => "eyes turned away",
            Away::TurnedOutOfView => "turned out of view",
        }
    }
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

/// Where the eyes look (see [`crate::gaze`] for the eye model).
///
/// `eye_yaw_deg`/`eye_pitch_deg`: the eyes' rotation in the head, both eyes together, the
/// same sign conventions as [`HeadPose`] (eyes turned toward image-left: positive yaw; up:
/// positive pitch). `yaw_deg`/`pitch_deg`: the gaze direction in the camera frame, the head's rotation
/// and the eyes' together; 0/0 looks straight into the camera.
/// `iris_drop`: how far the irises sit below the line through the eye corners, in eye widths
/// (positive = lower; about -0.1 for eyes looking ahead, above 0 for eyes cast down or shut).
/// `look_down`/`look_up`: MediaPipe's `eyeLookDown*`/`eyeLookUp*` blendshape scores, mean of
/// both eyes, in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gaze {
    pub eye_yaw_deg: f32,
    pub eye_pitch_deg: f32,
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub iris_drop: f32,
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
    /// With `reason` = `looking_away`: which way.
    pub away: Option<Away>,
    /// When focused on an extra zone of the profile ("notes"), its name; `None` on the screen.
    pub zone: Option<String>,
    /// How closed the eyes are, 0 = the open-eye baseline, 1 = shut (see
    /// [`crate::eyes::eye_closure`]); `None` without a face or when the eyes cannot be seen.
    pub eye_closure: Option<f32>,
    pub face: Option<FaceObservation>,
    /// Width and height of the analysed image in pixels.
    #[serde(skip)]
    pub image_size: (u32, u32),
}
