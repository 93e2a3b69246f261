//! Tests of [`super`]: synthetic frames with known head and gaze directions, and the calibrations
//! that must be refused with a reason.

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
