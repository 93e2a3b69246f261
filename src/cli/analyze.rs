//! `focus-sentry analyze PHOTO...`: one JSON line (or a table row) per image, judged relative
//! to a calibration profile with `--profile`.
//!
//! With `--stream` the files are consecutive frames of one webcam stream (`--fps` apart): a
//! [`FaceTracker`] follows the face from frame to frame, as in a live session (`tracked`:
//! the detector did not run), and a [`FatigueMeter`] counts blinks and measures PERCLOS; a
//! last line sums the stream up. `ms` is the time from the file's bytes to the verdict
//! (decode included, reading the file not), so a stream shows what a tracked frame costs.

use std::{
    io::{self, Write},
    path::PathBuf,
    sync::Arc,
    time::Instant,
};

use anyhow::Context;
use focus_vision::{
    FaceAnalyzer, FaceTracker, FrameAnalysis, Params, Profile,
    fatigue::{Closure, EyeSample, FatigueMeter, FatigueParams},
};
use serde_json::json;

use super::{AnalyzeArgs, is_image, read_profile, verdict_words};

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

/// The JSON line for one analysed image. Structs are serialised directly so `f32` values
/// print at `f32` precision.
fn to_json(
    file: &str,
    analysis: &FrameAnalysis,
    tracked: Option<bool>,
    ms: f32,
) -> serde_json::Value {
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
        away: Option<focus_vision::Away>,
        zone: Option<&'a str>,
        eye_closure: Option<f32>,
        face: Option<Face<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tracked: Option<bool>,
        ms: f32,
    }
    let line = Line {
        file,
        focused: analysis.focused,
        reason: analysis.reason,
        away: analysis.away,
        zone: analysis.zone.as_deref(),
        eye_closure: analysis.eye_closure,
        face: analysis.face.as_ref().map(|f| Face {
            score: f.score,
            bbox: f.bbox.map(|v| v.round()),
            eye_openness: &f.eye_openness,
            blink: &f.blink,
            head_pose: &f.head_pose,
            gaze: &f.gaze,
            eyes_visible: f.eyes_visible,
        }),
        tracked,
        ms: (ms * 100.0).round() / 100.0,
    };
    serde_json::to_value(line).unwrap_or_else(|e| json!({"file": file, "error": e.to_string()}))
}

fn pretty_row(file: &str, analysis: &FrameAnalysis, tracked: Option<bool>, ms: f32) -> String {
    let verdict = verdict_words(analysis);
    let tracked = if tracked == Some(true) {
        " tracked"
    } else {
        ""
    };
    match &analysis.face {
        Some(f) => {
            format!(
                "{file:<44} {verdict:<28} {:>5.2} {:>5.2}/{:<5.2} {:>4.2}/{:<4.2} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {ms:>6.1}",
                f.score,
                f.eye_openness.left,
                f.eye_openness.right,
                f.blink.left,
                f.blink.right,
                f.head_pose.yaw_deg,
                f.head_pose.pitch_deg,
                f.head_pose.roll_deg,
                f.gaze.yaw_deg,
                f.gaze.pitch_deg,
            ) + tracked
        }
        None => {
            format!(
                "{file:<44} {verdict:<28} {:>5} {:>11} {:>9} {:>6} {:>6} {:>6} {:>6} {:>6} {ms:>6.1}",
                "-", "-", "-", "-", "-", "-", "-", "-"
            ) + tracked
        }
    }
}

/// Analyses one frame: alone, or as the next frame of the stream.
enum Frames {
    Photos(Box<FaceAnalyzer>),
    Stream {
        tracker: Box<FaceTracker>,
        fatigue: Box<FatigueMeter>,
        step_ms: f64,
        index: u64,
    },
}

impl Frames {
    fn new(
        args: &AnalyzeArgs,
        profile: Option<Profile>,
    ) -> anyhow::Result<(Frames, Option<Profile>)> {
        let analyzer = FaceAnalyzer::embedded().context("cannot load the vision models")?;
        if !args.stream {
            return Ok((Frames::Photos(Box::new(analyzer)), profile));
        }
        if !(args.fps.is_finite() && args.fps > 0.0 && args.fps <= 1000.0) {
            anyhow::bail!(
                "--fps must be a frame rate between 0 and 1000, not {}",
                args.fps
            );
        }
        let params = *analyzer.params();
        let mut tracker = FaceTracker::new(Arc::new(analyzer));
        tracker.set_profile(profile.clone().map(Arc::new));
        let fatigue = FatigueMeter::new(FatigueParams {
            closed_closure: closed_threshold(&params, profile.is_some()),
            ..FatigueParams::default()
        });
        Ok((
            Frames::Stream {
                tracker: Box::new(tracker),
                fatigue: Box::new(fatigue),
                step_ms: 1000.0 / args.fps,
                index: 0,
            },
            profile,
        ))
    }

    /// The verdict for `bytes`; in a stream also whether the face was tracked from the
    /// previous frame (the detector did not run) and the closure that ended at this frame.
    fn analyze(&mut self, bytes: &[u8], profile: Option<&Profile>) -> Result<Frame, String> {
        let started = Instant::now();
        let (analysis, tracked, closure) = match self {
            Frames::Photos(analyzer) => analyzer
                .analyze_bytes_with(bytes, profile)
                .map(|a| (a, None, None))
                .map_err(|e| e.to_string())?,
            Frames::Stream {
                tracker,
                fatigue,
                step_ms,
                index,
            } => {
                let at_ms = (*index as f64 * *step_ms).round() as u64;
                *index += 1;
                let (_, tracked_before) = tracker.counts();
                let analysis = tracker.analyze_bytes(bytes).map_err(|e| e.to_string())?;
                let tracked = tracker.counts().1 > tracked_before;
                let closure = fatigue.observe(at_ms, EyeSample::of(&analysis));
                (analysis, Some(tracked), closure)
            }
        };
        Ok(Frame {
            analysis,
            tracked,
            closure,
            ms: started.elapsed().as_secs_f32() * 1000.0,
        })
    }
}

/// One analysed frame.
struct Frame {
    analysis: FrameAnalysis,
    /// In a stream, whether the face came from the previous frame's crop; `None` for stills.
    tracked: Option<bool>,
    /// In a stream, the eye closure that ended at this frame.
    closure: Option<Closure>,
    ms: f32,
}

/// The eye closure at which eyes count as closed, as the verdict uses it.
fn closed_threshold(params: &Params, profiled: bool) -> f32 {
    if profiled {
        params.closed_closure_profiled
    } else {
        params.closed_closure
    }
}

/// Runs `focus-sentry analyze`. Every file is attempted; the exit status is non-zero at the
/// end if any could not be analysed.
pub fn run_analyze(args: AnalyzeArgs) -> anyhow::Result<()> {
    let files = expand(&args.paths)?;
    let profile = args.profile.as_deref().map(read_profile).transpose()?;
    let (mut frames, profile) = Frames::new(&args, profile)?;
    // Not locked for the whole run: each line takes the lock as it is written, so a thread
    // of the inference pool that prints to stdout is not kept waiting for the end of a run
    // that waits for it (rten's `RTEN_TIMING` profiling printed there before its change 18).
    let mut out = io::stdout();
    if args.pretty {
        writeln!(
            out,
            "{:<44} {:<28} {:>5} {:>11} {:>9} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "file",
            "verdict",
            "score",
            "EAR l/r",
            "blink l/r",
            "yaw",
            "pitch",
            "roll",
            "gaze y",
            "gaze p",
            "ms"
        )?;
    }
    let mut failed = 0usize;
    for path in &files {
        let name = path.display().to_string();
        let result = std::fs::read(path)
            .map_err(|e| format!("cannot read the file: {e}"))
            .and_then(|bytes| frames.analyze(&bytes, profile.as_ref()));
        match result {
            Ok(frame) if args.pretty => {
                let mut row = pretty_row(&name, &frame.analysis, frame.tracked, frame.ms);
                if let Some(c) = frame.closure {
                    row.push_str(&format!("  {}", closure_words(c)));
                }
                writeln!(out, "{row}")?;
            }
            Ok(frame) => {
                let mut line = to_json(&name, &frame.analysis, frame.tracked, frame.ms);
                if let Some(c) = frame.closure {
                    line["closure"] = closure_json(c);
                }
                writeln!(out, "{line}")?;
            }
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
    if let Frames::Stream { fatigue, index, .. } = &frames {
        let totals = fatigue.totals();
        let summary = json!({"stream": {
            "frames": index,
            "fps": args.fps,
            "blinks": totals.blinks,
            "long_closures": totals.long_closures,
            "blink_rate_per_min": totals.blink_rate_per_min,
            "perclos": totals.perclos,
            "eyes_seen_ms": totals.observed_ms,
        }});
        writeln!(out, "{summary}")?;
    }
    out.flush()?;
    if failed > 0 {
        anyhow::bail!("{failed} of {} files could not be analysed", files.len());
    }
    Ok(())
}

fn closure_json(c: Closure) -> serde_json::Value {
    match c {
        Closure::Blink { ms } => json!({"kind": "blink", "ms": ms}),
        Closure::Long { ms } => json!({"kind": "long", "ms": ms}),
    }
}

fn closure_words(c: Closure) -> String {
    match c {
        Closure::Blink { ms } => format!("blink ({ms} ms)"),
        Closure::Long { ms } => format!("eyes were closed {ms} ms"),
    }
}
