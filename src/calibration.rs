//! Calibrating from the camera: the frames the calibration page takes while the user looks at
//! each dot (the centre, then the four corners; or the centre alone) become a saved profile,
//! or the reason, in words, why the calibration cannot be trusted.
//!
//! One [`CalibrationRun`] per calibration. Each frame is analysed as it arrives, through the
//! same [`Vision`] inference slots and held-frame bound as live sessions' frames (with a
//! tracker of its own, as a session has), and only its numbers are kept
//! ([`focus_vision::calibration::Calibration`]): the frame is dropped once analysed, never
//! stored or logged. [`CalibrationRun::save`] builds the profile with the vision crate's rules
//! and stores it through [`crate::profiles`]; a refused calibration stores nothing.
//! [`CalibrationRun::save_zone`] adds an extra zone (the user looked at their notes or a
//! second monitor instead of the dots) to a saved profile.
//!
//! Errors are this layer's own ([`CalibrateError`]); `web` turns them into messages.

use bytes::Bytes;
use focus_vision::Profile;
use focus_vision::calibration::{
    Calibration, CalibrationError, CalibrationPoint, CalibrationRules,
};

use crate::db::Db;
use crate::profiles::{self, ProfileError, SavedProfile};
use crate::vision::{AnalyzeError, SessionTracker, Vision};

/// The most frames one calibration takes: 5 points of ~2 s at 5 frames a second is 50;
/// this leaves room for a slower dot or a faster page, and bounds what a client can send.
pub const MAX_FRAMES: usize = 300;

/// The longest zone name kept, in characters (the same rule as a zone's rename).
pub use crate::profiles::ZONE_NAME_MAX_CHARS;

/// The most extra zones one profile keeps.
pub const MAX_ZONES: usize = 8;

/// Why a calibration step failed.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    /// The calibration cannot be trusted (no face, eyes closed, the user moved, points that
    /// do not separate...); the message is written for the user. Nothing was saved.
    #[error(transparent)]
    Refused(#[from] CalibrationError),
    /// The profile was built but could not be saved (a bad or taken name, the store).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// This frame got no analysis (unusable, the server busy, the models failed); the
    /// calibration goes on without it.
    #[error(transparent)]
    Frame(#[from] AnalyzeError),
    /// A frame came before the page said which point it shows.
    #[error("say which point is shown before sending frames")]
    NoPoint,
    /// The calibration has taken [`MAX_FRAMES`] frames already.
    #[error("a calibration takes at most {MAX_FRAMES} frames; this one has them all")]
    TooManyFrames,
}

/// What one analysed frame added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameNote {
    pub point: CalibrationPoint,
    /// Whether the frame showed a face.
    pub face: bool,
    /// Frames taken at this point so far, and how many of them showed a face.
    pub frames: usize,
    pub faces: usize,
}

/// One calibration in progress: its tracker, the point being shown and the frames' numbers.
#[derive(Debug)]
pub struct CalibrationRun {
    vision: Vision,
    tracker: SessionTracker,
    calibration: Calibration,
    point: Option<CalibrationPoint>,
    /// Per point (in [`CalibrationPoint::ALL`] order): frames analysed, and those with a face.
    counts: [(usize, usize); 5],
}

fn index(point: CalibrationPoint) -> usize {
    CalibrationPoint::ALL
        .iter()
        .position(|p| *p == point)
        .unwrap_or(0)
}

impl CalibrationRun {
    pub fn new(vision: Vision) -> Self {
        let tracker = vision.tracker();
        CalibrationRun {
            vision,
            tracker,
            calibration: Calibration::new(CalibrationRules::default()),
            point: None,
            counts: [(0, 0); 5],
        }
    }

    /// The frames that follow were taken while the user looked at `point`.
    pub fn look_at(&mut self, point: CalibrationPoint) {
        self.point = Some(point);
    }

    /// Frames analysed so far, all points together.
    pub fn frames(&self) -> usize {
        self.counts.iter().map(|(frames, _)| frames).sum()
    }

    /// Analyses one frame (a JPEG as the page sent it) and adds its numbers to the point
    /// being shown. The frame is dropped when this returns.
    ///
    /// # Errors
    ///
    /// [`CalibrateError::NoPoint`] before [`CalibrationRun::look_at`];
    /// [`CalibrateError::TooManyFrames`]; [`CalibrateError::Frame`] when the frame got no
    /// analysis (it is not counted).
    pub async fn add_frame(&mut self, frame: Bytes) -> Result<FrameNote, CalibrateError> {
        let point = self.point.ok_or(CalibrateError::NoPoint)?;
        if self.frames() >= MAX_FRAMES {
            return Err(CalibrateError::TooManyFrames);
        }
        let analysis = self.vision.analyze(&self.tracker, frame).await?;
        self.calibration.add(point, &analysis);
        let face = analysis.face.is_some();
        let (frames, faces) = &mut self.counts[index(point)];
        *frames += 1;
        *faces += usize::from(face);
        Ok(FrameNote {
            point,
            face,
            frames: *frames,
            faces: *faces,
        })
    }

    /// The profile the frames so far make: a full calibration when every corner has frames,
    /// a quick one from the centre alone.
    ///
    /// # Errors
    ///
    /// The [`CalibrationError`] that says why it cannot be trusted.
    pub fn build(&self) -> Result<Profile, CalibrationError> {
        self.calibration.build()
    }

    /// Builds the profile and saves it as `name`, made at `now_ms`.
    ///
    /// # Errors
    ///
    /// [`CalibrateError::Refused`] (nothing saved; calibrate again) or
    /// [`CalibrateError::Profile`] (a bad or taken name: the frames' numbers are kept, so the
    /// caller may try another name).
    pub async fn save(
        &self,
        db: &Db,
        name: &str,
        now_ms: i64,
    ) -> Result<SavedProfile, CalibrateError> {
        let profile = self.build()?;
        Ok(profiles::create(db, name, &profile, now_ms).await?)
    }
    /// Builds an extra zone ("notes", "second monitor") from the frames, taken at the centre
    /// point while the user looked at the zone, and adds it to profile `profile_id` under
    /// `zone` (replacing a zone of that name). The zone is checked against the profile's
    /// screen as stored at that moment.
    ///
    /// # Errors
    ///
    /// [`CalibrateError::Refused`] (no face, eyes closed, the zone lies on the screen, no
    /// name: nothing saved) or [`CalibrateError::Profile`] (no such profile, or one this
    /// version cannot read).
    pub async fn save_zone(
        &self,
        db: &Db,
        profile_id: i64,
        zone: &str,
    ) -> Result<SavedProfile, CalibrateError> {
        profiles::check_zone_name_length(zone, "zone")?;
        let calibration = self.calibration.clone();
        let zone = zone.to_owned();
        profiles::change(db, profile_id, move |profile| {
            let zone = calibration.build_zone(&zone, profile)?;
            let new = !profile.zones.iter().any(|z| z.name == zone.name);
            if new && profile.zones.len() >= MAX_ZONES {
                return Err(CalibrateError::Profile(ProfileError::Invalid {
                    field: "zone",
                    detail: format!(
                        "a profile has at most {MAX_ZONES} zones; calibrate one again under its name to replace it"
                    ),
                }));
            }
            profile.set_zone(zone);
            Ok(())
        })
        .await?
    }
}
