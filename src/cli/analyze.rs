//! `focus-sentry analyze PHOTO...`: one JSON line (or a table row) per image.
//!
//! Each image is analysed on its own (detector first, as for a single photo), or with
//! `--stream` as the consecutive frames of one webcam stream through a [`FaceTracker`], as a
//! live session does. `ms` is the time from the file's bytes to the verdict (decode
//! included, reading the file not), so a stream shows what a tracked frame costs.

use std::{
    io::{self, Write},
    path::PathBuf,
    sync::Arc,
    time::Instant,
};

use anyhow::Context;
use focus_vision::{FaceAnalyzer, FaceTracker, FrameAnalysis};
use serde_json::json;

use super::{AnalyzeArgs, is_image};

/// Expands folders into their images (sorted), keeps files as given.
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut images: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read folder {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_image(p))
                .collect();
            images.sort();
            out.extend(images);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// How the files are analysed.
enum Mode {
    /// Each photo on its own.
    Stills(Arc<FaceAnalyzer>),
    /// The files as one stream, in order.
    Stream(FaceTracker),
}

/// One analysed frame.
struct Frame {
    analysis: FrameAnalysis,
    /// In a stream, whether the face came from the previous frame's crop (the detector did
    /// not run); `None` for stills.
    tracked: Option<bool>,
    ms: f32,
}

impl Mode {
    fn new(stream: bool) -> anyhow::Result<Self> {
        let analyzer = Arc::new(FaceAnalyzer::embedded().context("cannot load the vision models")?);
        Ok(if stream {
            Mode::Stream(FaceTracker::new(analyzer))
        } else {
            Mode::Stills(analyzer)
        })
    }

    fn analyze(&mut self, bytes: &[u8]) -> Result<Frame, focus_vision::Error> {
        let started = Instant::now();
        let (analysis, tracked) = match self {
            Mode::Stills(analyzer) => (analyzer.analyze_bytes(bytes)?, None),
            Mode::Stream(tracker) => {
                let (_, tracked_before) = tracker.counts();
                let analysis = tracker.analyze_bytes(bytes)?;
                (analysis, Some(tracker.counts().1 > tracked_before))
            }
        };
        Ok(Frame {
            analysis,
            tracked,
            ms: started.elapsed().as_secs_f32() * 1000.0,
        })
    }
}

/// The JSON line for one analysed image. Structs are serialised directly so `f32` values
/// print at `f32` precision.
fn to_json(file: &str, frame: &Frame) -> serde_json::Value {
    let Frame {
        analysis,
        tracked,
        ms,
    } = frame;
    #[derive(serde::Serialize)]
    struct Face<'a> {
        score: f32,
        #[serde(rename = "box")]
        bbox: [f32; 4],
        eye_openness: &'a focus_vision::EyePair,
        blink: &'a focus_vision::EyePair,
        head_pose: &'a focus_vision::HeadPose,
        gaze: &'a focus_vision::Gaze,
        eyes_visible: bool,
    }
    #[derive(serde::Serialize)]
    struct Line<'a> {
        file: &'a str,
        focused: bool,
        reason: Option<focus_vision::Reason>,
        face: Option<Face<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tracked: Option<bool>,
        ms: f32,
    }
    let line = Line {
        file,
        focused: analysis.focused,
        reason: analysis.reason,
        face: analysis.face.as_ref().map(|f| Face {
            score: f.score,
            bbox: f.bbox.map(|v| v.round()),
            eye_openness: &f.eye_openness,
            blink: &f.blink,
            head_pose: &f.head_pose,
            gaze: &f.gaze,
            eyes_visible: f.eyes_visible,
        }),
        tracked: *tracked,
        ms: (ms * 100.0).round() / 100.0,
    };
    serde_json::to_value(line).unwrap_or_else(|e| json!({"file": file, "error": e.to_string()}))
}

fn pretty_row(file: &str, frame: &Frame) -> String {
    let Frame {
        analysis,
        tracked,
        ms,
    } = frame;
    let tracked = match tracked {
        Some(true) => " tracked",
        Some(false) | None => "",
    };
    let verdict = if analysis.focused {
        "focused".to_owned()
    } else {
        analysis
            .reason
            .map_or("unfocused", |r| r.as_str())
            .to_owned()
    };
    match &analysis.face {
        Some(f) => format!(
            "{file:<44} {verdict:<13} {:>5.2} {:>5.2}/{:<5.2} {:>4.2}/{:<4.2} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {ms:>6.1}{tracked}",
            f.score,
            f.eye_openness.left,
            f.eye_openness.right,
            f.blink.left,
            f.blink.right,
            f.head_pose.yaw_deg,
            f.head_pose.pitch_deg,
            f.head_pose.roll_deg,
            f.gaze.yaw_deg,
        ),
        None => format!(
            "{file:<44} {verdict:<13} {:>5} {:>11} {:>9} {:>6} {:>6} {:>6} {:>6} {ms:>6.1}{tracked}",
            "-", "-", "-", "-", "-", "-", "-"
        ),
    }
}

/// Runs `focus-sentry analyze`. Every file is attempted; the exit status is non-zero at the
/// end if any could not be analysed.
pub fn run_analyze(args: AnalyzeArgs) -> anyhow::Result<()> {
    let files = expand(&args.paths)?;
    let mut mode = Mode::new(args.stream)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.pretty {
        writeln!(
            out,
            "{:<44} {:<13} {:>5} {:>11} {:>9} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "file",
            "verdict",
            "score",
            "EAR l/r",
            "blink l/r",
            "yaw",
            "pitch",
            "roll",
            "gaze",
            "ms"
        )?;
    }
    let mut failed = 0usize;
    for path in &files {
        let name = path.display().to_string();
        let result = std::fs::read(path)
            .map_err(|e| format!("cannot read the file: {e}"))
            .and_then(|bytes| mode.analyze(&bytes).map_err(|e| e.to_string()));
        match result {
            Ok(frame) if args.pretty => writeln!(out, "{}", pretty_row(&name, &frame))?,
            Ok(frame) => writeln!(out, "{}", to_json(&name, &frame))?,
            Err(error) => {
                failed += 1;
                if args.pretty {
                    writeln!(out, "{name:<44} error: {error}")?;
                } else {
                    writeln!(out, "{}", json!({"file": name, "error": error}))?;
                }
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        anyhow::bail!("{failed} of {} files could not be analysed", files.len());
    }
    Ok(())
}
