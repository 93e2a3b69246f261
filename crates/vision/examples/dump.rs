//! Development aid: prints every measurement of the pipeline for each image given, one JSON
//! object per line (the `focus-sentry analyze` command is the user-facing tool).
use std::time::Instant;

use focus_vision::FaceAnalyzer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let analyzer = FaceAnalyzer::embedded()?;
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path)?;
        let t = Instant::now();
        let result = analyzer.analyze_bytes(&bytes);
        let ms = t.elapsed().as_secs_f32() * 1000.0;
        match result {
            Ok(a) => println!(
                "{}",
                serde_json::json!({"file": path, "focused": a.focused, "reason": a.reason, "face": a.face, "ms": ms})
            ),
            Err(e) => println!(
                "{}",
                serde_json::json!({"file": path, "error": e.to_string()})
            ),
        }
    }
    Ok(())
}
