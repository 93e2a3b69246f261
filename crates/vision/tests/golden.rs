//! Golden landmarks: every fixture photo's 478 landmarks and blink scores, as the pipeline
//! produced them before the inference engine was optimised, must come out the same within
//! 0.05 px (blink within 0.005). This guards speed work (kernels, fusions, another engine)
//! against changing what the models compute.
//!
//! Two paths per photo: a cold frame (detector, crop, mesh) and, where a face was found, a
//! tracked frame (the same photo again through a [`FaceTracker`], cropped from the previous
//! landmarks). The file is `tests/golden/landmarks.json`; when a change is meant to move the
//! landmarks, rewrite it (and say why in the commit) with:
//!
//! ```text
//! FOCUS_UPDATE_GOLDEN=1 cargo test -p focus-vision --test golden
//! ```

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use focus_vision::{FaceAnalyzer, FaceTracker, FrameAnalysis};
use serde::{Deserialize, Serialize};

const MAX_POINT_ERROR_PX: f32 = 0.05;
const MAX_BLINK_ERROR: f32 = 0.005;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Golden {
    file: String,
    /// `cold` or `tracked`.
    path: String,
    face: Option<GoldenFace>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct GoldenFace {
    presence: f32,
    blink: [f32; 2],
    /// `(x, y, z)` per landmark in image pixels, rounded to 0.001 px.
    points: Vec<[f32; 3]>,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/faces")
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/landmarks.json")
}

/// Every fixture image, as paths relative to the fixtures folder, sorted.
fn fixture_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("fixtures folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "jpg") {
                let rel = path.strip_prefix(root).expect("under root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut files = Vec::new();
    walk(&fixtures(), &fixtures(), &mut files);
    files.sort();
    files
}

fn round(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

fn golden_face(analysis: &FrameAnalysis) -> Option<GoldenFace> {
    analysis.face.as_ref().map(|f| GoldenFace {
        presence: round(f.score),
        blink: [round(f.blink.left), round(f.blink.right)],
        points: f.landmarks.iter().map(|p| p.map(round)).collect(),
    })
}

/// What the pipeline computes now, in the golden file's shape.
fn compute() -> Vec<Golden> {
    let analyzer = Arc::new(FaceAnalyzer::embedded().expect("embedded models load"));
    let mut out = Vec::new();
    for file in fixture_files() {
        let bytes = std::fs::read(fixtures().join(&file)).expect("fixture reads");
        let cold = analyzer.analyze_bytes(&bytes).expect("fixture analyses");
        let has_face = cold.face.is_some();
        out.push(Golden {
            file: file.clone(),
            path: "cold".into(),
            face: golden_face(&cold),
        });
        if has_face {
            let mut tracker = FaceTracker::new(Arc::clone(&analyzer));
            tracker.analyze_bytes(&bytes).expect("first frame");
            let tracked = tracker.analyze_bytes(&bytes).expect("second frame");
            out.push(Golden {
                file,
                path: "tracked".into(),
                face: golden_face(&tracked),
            });
        }
    }
    out
}

#[test]
fn landmarks_match_the_golden_file() {
    let actual = compute();
    if std::env::var_os("FOCUS_UPDATE_GOLDEN").is_some() {
        let json = serde_json::to_string(&actual).expect("serialise");
        std::fs::create_dir_all(golden_path().parent().expect("parent")).expect("mkdir");
        std::fs::write(golden_path(), json + "\n").expect("write golden file");
        return;
    }
    let text = std::fs::read_to_string(golden_path()).expect("golden file (see module docs)");
    let expected: Vec<Golden> = serde_json::from_str(&text).expect("golden JSON");

    let key = |g: &Golden| (g.file.clone(), g.path.clone());
    assert_eq!(
        actual.iter().map(key).collect::<Vec<_>>(),
        expected.iter().map(key).collect::<Vec<_>>(),
        "the same frames, and a face in the same ones"
    );
    let mut worst = (0.0f32, String::new());
    for (a, e) in actual.iter().zip(&expected) {
        let what = format!("{} ({})", e.file, e.path);
        match (&a.face, &e.face) {
            (None, None) => {}
            (Some(a), Some(e)) => {
                assert_eq!(a.points.len(), e.points.len(), "{what}");
                for (i, (pa, pe)) in a.points.iter().zip(&e.points).enumerate() {
                    let error = (0..3).map(|k| (pa[k] - pe[k]).abs()).fold(0.0, f32::max);
                    assert!(
                        error <= MAX_POINT_ERROR_PX,
                        "{what}: landmark {i} moved {error:.3} px: {pa:?}, golden {pe:?}"
                    );
                    if error > worst.0 {
                        worst = (error, what.clone());
                    }
                }
                for k in 0..2 {
                    assert!(
                        (a.blink[k] - e.blink[k]).abs() <= MAX_BLINK_ERROR,
                        "{what}: blink {:?}, golden {:?}",
                        a.blink,
                        e.blink
                    );
                }
            }
            (a, e) => panic!("{what}: face {:?}, golden {:?}", a.is_some(), e.is_some()),
        }
    }
    println!(
        "largest landmark difference: {:.4} px in {}",
        worst.0, worst.1
    );
}
