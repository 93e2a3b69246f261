//! The small-face retry on real photographs: a committed fixture face (the public-domain
//! astronaut portrait, tests/fixtures/faces/NOTICE.md) pasted small into a 1920x1080 frame of
//! noise, as a person far from an HD camera, is found (the whole-frame detector alone does not
//! see it), and the no-face fixtures, put into an HD frame, stay without a face.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
};

use focus_vision::{
    FaceAnalyzer, FaceTracker, ModelBytes, Reason,
    detect::{FaceDetector, SMALL_FACE_FRACTION},
    engine::{InferenceEngine, RtenEngine},
};
use image::{Rgb, RgbImage, imageops};

fn analyzer() -> &'static FaceAnalyzer {
    static ANALYZER: OnceLock<FaceAnalyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| FaceAnalyzer::embedded().expect("embedded models load"))
}

/// An analyzer whose small-face retry runs on frames of at least `min_side` px.
fn analyzer_with(min_side: u32) -> FaceAnalyzer {
    FaceAnalyzer::embedded()
        .expect("embedded models load")
        .with_small_face_min_side(min_side)
}

fn fixture(rel: &str) -> RgbImage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/faces")
        .join(rel);
    image::open(path).expect("fixture decodes").into_rgb8()
}

const PORTRAIT: &str = "attentive/att01_skimage_astronaut.jpg";
const FRAME: (u32, u32) = (1920, 1080);

/// A `FRAME`-sized room of grey noise (a fixed pseudo-random sequence) with the portrait
/// scaled so its face is `face_px` wide, its face's centre at `at`. Returns the frame and the
/// pasted face's box.
fn far_face(face_px: f32, at: (f32, f32)) -> (RgbImage, [f32; 4]) {
    let portrait = fixture(PORTRAIT);
    let face = analyzer()
        .analyze_image(&portrait)
        .expect("the portrait analyses")
        .face
        .expect("the portrait has a face");
    let [x0, y0, x1, y1] = face.bbox;
    let scale = face_px / (x1 - x0);
    let (pw, ph) = portrait.dimensions();
    let small = imageops::resize(
        &portrait,
        (pw as f32 * scale).round() as u32,
        (ph as f32 * scale).round() as u32,
        imageops::FilterType::Triangle,
    );
    let mut frame = noise(FRAME.0, FRAME.1);
    let (cx, cy) = ((x0 + x1) / 2.0 * scale, (y0 + y1) / 2.0 * scale);
    let (left, top) = (at.0 - cx, at.1 - cy);
    imageops::overlay(&mut frame, &small, left.round() as i64, top.round() as i64);
    let half = [(x1 - x0) * scale / 2.0, (y1 - y0) * scale / 2.0];
    (
        frame,
        [
            at.0 - half[0],
            at.1 - half[1],
            at.0 + half[0],
            at.1 + half[1],
        ],
    )
}

/// Grey noise (a fixed xorshift sequence): an empty room.
fn noise(width: u32, height: u32) -> RgbImage {
    let mut state = 0x2545_f491_u32;
    RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let v = 100 + (state % 41) as u8;
        Rgb([v, v, v.saturating_sub(8)])
    })
}

fn detector() -> FaceDetector {
    let models = ModelBytes::embedded();
    let network = RtenEngine::default()
        .load("face_detector", models.face_detector)
        .expect("detector loads");
    FaceDetector::new(network, "regressors", "classificators")
}

fn centre(b: [f32; 4]) -> [f32; 2] {
    [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]
}

#[test]
fn a_far_face_in_an_hd_frame_is_found_by_the_tiled_retry() {
    let detector = detector();
    let no_retry = analyzer_with(u32::MAX);
    // 1/16 and 1/12 of the frame's width; off-centre, the first across a tile boundary.
    for (face_px, at) in [
        (FRAME.0 as f32 / 16.0, (700.0, 420.0)),
        (160.0, (1500.0, 620.0)),
    ] {
        let (frame, pasted) = far_face(face_px, at);
        let whole = detector.detect_faces(&frame, 0.5, 0.3).expect("detect");
        assert!(
            whole.is_empty(),
            "{face_px} px: the whole frame shows the face already ({whole:?}): the test proves nothing"
        );
        let without = no_retry.analyze_image(&frame).expect("analyse");
        assert_eq!(without.reason, Some(Reason::NoFace), "{face_px} px");

        let a = analyzer().analyze_image(&frame).expect("analyse");
        let face = a
            .face
            .as_ref()
            .unwrap_or_else(|| panic!("{face_px} px: no face: {a:?}"));
        let [fx, fy] = centre(face.bbox);
        let [px, py] = centre(pasted);
        assert!(
            (fx - px).abs() < face_px * 0.25 && (fy - py).abs() < face_px * 0.35,
            "{face_px} px: found at {:?}, pasted at {pasted:?}",
            face.bbox
        );
        let width = face.bbox[2] - face.bbox[0];
        assert!(
            (width / face_px - 1.0).abs() < 0.35,
            "{face_px} px: found {width} px wide"
        );
        assert!(
            a.focused,
            "{face_px} px: the astronaut faces the camera: {a:?}"
        );
    }
    // The smallest face the tiles are sized for: 1/20 of the width.
    assert!((FRAME.0 as f32 * SMALL_FACE_FRACTION - 96.0).abs() < 1e-3);
}

#[test]
fn a_stream_finds_the_far_face_on_its_first_frame_and_then_tracks_it() {
    let (frame, _) = far_face(FRAME.0 as f32 / 16.0, (1200.0, 500.0));
    let mut tracker = FaceTracker::new(Arc::new(FaceAnalyzer::embedded().expect("models load")));
    for n in 1..=3 {
        let a = tracker.analyze_image(&frame).expect("analyse");
        assert!(a.focused, "frame {n}: {a:?}");
    }
    // Frames 2 and 3 followed the face in the previous frame's crop: no detector, no tiles.
    assert_eq!(tracker.counts(), (3, 2));
}

#[test]
fn no_face_fixtures_in_an_hd_frame_stay_without_a_face() {
    // Each no-face fixture at its own size in an HD frame of noise: the scene the retry runs
    // on (an HD frame where the whole-frame detector finds nothing), its objects at the sizes
    // the tiles are made for.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/faces/no_face");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("no_face fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    let mut wrong = Vec::new();
    for path in files {
        let photo = image::open(&path).expect("decodes").into_rgb8();
        let mut frame = noise(FRAME.0, FRAME.1);
        imageops::overlay(&mut frame, &photo, 10, 10);
        let a = analyzer().analyze_image(&frame).expect("analyse");
        if a.reason != Some(Reason::NoFace) {
            let found = a.face.as_ref().map(|f| f.bbox);
            wrong.push(format!("{}: {:?} at {found:?}", path.display(), a.reason));
        }
    }
    assert!(
        wrong.is_empty(),
        "faces found in no-face photos: {wrong:#?}"
    );
}
