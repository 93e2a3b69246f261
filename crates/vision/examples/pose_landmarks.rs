//! Prints, per photo, the image size, the head pose and the 478 landmarks as one JSON line
//! (a cold still, as `focus-sentry analyze` reads it; with `--stream` the files are frames of
//! one stream, as `analyze --stream` reads them), for offline study of the pose fit.
//!
//! `cargo run --release -p focus-vision --example pose_landmarks -- PHOTO...`. Photos are read
//! in place; landmarks are numbers, never images.

use std::sync::Arc;

use focus_vision::{FaceAnalyzer, FaceTracker};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let stream = args.first().map(String::as_str) == Some("--stream");
    if stream {
        args.remove(0);
    }
    let analyzer = Arc::new(FaceAnalyzer::embedded()?);
    let mut tracker = FaceTracker::new(analyzer.clone());
    for path in args {
        let bytes = std::fs::read(&path)?;
        let a = if stream {
            tracker.analyze_bytes(&bytes)?
        } else {
            analyzer.analyze_bytes(&bytes)?
        };
        let face = a.face.as_ref();
        let line = serde_json::json!({
            "file": path,
            "size": [a.image_size.0, a.image_size.1],
            "pose": face.map(|f| [f.head_pose.yaw_deg, f.head_pose.pitch_deg, f.head_pose.roll_deg]),
            "landmarks": face.map(|f| &f.landmarks),
        });
        println!("{line}");
    }
    Ok(())
}
