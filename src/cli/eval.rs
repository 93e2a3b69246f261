//! `focus-sentry eval DIR`: accuracy per expected class and overall, and head-pose mean
//! absolute error where ground truth exists.
//!
//! Reads every `DIR/**/MANIFEST.tsv` (tab-separated, header row with at least `file` and
//! `expected_class`; `file` is relative to the manifest's folder) and every
//! `DIR/**/with_pose/poses.csv` (`file,yaw_deg,pitch_deg,roll_deg[,expected_class]`, with
//! AFLW2000-3D's conventions, which are also the pipeline's). `attentive` must come out
//! focused; `away`, `eyes_closed` and `no_face` must not.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use focus_vision::{FaceAnalyzer, HeadPose};

use super::{EvalArgs, is_image};

const CLASSES: [&str; 4] = ["attentive", "away", "eyes_closed", "no_face"];

#[derive(Debug, Default)]
struct Sample {
    class: Option<String>,
    pose: Option<HeadPose>,
}

/// Every file below `dir` (sorted) whose name is `name`.
fn find_named(dir: &Path, name: &str, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            find_named(&path, name, out)?;
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
    Ok(())
}

/// Splits a header line and returns a lookup from column name to index.
fn columns(header: &str, sep: char) -> BTreeMap<String, usize> {
    header
        .split(sep)
        .enumerate()
        .map(|(i, c)| (c.trim().to_owned(), i))
        .collect()
}

fn read_samples(dir: &Path) -> anyhow::Result<BTreeMap<PathBuf, Sample>> {
    let mut samples: BTreeMap<PathBuf, Sample> = BTreeMap::new();
    let mut manifests = Vec::new();
    find_named(dir, "MANIFEST.tsv", &mut manifests)?;
    for manifest in &manifests {
        let base = manifest.parent().unwrap_or(dir);
        let text = std::fs::read_to_string(manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let mut lines = text.lines();
        let cols = columns(lines.next().unwrap_or_default(), '\t');
        let (Some(&file_col), Some(&class_col)) = (cols.get("file"), cols.get("expected_class"))
        else {
            bail!(
                "{}: needs `file` and `expected_class` columns",
                manifest.display()
            );
        };
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            let (Some(file), Some(class)) = (fields.get(file_col), fields.get(class_col)) else {
                continue;
            };
            let path = base.join(file.trim());
            if !is_image(&path) || !CLASSES.contains(&class.trim()) {
                continue;
            }
            samples.entry(path).or_default().class = Some(class.trim().to_owned());
        }
    }
    let mut pose_files = Vec::new();
    find_named(dir, "poses.csv", &mut pose_files)?;
    for poses in pose_files.iter().filter(|p| {
        p.parent()
            .and_then(|d| d.file_name())
            .is_some_and(|n| n == "with_pose")
    }) {
        let base = poses.parent().unwrap_or(dir);
        let text = std::fs::read_to_string(poses)
            .with_context(|| format!("cannot read {}", poses.display()))?;
        let mut lines = text.lines();
        let cols = columns(lines.next().unwrap_or_default(), ',');
        let col = |name: &str| {
            cols.get(name)
                .copied()
                .with_context(|| format!("{}: no `{name}` column", poses.display()))
        };
        let (f, y, p, r) = (
            col("file")?,
            col("yaw_deg")?,
            col("pitch_deg")?,
            col("roll_deg")?,
        );
        let class_col = cols.get("expected_class").copied();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let num = |i: usize| -> anyhow::Result<f32> {
                fields
                    .get(i)
                    .with_context(|| format!("{}: short line `{line}`", poses.display()))?
                    .parse()
                    .with_context(|| format!("{}: bad number in `{line}`", poses.display()))
            };
            let Some(file) = fields.get(f) else { continue };
            let sample = samples.entry(base.join(file)).or_default();
            sample.pose = Some(HeadPose {
                yaw_deg: num(y)?,
                pitch_deg: num(p)?,
                roll_deg: num(r)?,
            });
            if let Some(class) = class_col
                .and_then(|c| fields.get(c))
                .filter(|c| CLASSES.contains(c))
            {
                sample.class.get_or_insert_with(|| (*class).to_owned());
            }
        }
    }
    Ok(samples)
}

#[derive(Debug, Default)]
struct Tally {
    total: usize,
    correct: usize,
}

impl Tally {
    fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// Runs `focus-sentry eval`.
pub fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let samples = read_samples(&args.dir)?;
    if samples.values().all(|s| s.class.is_none()) {
        bail!("no labelled images found under {}", args.dir.display());
    }
    let analyzer = FaceAnalyzer::embedded().context("cannot load the vision models")?;
    let mut per_class: BTreeMap<&str, Tally> =
        CLASSES.iter().map(|c| (*c, Tally::default())).collect();
    let mut overall = Tally::default();
    let (mut pose_err, mut pose_n, mut pose_missed) = ([0.0f64; 3], 0usize, 0usize);
    let mut wrong = Vec::new();
    for (path, sample) in &samples {
        let rel = path
            .strip_prefix(&args.dir)
            .unwrap_or(path)
            .display()
            .to_string();
        let analysis = std::fs::read(path)
            .map_err(anyhow::Error::from)
            .and_then(|b| analyzer.analyze_bytes(&b).map_err(anyhow::Error::from));
        let analysis = match analysis {
            Ok(a) => a,
            Err(e) => {
                wrong.push(format!("{rel}: error: {e}"));
                if let Some(class) = &sample.class {
                    overall.total += 1;
                    if let Some(t) = per_class.get_mut(class.as_str()) {
                        t.total += 1;
                    }
                }
                continue;
            }
        };
        let verdict = analysis.reason.map_or("focused", |r| r.as_str());
        if let Some(class) = &sample.class {
            let ok = analysis.focused == (class == "attentive");
            overall.total += 1;
            overall.correct += usize::from(ok);
            if let Some(t) = per_class.get_mut(class.as_str()) {
                t.total += 1;
                t.correct += usize::from(ok);
            }
            if !ok {
                wrong.push(format!("{rel}: expected {class}, got {verdict}"));
            }
            if args.verbose {
                println!(
                    "{} {rel:<50} {class:<12} {verdict}",
                    if ok { "ok " } else { "BAD" }
                );
            }
        }
        if let Some(truth) = sample.pose {
            match &analysis.face {
                Some(face) => {
                    let p = face.head_pose;
                    pose_err[0] += f64::from((p.yaw_deg - truth.yaw_deg).abs());
                    pose_err[1] += f64::from((p.pitch_deg - truth.pitch_deg).abs());
                    pose_err[2] += f64::from((p.roll_deg - truth.roll_deg).abs());
                    pose_n += 1;
                }
                None => pose_missed += 1,
            }
        }
    }

    println!(
        "{:<12} {:>6} {:>8} {:>9}",
        "class", "images", "correct", "accuracy"
    );
    for (class, t) in per_class.iter().filter(|(_, t)| t.total > 0) {
        println!(
            "{class:<12} {:>6} {:>8} {:>8.1}%",
            t.total,
            t.correct,
            t.accuracy() * 100.0
        );
    }
    println!(
        "{:<12} {:>6} {:>8} {:>8.1}%",
        "overall",
        overall.total,
        overall.correct,
        overall.accuracy() * 100.0
    );
    let mut mae = None;
    if pose_n > 0 {
        let n = pose_n as f64;
        let m = [pose_err[0] / n, pose_err[1] / n, pose_err[2] / n];
        println!(
            "head pose MAE over {pose_n} faces: yaw {:.1} deg, pitch {:.1} deg, roll {:.1} deg{}",
            m[0],
            m[1],
            m[2],
            if pose_missed > 0 {
                format!(" ({pose_missed} with no face found, not counted)")
            } else {
                String::new()
            }
        );
        mae = Some(m);
    }
    if !wrong.is_empty() {
        println!("misjudged:");
        for w in &wrong {
            println!("  {w}");
        }
    }
    if let Some(min) = args.min_accuracy
        && overall.accuracy() < min
    {
        bail!(
            "accuracy {:.1}% is below the required {:.1}%",
            overall.accuracy() * 100.0,
            min * 100.0
        );
    }
    if let (Some(max), Some(m)) = (args.max_pose_mae_deg, mae)
        && (m[0] > max || m[1] > max)
    {
        bail!(
            "head pose MAE (yaw {:.1}, pitch {:.1}) exceeds {max:.1} degrees",
            m[0],
            m[1]
        );
    }
    Ok(())
}
