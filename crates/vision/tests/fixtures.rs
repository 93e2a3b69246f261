//! The pipeline on real photographs with known answers (tests/fixtures/faces, see its
//! NOTICE.md for sources and licences), plus geometric checks: mirroring a face flips the
//! sign of yaw and roll; rotating the image by 20 degrees changes roll by about 20.

use std::{path::PathBuf, sync::OnceLock};

use focus_vision::{FaceAnalyzer, FrameAnalysis, Reason};
use image::RgbImage;

fn analyzer() -> &'static FaceAnalyzer {
    static ANALYZER: OnceLock<FaceAnalyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| FaceAnalyzer::embedded().expect("embedded models load"))
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/faces")
}

fn analyze(rel: &str) -> FrameAnalysis {
    let bytes = std::fs::read(fixtures().join(rel)).expect("fixture exists");
    analyzer().analyze_bytes(&bytes).expect("fixture analyses")
}

fn image(rel: &str) -> RgbImage {
    image::open(fixtures().join(rel))
        .expect("fixture decodes")
        .into_rgb8()
}

/// Every fixture with the verdict and the reasons accepted. `awy04` looks down with its lids
/// nearly shut: both readings mean "not focused"; the pipeline reports eyes_closed because
/// the head itself is only ~10 degrees down. Profiles and tiny faces may be reported as
/// no_face when the detector does not see them side-on either.
const EXPECTED: &[(&str, bool, &[Reason])] = &[
    ("attentive/att01_skimage_astronaut.jpg", true, &[]),
    ("attentive/att04_vfa_s3_f0.jpg", true, &[]),
    ("attentive/att05_vfa_s3_f2.jpg", true, &[]),
    // Labelled attentive, but the head measures 26.5 degrees down: past the evaluation rule's
    // 25 (|pitch| > 25 = away), which the classifier follows without a profile. The one
    // fixture `eval` counts as a miss (docs/vision.md, "Accuracy").
    (
        "attentive/att06_vfa_s6_f2.jpg",
        false,
        &[Reason::LookingAway],
    ),
    ("attentive/att07_vfa_s6_f0.jpg", true, &[]),
    ("attentive/att08_vfa_s5_f2.jpg", true, &[]),
    ("attentive/att10_pexels_woman_f330.jpg", true, &[]),
    (
        "away/awy01_vfa_profile.jpg",
        false,
        &[Reason::LookingAway, Reason::NoFace],
    ),
    (
        "away/awy02_vfa_looking_down.jpg",
        false,
        &[Reason::LookingAway],
    ),
    (
        "away/awy03_vfa_looking_down2.jpg",
        false,
        &[Reason::LookingAway],
    ),
    (
        "away/awy04_pexels_woman_down_f465.jpg",
        false,
        &[Reason::EyesClosed, Reason::LookingAway],
    ),
    (
        "away/awy05_skimage_cameraman.jpg",
        false,
        &[Reason::LookingAway, Reason::NoFace],
    ),
    (
        "away/awy06_opencv_messi.jpg",
        false,
        &[Reason::LookingAway, Reason::NoFace],
    ),
    (
        "eyes_closed/ecl19_pexels_woman_f025.jpg",
        false,
        &[Reason::EyesClosed],
    ),
    (
        "eyes_closed/ecl20_pexels_woman_f441.jpg",
        false,
        &[Reason::EyesClosed],
    ),
    ("no_face/nof01_skimage_coffee.jpg", false, &[Reason::NoFace]),
    ("no_face/nof02_skimage_brick.jpg", false, &[Reason::NoFace]),
    ("no_face/nof03_skimage_rocket.jpg", false, &[Reason::NoFace]),
    ("no_face/nof04_skimage_cat.jpg", false, &[Reason::NoFace]),
    ("no_face/nof05_skimage_hubble.jpg", false, &[Reason::NoFace]),
    ("no_face/nof06_opencv_fruits.jpg", false, &[Reason::NoFace]),
    (
        "no_face/nof07_opencv_building.jpg",
        false,
        &[Reason::NoFace],
    ),
    ("no_face/nof08_opencv_street.jpg", false, &[Reason::NoFace]),
    ("no_face/nof09_opencv_desk.jpg", false, &[Reason::NoFace]),
    ("no_face/nof10_opencv_clutter.jpg", false, &[Reason::NoFace]),
    ("no_face/nof11_opencv_baboon.jpg", false, &[Reason::NoFace]),
    (
        "no_face/nof17_opencv_vtest_pedestrians.jpg",
        false,
        &[Reason::NoFace],
    ),
];

#[test]
fn every_fixture_gets_its_verdict_and_reason() {
    let mut wrong = Vec::new();
    for &(file, focused, reasons) in EXPECTED {
        let a = analyze(file);
        let reason_ok = match a.reason {
            None => focused,
            Some(r) => reasons.contains(&r),
        };
        if a.focused != focused || !reason_ok {
            wrong.push(format!(
                "{file}: focused={} reason={:?}",
                a.focused, a.reason
            ));
        }
        if let Some(face) = &a.face {
            assert_eq!(face.landmarks.len(), 478, "{file}");
            let [x0, y0, x1, y1] = face.bbox;
            assert!(x0 < x1 && y0 < y1, "{file}: box {:?}", face.bbox);
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

#[test]
fn fixture_count_matches_the_folder() {
    let on_disk = ["attentive", "away", "eyes_closed", "no_face"]
        .iter()
        .map(|d| std::fs::read_dir(fixtures().join(d)).expect("dir").count())
        .sum::<usize>();
    assert_eq!(
        on_disk,
        EXPECTED.len(),
        "a fixture was added without an expected answer"
    );
}

#[test]
fn attentive_faces_measure_open_eyes_and_a_frontal_head() {
    let a = analyze("attentive/att01_skimage_astronaut.jpg");
    let face = a.face.expect("a face");
    assert!(face.score > 0.9);
    assert!(face.eye_openness.left > 0.2 && face.eye_openness.right > 0.2);
    assert!(face.blink.left < 0.3 && face.blink.right < 0.3);
    assert!(face.head_pose.yaw_deg.abs() < 10.0, "{:?}", face.head_pose);
    assert!(face.eyes_visible);
    // The astronaut's face is in the upper middle of the 512x512 photo.
    let [x0, y0, x1, y1] = face.bbox;
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    assert!(
        (180.0..320.0).contains(&cx) && (60.0..200.0).contains(&cy),
        "centre {cx},{cy}"
    );
}

#[test]
fn closed_eyes_measure_closed() {
    let face = analyze("eyes_closed/ecl19_pexels_woman_f025.jpg")
        .face
        .expect("a face");
    assert!(
        face.eye_openness.left < 0.12 && face.eye_openness.right < 0.12,
        "{:?}",
        face.eye_openness
    );
    assert!(
        face.blink.left > 0.5 && face.blink.right > 0.5,
        "{:?}",
        face.blink
    );
}

#[test]
fn mirroring_flips_yaw_and_roll() {
    for file in [
        "attentive/att04_vfa_s3_f0.jpg",
        "attentive/att08_vfa_s5_f2.jpg",
    ] {
        let img = image(file);
        let mirrored = image::imageops::flip_horizontal(&img);
        let a = analyzer()
            .analyze_image(&img)
            .expect("analyse")
            .face
            .expect("face");
        let b = analyzer()
            .analyze_image(&mirrored)
            .expect("analyse")
            .face
            .expect("face");
        let (pa, pb) = (a.head_pose, b.head_pose);
        assert!(
            pa.yaw_deg.abs() > 5.0 && pa.roll_deg.abs() > 0.1,
            "{file}: pick a turned face, {pa:?}"
        );
        assert!(
            (pa.yaw_deg + pb.yaw_deg).abs() < 4.0,
            "{file}: yaw {} vs {}",
            pa.yaw_deg,
            pb.yaw_deg
        );
        assert!(
            (pa.roll_deg + pb.roll_deg).abs() < 4.0,
            "{file}: roll {} vs {}",
            pa.roll_deg,
            pb.roll_deg
        );
        assert!(
            (pa.pitch_deg - pb.pitch_deg).abs() < 4.0,
            "{file}: pitch {} vs {}",
            pa.pitch_deg,
            pb.pitch_deg
        );
    }
}

/// Rotates about the centre by `deg` clockwise on screen, keeping the size; outside is grey.
fn rotate(img: &RgbImage, deg: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        // Inverse map: output pixel to source pixel (y down, so +deg is clockwise).
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let sx = c * dx + s * dy + cx;
        let sy = -s * dx + c * dy + cy;
        if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            *img.get_pixel(sx as u32, sy as u32)
        } else {
            image::Rgb([128, 128, 128])
        }
    })
}

#[test]
fn rotating_the_image_20_degrees_changes_roll_by_20() {
    for file in [
        "attentive/att01_skimage_astronaut.jpg",
        "attentive/att10_pexels_woman_f330.jpg",
    ] {
        let img = image(file);
        let base = analyzer()
            .analyze_image(&img)
            .expect("analyse")
            .face
            .expect("face")
            .head_pose;
        for deg in [20.0f32, -20.0] {
            let turned = analyzer()
                .analyze_image(&rotate(&img, deg))
                .expect("analyse")
                .face
                .expect("face in rotated image")
                .head_pose;
            let change = turned.roll_deg - base.roll_deg;
            assert!(
                (change - deg).abs() < 4.0,
                "{file}: rotated {deg}, roll changed by {change}"
            );
            assert!(
                (turned.yaw_deg - base.yaw_deg).abs() < 6.0,
                "{file}: yaw moved"
            );
        }
    }
}
