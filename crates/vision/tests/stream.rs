//! A webcam stream with a known answer: the attentive stretch of the Pexels clip
//! (pyfeat_WolfgangLanger_Pexels, frames 141-436 every 5th, about 4.8 frames a second as in a
//! live session; tests/fixtures/stream, see its README for the source and licence)
//! followed by a [`FaceTracker`] without a calibration. The woman faces the camera with her
//! eyes open, glancing about and blinking: nearly every open-eye frame must read focused
//! (a session's indicator turns red on two agreeing replies), and the only other verdict
//! allowed is `eyes_closed` on the frames whose lids are shut (counted by hand).

use std::{path::PathBuf, sync::Arc};

use focus_vision::{FaceAnalyzer, FaceTracker, Reason};

fn stream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/stream/pexels_woman_attentive")
}

/// Source frames (24 fps numbering) whose lids are shut or closing, by hand: the blink at
/// 386-387 and the one at 426-431.
const SHUT: &[u32] = &[386, 426, 431];

#[test]
fn the_attentive_stretch_of_a_stream_reads_focused_without_a_profile() {
    let analyzer = Arc::new(FaceAnalyzer::embedded().expect("embedded models load"));
    let mut tracker = FaceTracker::new(analyzer);
    let mut frames: Vec<PathBuf> = std::fs::read_dir(stream_dir())
        .expect("stream fixture exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    frames.sort();
    assert_eq!(frames.len(), 60, "the fixture's frames");

    let (mut open, mut focused, mut misses) = (0, 0, Vec::new());
    for path in &frames {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let number: u32 = name
            .trim_start_matches("frame")
            .parse()
            .expect("frameNNN.jpg");
        let bytes = std::fs::read(path).expect("frame reads");
        let a = tracker.analyze_bytes(&bytes).expect("frame analyses");
        let face = a.face.as_ref().expect("the face is found in every frame");
        if a.reason == Some(Reason::EyesClosed) {
            assert!(
                SHUT.contains(&number),
                "{name}: eyes_closed on an open-eye frame (closure {:?})",
                a.eye_closure
            );
            continue;
        }
        open += 1;
        if a.focused {
            focused += 1;
        } else {
            misses.push(format!(
                "{name}: {:?} {:?} head {:.1}/{:.1} gaze {:.1}/{:.1}",
                a.reason,
                a.away,
                face.head_pose.yaw_deg,
                face.head_pose.pitch_deg,
                face.gaze.yaw_deg,
                face.gaze.pitch_deg
            ));
        }
    }
    assert!(
        open >= 57,
        "at most the hand-counted shut frames read closed: {open} open"
    );
    let share = focused as f64 / open as f64;
    assert!(
        share >= 0.98,
        "{focused}/{open} open-eye frames focused ({:.1}%); misses: {misses:#?}",
        share * 100.0
    );
}
