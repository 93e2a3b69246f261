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
mod tests {
    use super::*;
    use crate::{EyePair, Gaze, HeadPose};

    /// A frame with a face whose head points at `head` and gaze at `gaze` (degrees), eyes
    /// open at `ear`/`blink`, face box centred at `x` and `width` wide.
    fn frame(head: (f32, f32), gaze: (f32, f32), ear: f32, blink: f32) -> FrameAnalysis {
        frame_at(head, gaze, ear, blink, 320.0, 200.0)
    }

    fn frame_at(
        head: (f32, f32),
        gaze: (f32, f32),
        ear: f32,
        blink: f32,
        x: f32,
        width: f32,
    ) -> FrameAnalysis {
        let face = FaceObservation {
            score: 1.0,
            bbox: [x - width / 2.0, 100.0, x + width / 2.0, 100.0 + width],
            eye_openness: EyePair {
                left: ear,
                right: ear,
            },
            blink: EyePair {
                left: blink,
                right: blink,
            },
            head_pose: HeadPose {
                yaw_deg: head.0,
                pitch_deg: head.1,
                roll_deg: 0.0,
            },
            gaze: Gaze {
                eye_yaw_deg: gaze.0 - head.0,
                eye_pitch_deg: gaze.1 - head.1,
                yaw_deg: gaze.0,
                pitch_deg: gaze.1,
                iris_drop: -0.1,
                look_down: 0.1,
                look_up: 0.1,
            },
            eyes_visible: true,
            landmarks: Vec::new(),
        };
        FrameAnalysis {
            focused: true,
            reason: None,
            away: None,
            zone: None,
            eye_closure: Some(0.0),
            face: Some(face),
            image_size: (640, 480),
        }
    }

    fn no_face() -> FrameAnalysis {
        FrameAnalysis {
            focused: false,
            reason: Some(crate::Reason::NoFace),
            away: None,
            zone: None,
            eye_closure: None,
            face: None,
            image_size: (640, 480),
        }
    }

    /// A full calibration of a screen whose corners lie `half` degrees (gaze) either side of
    /// `centre`, the head following a third of the way.
    fn full(centre: (f32, f32), half: (f32, f32)) -> Calibration {
        let mut c = Calibration::new(CalibrationRules::default());
        for (point, (sx, sy)) in [
            (CalibrationPoint::Center, (0.0, 0.0)),
            // The user's left is image-right: smaller yaw.
            (CalibrationPoint::TopLeft, (-1.0, 1.0)),
            (CalibrationPoint::TopRight, (1.0, 1.0)),
            (CalibrationPoint::BottomLeft, (-1.0, -1.0)),
            (CalibrationPoint::BottomRight, (1.0, -1.0)),
        ] {
            for jitter in [-0.5f32, 0.0, 0.5] {
                let gaze = (
                    centre.0 + sx * half.0 + jitter,
                    centre.1 + sy * half.1 - jitter,
                );
                let head = (
                    centre.0 + sx * half.0 / 3.0 + jitter,
                    centre.1 + sy * half.1 / 3.0,
                );
                c.add(point, &frame(head, gaze, 0.28, 0.12));
            }
        }
        c
    }

    #[test]
    fn a_full_calibration_measures_the_screen() {
        let p = full((20.0, -10.0), (15.0, 9.0)).build().expect("builds");
        assert_eq!(p.mode, CalibrationMode::Full);
        let g = p.screen.gaze;
        assert!(
            (g.yaw_min_deg - 5.0).abs() < 0.6 && (g.yaw_max_deg - 35.0).abs() < 0.6,
            "{g:?}"
        );
        assert!(
            (g.pitch_min_deg + 19.0).abs() < 0.6 && (g.pitch_max_deg + 1.0).abs() < 0.6,
            "{g:?}"
        );
        assert_eq!(
            p.head_rest,
            Direction {
                yaw_deg: 20.0,
                pitch_deg: -10.0
            }
        );
        assert_eq!(
            p.eyes,
            EyeBaseline {
                openness: 0.28,
                blink: 0.12
            }
        );
        // And it survives JSON.
        assert_eq!(Profile::from_json(&p.to_json()), Ok(p));
    }

    #[test]
    fn the_centre_alone_is_a_quick_calibration_of_an_assumed_size() {
        let mut c = Calibration::new(CalibrationRules::default());
        for _ in 0..3 {
            c.add(
                CalibrationPoint::Center,
                &frame((30.0, -5.0), (32.0, -6.0), 0.3, 0.05),
            );
        }
        let p = c.build().expect("builds");
        assert_eq!(p.mode, CalibrationMode::Quick);
        assert_eq!(p.screen.gaze, Region::around(32.0, -6.0, 15.0, 10.0));
        assert_eq!(p.screen.head, Region::point(30.0, -5.0));
    }

    #[test]
    fn untrustworthy_calibrations_say_what_went_wrong() {
        use CalibrationPoint::*;
        let empty = Calibration::new(CalibrationRules::default());
        assert_eq!(empty.build(), Err(CalibrationError::NoFrames(Center)));

        // No face in most frames of a point.
        let mut c = full((0.0, -10.0), (15.0, 9.0));
        for _ in 0..4 {
            c.add(BottomLeft, &no_face());
        }
        assert_eq!(c.build(), Err(CalibrationError::NoFace(BottomLeft)));

        // Eyes shut at the centre.
        let mut c = Calibration::new(CalibrationRules::default());
        for _ in 0..3 {
            c.add(Center, &frame((0.0, 0.0), (0.0, 0.0), 0.07, 0.7));
        }
        assert_eq!(c.build(), Err(CalibrationError::EyesClosed(Center)));

        // Eyes hidden behind dark glasses.
        let mut hidden = frame((0.0, 0.0), (0.0, 0.0), 0.3, 0.05);
        if let Some(face) = hidden.face.as_mut() {
            face.eyes_visible = false;
        }
        let mut c = Calibration::new(CalibrationRules::default());
        c.add(Center, &hidden);
        assert_eq!(c.build(), Err(CalibrationError::EyesHidden(Center)));

        // The eyes (and head) did not move between the corners.
        let flat = full((0.0, -10.0), (2.0, 9.0));
        assert!(matches!(
            flat.build(),
            Err(CalibrationError::PointsDoNotSeparate(_))
        ));
        let flat = full((0.0, -10.0), (15.0, 1.0));
        assert!(matches!(
            flat.build(),
            Err(CalibrationError::PointsDoNotSeparate(_))
        ));
        // Left and right swapped (a mirrored camera would do it): refused too.
        let swapped = full((0.0, -10.0), (-15.0, 9.0));
        assert!(matches!(
            swapped.build(),
            Err(CalibrationError::PointsDoNotSeparate(_))
        ));

        // The user moved: the face shifted by a face width at a corner.
        let mut c = Calibration::new(CalibrationRules::default());
        for (point, x) in [
            (Center, 320.0),
            (TopLeft, 320.0),
            (TopRight, 320.0),
            (BottomLeft, 520.0),
            (BottomRight, 320.0),
        ] {
            let (sx, sy) = match point {
                TopLeft => (-1.0, 1.0),
                TopRight => (1.0, 1.0),
                BottomLeft => (-1.0, -1.0),
                BottomRight => (1.0, -1.0),
                Center => (0.0, 0.0),
            };
            let gaze = (sx * 15.0, -10.0 + sy * 9.0);
            c.add(point, &frame_at(gaze, gaze, 0.3, 0.05, x, 200.0));
        }
        assert_eq!(c.build(), Err(CalibrationError::Moved(BottomLeft)));

        // Restless within a point.
        let mut c = Calibration::new(CalibrationRules::default());
        for yaw in [-20.0, 0.0, 20.0, -15.0, 15.0] {
            c.add(Center, &frame((yaw, 0.0), (yaw, 0.0), 0.3, 0.05));
        }
        assert_eq!(c.build(), Err(CalibrationError::Moved(Center)));

        // Corners begun but not finished.
        let mut c = Calibration::new(CalibrationRules::default());
        c.add(Center, &frame((0.0, 0.0), (0.0, 0.0), 0.3, 0.05));
        c.add(TopLeft, &frame((-5.0, 3.0), (-15.0, 9.0), 0.3, 0.05));
        assert_eq!(c.build(), Err(CalibrationError::NoFrames(TopRight)));
    }

    #[test]
    fn zones_lie_off_the_screen_and_have_names() {
        let profile = full((0.0, -10.0), (15.0, 9.0)).build().expect("builds");
        let mut notes = Calibration::new(CalibrationRules::default());
        notes.add(
            CalibrationPoint::Center,
            &frame((-30.0, -30.0), (-45.0, -40.0), 0.25, 0.1),
        );
        let zone = notes.build_zone(" notes ", &profile).expect("zone");
        assert_eq!(zone.name, "notes");
        assert_eq!(zone.target.gaze, Region::around(-45.0, -40.0, 15.0, 10.0));
        assert_eq!(
            notes.build_zone("  ", &profile),
            Err(CalibrationError::ZoneName)
        );
        let mut on_screen = Calibration::new(CalibrationRules::default());
        on_screen.add(
            CalibrationPoint::Center,
            &frame((0.0, -10.0), (2.0, -8.0), 0.3, 0.1),
        );
        assert_eq!(
            on_screen.build_zone("notes", &profile),
            Err(CalibrationError::ZoneOnScreen("notes".to_owned()))
        );
        let mut p = profile;
        p.set_zone(zone.clone());
        p.set_zone(zone);
        assert_eq!(p.zones.len(), 1, "a zone of the same name is replaced");
    }
}
