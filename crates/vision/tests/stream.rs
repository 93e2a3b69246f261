//! A webcam stream with a known answer: the attentive stretch of the Pexels clip
//! (pyfeat_WolfgangLanger_Pexels, frames 141-436 every 5th, about 4.8 frames a second as in a
//! live session; tests/fixtures/stream, see its README for the source and licence)
//! followed by a [`FaceTracker`] without a calibration. The woman faces the camera with her
//! eyes open, looking into the camera, glancing aside and blinking; `eyes.tsv` beside the
//! frames says, by hand, where her eyes point in each frame. Nearly every frame looking into
//! the camera must read focused (a session's indicator turns red on two agreeing replies),
//! most glances well aside (past the uncalibrated rule's 30 degrees) must read
//! `looking_away`, and `eyes_closed` only the frames whose lids are shut.

use std::{path::PathBuf, sync::Arc};

use focus_vision::{FaceAnalyzer, FaceTracker, Reason};

fn stream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/stream/pexels_woman_attentive")
}

/// Where the eyes point in a frame, by hand (`eyes.tsv`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Eyes {
    Camera,
    Aside,
    Unclear,
    Shut,
}

/// The hand labels by source frame (24 fps numbering).
fn labels() -> Vec<(u32, Eyes)> {
    let text = std::fs::read_to_string(stream_dir().join("eyes.tsv")).expect("eyes.tsv reads");
    text.lines()
        .skip(1)
        .map(|line| {
            let mut cols = line.split('\t');
            let frame = cols
                .next()
                .and_then(|c| c.parse().ok())
                .expect("a frame number");
            let eyes = match cols.next() {
                Some("camera") => Eyes::Camera,
                Some("aside") => Eyes::Aside,
                Some("unclear") => Eyes::Unclear,
                Some("shut") => Eyes::Shut,
                other => panic!("frame {frame}: unknown label {other:?}"),
            };
            (frame, eyes)
        })
        .collect()
}

#[test]
fn the_attentive_stretch_of_a_stream_reads_as_her_eyes_point_without_a_profile() {
    let analyzer = Arc::new(FaceAnalyzer::embedded().expect("embedded models load"));
    let mut tracker = FaceTracker::new(analyzer);
    let labels = labels();
    assert_eq!(labels.len(), 60, "a label for every frame");
    let count = |e: Eyes| labels.iter().filter(|(_, l)| *l == e).count();
    assert_eq!(
        (count(Eyes::Camera), count(Eyes::Aside), count(Eyes::Shut)),
        (35, 17, 3)
    );

    // Per label: frames judged as expected, and the others described.
    let (mut camera_focused, mut aside_away) = (0, 0);
    let mut misses = Vec::new();
    for (number, eyes) in labels {
        let path = stream_dir().join(format!("frame{number}.jpg"));
        let bytes = std::fs::read(&path).expect("frame reads");
        let a = tracker.analyze_bytes(&bytes).expect("frame analyses");
        let face = a.face.as_ref().expect("the face is found in every frame");
        if a.reason == Some(Reason::EyesClosed) {
            assert_eq!(
                eyes,
                Eyes::Shut,
                "frame {number}: eyes_closed on an open-eye frame (closure {:?})",
                a.eye_closure
            );
        }
        let right = match eyes {
            Eyes::Camera => a.focused,
            Eyes::Aside => a.reason == Some(Reason::LookingAway),
            Eyes::Unclear | Eyes::Shut => true,
        };
        camera_focused += usize::from(eyes == Eyes::Camera && right);
        aside_away += usize::from(eyes == Eyes::Aside && right);
        if !right {
            misses.push(format!(
                "frame {number} ({eyes:?}): {:?} {:?} head {:.1}/{:.1} eyes {:.1} gaze {:.1}/{:.1}",
                a.reason,
                a.away,
                face.head_pose.yaw_deg,
                face.head_pose.pitch_deg,
                face.gaze.eye_yaw_deg,
                face.gaze.yaw_deg,
                face.gaze.pitch_deg
            ));
        }
    }
    // 98% of 35: all of them (34 would be 97.1%).
    assert_eq!(
        camera_focused, 35,
        "looking into the camera must read focused; misses: {misses:#?}"
    );
    // Measured 11 of 17 (docs/vision.md "Accuracy"). Three glances (191, 196, 221, gaze yaw
    // -15 to -22) go to the side her gaze under-reads: looking into the camera with the head
    // as then (frames 161-211), her gaze reads 10-18 degrees the other way. Three more (226,
    // 291, 301: gaze 26-30 degrees aside with the head within 5 of the camera) are within
    // the uncalibrated rule's 30 (the assumed screen's 15 plus issue 12.4's 15).
    assert!(
        aside_away >= 11,
        "{aside_away}/17 glances aside read looking_away; misses: {misses:#?}"
    );
}
