//! Calibration: frames taken while the person looks at known points of their screen (the
//! centre, then the four corners; or the centre alone for a quick calibration) become a
//! [`Profile`], or a [`CalibrationError`] that says what went wrong in words for them.
//!
//! Pure: frames' measurements in, a profile out; it keeps numbers only, never images. The
//! command line (`focus-sentry calibrate`) and the app's calibration page use the same code.
//!
//! Angles follow [`crate::profile`]: degrees, yaw > 0 toward image-left, pitch > 0 up.

use serde::{Deserialize, Serialize};

use crate::{
    FaceObservation, FrameAnalysis,
    eyes::{EyeBaseline, eye_closure},
    profile::{
        CalibrationMode, Direction, Margin, PROFILE_VERSION, Profile, QUICK_HALF_EXTENT, Region,
        Target, Zone,
    },
};

/// The points of a calibration, as the user sees their screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationPoint {
    Center,
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

impl CalibrationPoint {
    pub const ALL: [CalibrationPoint; 5] = [
        CalibrationPoint::Center,
        CalibrationPoint::TopLeft,
        CalibrationPoint::TopRight,
        CalibrationPoint::BottomLeft,
        CalibrationPoint::BottomRight,
    ];

    /// Words for messages: "the centre", "the top-left corner".
    pub fn words(self) -> &'static str {
        match self {
            CalibrationPoint::Center => "the centre",
            CalibrationPoint::TopLeft => "the top-left corner",
            CalibrationPoint::TopRight => "the top-right corner",
            CalibrationPoint::BottomLeft => "the bottom-left corner",
            CalibrationPoint::BottomRight => "the bottom-right corner",
        }
    }

    /// The wire name: `center`, `top_left`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            CalibrationPoint::Center => "center",
            CalibrationPoint::TopLeft => "top_left",
            CalibrationPoint::TopRight => "top_right",
            CalibrationPoint::BottomLeft => "bottom_left",
            CalibrationPoint::BottomRight => "bottom_right",
        }
    }
}

/// Why a calibration was refused. The messages are written for the person calibrating.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    #[error("no frames for {}", .0.words())]
    NoFrames(CalibrationPoint),
    #[error(
        "no face was seen while you looked at {}: sit facing the screen, with your face lit and in view",
        .0.words()
    )]
    NoFace(CalibrationPoint),
    #[error(
        "your eyes could not be seen at {}: dark glasses or glare hide them, and calibration needs them",
        .0.words()
    )]
    EyesHidden(CalibrationPoint),
    #[error("your eyes looked closed at {}: keep them open on the dot", .0.words())]
    EyesClosed(CalibrationPoint),
    #[error(
        "you moved during calibration (at {}): keep your head where it was for the centre dot and follow the dots with your eyes and head",
        .0.words()
    )]
    Moved(CalibrationPoint),
    #[error(
        "the points did not separate ({0}): look right at each dot while it is shown, then try again"
    )]
    PointsDoNotSeparate(String),
    #[error("the {0} zone lies where the screen is: calibrate it while looking at the zone itself")]
    ZoneOnScreen(String),
    #[error("a zone needs a name")]
    ZoneName,
}

/// What a calibration keeps from one frame: numbers only.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    head: (f32, f32),
    gaze: (f32, f32),
    eyes_visible: bool,
    openness: f32,
    blink: f32,
    closure_default: f32,
    /// Face box centre and width, frame pixels.
    centre: (f32, f32),
    width: f32,
}

impl Sample {
    fn of(face: &FaceObservation) -> Sample {
        let mean = |p: &crate::EyePair| (p.left + p.right) / 2.0;
        let [x0, y0, x1, y1] = face.bbox;
        Sample {
            head: (face.head_pose.yaw_deg, face.head_pose.pitch_deg),
            gaze: (face.gaze.yaw_deg, face.gaze.pitch_deg),
            eyes_visible: face.eyes_visible,
            openness: mean(&face.eye_openness),
            blink: mean(&face.blink),
            closure_default: eye_closure(&face.eye_openness, &face.blink, &EyeBaseline::DEFAULT),
            centre: ((x0 + x1) / 2.0, (y0 + y1) / 2.0),
            width: (x1 - x0).max(1.0),
        }
    }
}

/// The rules a calibration is checked against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationRules {
    /// At least this share of a point's frames must show a face.
    pub min_face_share: f32,
    /// A point's eyes read closed when the median closure (on the default scale) reaches
    /// this: the default `eyes_closed` threshold.
    pub closed_closure: f32,
    /// Head pose spread within one point (median absolute deviation, degrees) above which the
    /// user was moving.
    pub max_head_spread_deg: f32,
    /// How far the face may shift between points, in face widths...
    pub max_shift_widths: f32,
    /// ...and how much its size may change (fraction).
    pub max_size_change: f32,
    /// Corners must lie at least this far apart (degrees of gaze), left from right and top
    /// from bottom.
    pub min_separation_deg: f32,
}

impl Default for CalibrationRules {
    fn default() -> Self {
        Self {
            min_face_share: 0.5,
            closed_closure: 0.65,
            max_head_spread_deg: 6.0,
            max_shift_widths: 0.5,
            max_size_change: 0.25,
            min_separation_deg: 5.0,
        }
    }
}

/// Collects frames per point and builds a [`Profile`] (or a [`Zone`]) from them.
#[derive(Debug, Clone, Default)]
pub struct Calibration {
    /// Per point: every frame's sample, `None` for a frame without a face.
    frames: Vec<(CalibrationPoint, Option<Sample>)>,
    rules: CalibrationRules,
}

fn median(mut values: Vec<f32>) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f32::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Median absolute deviation from the median.
fn spread(values: &[f32]) -> f32 {
    let Some(m) = median(values.to_vec()) else {
        return 0.0;
    };
    median(values.iter().map(|v| (v - m).abs()).collect()).unwrap_or(0.0)
}

/// A point's summary: medians over its frames with a face.
#[derive(Debug, Clone, Copy)]
struct PointSummary {
    head: (f32, f32),
    gaze: (f32, f32),
    centre: (f32, f32),
    width: f32,
}

impl Calibration {
    pub fn new(rules: CalibrationRules) -> Self {
        Self {
            frames: Vec::new(),
            rules,
        }
    }

    /// Adds one analysed frame taken while the user looked at `point`.
    pub fn add(&mut self, point: CalibrationPoint, analysis: &FrameAnalysis) {
        self.frames
            .push((point, analysis.face.as_ref().map(Sample::of)));
    }

    /// Frames added so far for `point`.
    pub fn frames_at(&self, point: CalibrationPoint) -> usize {
        self.frames.iter().filter(|(p, _)| *p == point).count()
    }

    fn samples(&self, point: CalibrationPoint) -> Result<Vec<Sample>, CalibrationError> {
        let all: Vec<&Option<Sample>> = self
            .frames
            .iter()
            .filter(|(p, _)| *p == point)
            .map(|(_, s)| s)
            .collect();
        if all.is_empty() {
            return Err(CalibrationError::NoFrames(point));
        }
        let faces: Vec<Sample> = all.iter().filter_map(|s| **s).collect();
        if faces.is_empty() || (faces.len() as f32) < self.rules.min_face_share * all.len() as f32 {
            return Err(CalibrationError::NoFace(point));
        }
        Ok(faces)
    }

    /// Checks one point's frames and sums them up.
    fn summarise(&self, point: CalibrationPoint) -> Result<PointSummary, CalibrationError> {
        let faces = self.samples(point)?;
        let visible: Vec<&Sample> = faces.iter().filter(|s| s.eyes_visible).collect();
        if visible.len() * 2 < faces.len() {
            return Err(CalibrationError::EyesHidden(point));
        }
        let closure = median(visible.iter().map(|s| s.closure_default).collect());
        if closure.is_some_and(|c| c >= self.rules.closed_closure) {
            return Err(CalibrationError::EyesClosed(point));
        }
        let yaw: Vec<f32> = faces.iter().map(|s| s.head.0).collect();
        let pitch: Vec<f32> = faces.iter().map(|s| s.head.1).collect();
        if spread(&yaw) > self.rules.max_head_spread_deg
            || spread(&pitch) > self.rules.max_head_spread_deg
        {
            return Err(CalibrationError::Moved(point));
        }
        let med = |f: fn(&Sample) -> f32| median(faces.iter().map(f).collect()).unwrap_or(0.0);
        // Gaze from the frames whose eyes can be seen.
        let med_visible =
            |f: fn(&Sample) -> f32| median(visible.iter().map(|s| f(s)).collect()).unwrap_or(0.0);
        Ok(PointSummary {
            head: (med(|s| s.head.0), med(|s| s.head.1)),
            gaze: (med_visible(|s| s.gaze.0), med_visible(|s| s.gaze.1)),
            centre: (med(|s| s.centre.0), med(|s| s.centre.1)),
            width: med(|s| s.width),
        })
    }

    /// The open-eye baseline: medians over the centre point's frames with the eyes seen.
    fn eye_baseline(&self) -> Result<EyeBaseline, CalibrationError> {
        let faces = self.samples(CalibrationPoint::Center)?;
        let visible: Vec<&Sample> = faces.iter().filter(|s| s.eyes_visible).collect();
        let openness = median(visible.iter().map(|s| s.openness).collect());
        let blink = median(visible.iter().map(|s| s.blink).collect());
        match (openness, blink) {
            (Some(openness), Some(blink)) => Ok(EyeBaseline { openness, blink }),
            _ => Err(CalibrationError::EyesHidden(CalibrationPoint::Center)),
        }
    }

    /// Builds the profile: [`CalibrationMode::Full`] when every corner has frames, else
    /// [`CalibrationMode::Quick`] from the centre alone. Corners given only in part are an
    /// error (the calibration was cut short).
    pub fn build(&self) -> Result<Profile, CalibrationError> {
        let centre = self.summarise(CalibrationPoint::Center)?;
        let eyes = self.eye_baseline()?;
        let corners = &CalibrationPoint::ALL[1..];
        let given: Vec<CalibrationPoint> = corners
            .iter()
            .copied()
            .filter(|p| self.frames_at(*p) > 0)
            .collect();
        let head_rest = Direction {
            yaw_deg: centre.head.0,
            pitch_deg: centre.head.1,
        };
        if given.is_empty() {
            return Ok(Profile {
                version: PROFILE_VERSION,
                mode: CalibrationMode::Quick,
                screen: quick_target(&centre),
                head_rest,
                eyes,
                zones: Vec::new(),
            });
        }
        if let Some(missing) = corners.iter().find(|p| !given.contains(p)) {
            return Err(CalibrationError::NoFrames(*missing));
        }
        let mut summaries = vec![(CalibrationPoint::Center, centre)];
        for &point in corners {
            let s = self.summarise(point)?;
            self.check_still(point, &centre, &s)?;
            summaries.push((point, s));
        }
        self.check_separation(&summaries)?;
        let gaze = Region::bounding(summaries.iter().map(|(_, s)| s.gaze));
        let head = Region::bounding(summaries.iter().map(|(_, s)| s.head));
        let (Some(gaze), Some(head)) = (gaze, head) else {
            return Err(CalibrationError::NoFrames(CalibrationPoint::Center));
        };
        Ok(Profile {
            version: PROFILE_VERSION,
            mode: CalibrationMode::Full,
            screen: Target { gaze, head },
            head_rest,
            eyes,
            zones: Vec::new(),
        })
    }

    /// Builds an extra zone from the frames taken at [`CalibrationPoint::Center`] while the
    /// user looked at the zone, and checks it against `profile`'s screen.
    pub fn build_zone(&self, name: &str, profile: &Profile) -> Result<Zone, CalibrationError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(CalibrationError::ZoneName);
        }
        let centre = self.summarise(CalibrationPoint::Center)?;
        let target = quick_target(&centre);
        let (yaw, pitch) = centre.gaze;
        if profile.screen.gaze.contains_within(
            yaw,
            pitch,
            Margin {
                yaw_deg: 0.0,
                pitch_deg: 0.0,
            },
        ) {
            return Err(CalibrationError::ZoneOnScreen(name.to_owned()));
        }
        Ok(Zone {
            name: name.to_owned(),
            target,
        })
    }

    fn check_still(
        &self,
        point: CalibrationPoint,
        centre: &PointSummary,
        s: &PointSummary,
    ) -> Result<(), CalibrationError> {
        let shift = ((s.centre.0 - centre.centre.0).powi(2)
            + (s.centre.1 - centre.centre.1).powi(2))
        .sqrt()
            / centre.width;
        let size = (s.width / centre.width - 1.0).abs();
        if shift > self.rules.max_shift_widths || size > self.rules.max_size_change {
            return Err(CalibrationError::Moved(point));
        }
        Ok(())
    }

    fn check_separation(
        &self,
        points: &[(CalibrationPoint, PointSummary)],
    ) -> Result<(), CalibrationError> {
        let gaze = |p: CalibrationPoint| {
            points
                .iter()
                .find(|(q, _)| *q == p)
                .map_or((0.0, 0.0), |(_, s)| s.gaze)
        };
        use CalibrationPoint::*;
        let mean2 = |a: f32, b: f32| (a + b) / 2.0;
        let left = mean2(gaze(TopLeft).0, gaze(BottomLeft).0);
        let right = mean2(gaze(TopRight).0, gaze(BottomRight).0);
        let top = mean2(gaze(TopLeft).1, gaze(TopRight).1);
        let bottom = mean2(gaze(BottomLeft).1, gaze(BottomRight).1);
        let min = self.rules.min_separation_deg;
        // The user's left is image-right: smaller yaw.
        if right - left < min {
            return Err(CalibrationError::PointsDoNotSeparate(format!(
                "the left and right corners were {:.0} degrees apart, at least {min:.0} needed",
                (right - left).max(0.0)
            )));
        }
        if top - bottom < min {
            return Err(CalibrationError::PointsDoNotSeparate(format!(
                "the top and bottom corners were {:.0} degrees apart, at least {min:.0} needed",
                (top - bottom).max(0.0)
            )));
        }
        let (cy, cp) = gaze(Center);
        let inside = Region::bounding(
            points
                .iter()
                .filter(|(p, _)| *p != Center)
                .map(|(_, s)| s.gaze),
        )
        .is_some_and(|r| {
            r.contains_within(
                cy,
                cp,
                Margin {
                    yaw_deg: min,
                    pitch_deg: min,
                },
            )
        });
        if !inside {
            return Err(CalibrationError::PointsDoNotSeparate(
                "the centre did not lie between the corners".to_owned(),
            ));
        }
        Ok(())
    }
}

/// A target known only by its centre: [`QUICK_HALF_EXTENT`] either side of it in gaze, the
/// centre's head direction for the head.
fn quick_target(centre: &PointSummary) -> Target {
    Target {
        gaze: Region::around(
            centre.gaze.0,
            centre.gaze.1,
            QUICK_HALF_EXTENT.yaw_deg,
            QUICK_HALF_EXTENT.pitch_deg,
        ),
        head: Region::point(centre.head.0, centre.head.1),
    }
}

#[cfg(test)]
mod tests;
