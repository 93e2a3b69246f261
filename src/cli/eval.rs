//! `focus-sentry eval DIR...`: accuracy per expected class and overall, the confusion between
//! reasons, head-pose mean absolute error where ground truth exists, and how far the gaze of
//! attentive faces points off the camera.
//!
//! Reads every `DIR/**/MANIFEST.tsv` (tab-separated, header row with at least `file` and
//! `expected_class`; `file` is relative to the manifest's folder) and every
//! `DIR/**/with_pose/poses.csv` (`file,yaw_deg,pitch_deg,roll_deg[,expected_class]`, with
//! AFLW2000-3D's conventions, which are also the pipeline's). `attentive` must come out
//! focused; `away`, `eyes_closed` and `no_face` must not.
//!
//! `--half` keeps one half of the photos, split by a fixed rule that does not look at the
//! photos: a photo is in the choosing half when the FNV-1a 64-bit hash of its file name (the
//! name alone, UTF-8) is even, else in the held-out half. Thresholds are chosen on the
//! choosing half; the held-out half measures them.
//!
//! The steps: [`read_samples`] per folder, [`select_half`], [`analyze_samples`], [`tally`]
//! into a [`Report`], [`print_report`], [`check_gates`].

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use focus_vision::{FaceAnalyzer, FrameAnalysis, HeadPose, Profile};

use super::{EvalArgs, Half, is_image, read_profile, verdict_words};

const CLASSES: [&str; 4] = ["attentive", "away", "eyes_closed", "no_face"];
/// The verdicts, as columns of the confusion table.
const VERDICTS: [&str; 5] = ["focused", "looking_away", "eyes_closed", "no_face", "error"];

/// One labelled photo (or one with ground-truth pose).
#[derive(Debug, Default, Clone)]
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

/// The labelled photos below `dir`: from the manifests, then the pose files.
fn read_samples(dir: &Path) -> anyhow::Result<BTreeMap<PathBuf, Sample>> {
    let mut samples = BTreeMap::new();
    read_manifests(dir, &mut samples)?;
    read_poses(dir, &mut samples)?;
    Ok(samples)
}

fn read_manifests(dir: &Path, samples: &mut BTreeMap<PathBuf, Sample>) -> anyhow::Result<()> {
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
    Ok(())
}

fn read_poses(dir: &Path, samples: &mut BTreeMap<PathBuf, Sample>) -> anyhow::Result<()> {
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
    Ok(())
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Which half a photo belongs to (see the module docs).
fn half_of(path: &Path) -> Half {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if fnv1a(name.unwrap_or_default().as_bytes()).is_multiple_of(2) {
        Half::Choosing
    } else {
        Half::HeldOut
    }
}

/// Keeps the photos of one half (`Half::All` keeps every photo).
fn select_half(samples: BTreeMap<PathBuf, Sample>, half: Half) -> BTreeMap<PathBuf, Sample> {
    samples
        .into_iter()
        .filter(|(path, _)| half == Half::All || half_of(path) == half)
        .collect()
}

/// A photo, its labels and what the pipeline said.
#[derive(Debug)]
struct Outcome {
    /// Which of the folders given it came from.
    set: usize,
    rel: String,
    sample: Sample,
    analysis: Result<FrameAnalysis, String>,
}

fn analyze_samples(
    analyzer: &FaceAnalyzer,
    profile: Option<&Profile>,
    sets: &[(PathBuf, BTreeMap<PathBuf, Sample>)],
) -> Vec<Outcome> {
    let mut out = Vec::new();
    for (set, (dir, samples)) in sets.iter().enumerate() {
        for (path, sample) in samples {
            let rel = path.strip_prefix(dir).unwrap_or(path).display().to_string();
            let analysis = std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    analyzer
                        .analyze_bytes_with(&b, profile)
                        .map_err(|e| e.to_string())
                });
            out.push(Outcome {
                set,
                rel,
                sample: sample.clone(),
                analysis,
            });
        }
    }
    out
}

/// Correct of total.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    total: usize,
    correct: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.correct += usize::from(ok);
    }

    fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// Mean absolute errors, degrees.
#[derive(Debug, Default, Clone, Copy)]
struct Errors {
    sum: [f64; 3],
    n: usize,
}

impl Errors {
    fn add(&mut self, e: [f32; 3]) {
        for (s, v) in self.sum.iter_mut().zip(e) {
            *s += f64::from(v.abs());
        }
        self.n += 1;
    }

    fn mean(&self) -> Option<[f64; 3]> {
        (self.n > 0).then(|| self.sum.map(|s| s / self.n as f64))
    }
}

/// Everything `eval` measured.
#[derive(Debug, Default)]
struct Report {
    /// Per folder given, then overall (the last entry).
    per_set: Vec<BTreeMap<&'static str, Tally>>,
    overall: Tally,
    /// (expected class, verdict) -> count.
    confusion: BTreeMap<(&'static str, &'static str), usize>,
    /// Ways of looking away, for `looking_away` verdicts: (expected class, way) -> count.
    away_ways: BTreeMap<(&'static str, &'static str), usize>,
    pose: Errors,
    pose_missed: usize,
    /// |gaze| of faces labelled attentive (they look into the camera): yaw, pitch.
    gaze_off_camera: Vec<(f32, f32)>,
    wrong: Vec<String>,
}

fn class_name(class: &str) -> Option<&'static str> {
    CLASSES.iter().copied().find(|c| *c == class)
}

/// Counts every outcome into a [`Report`]: the verdict of each labelled photo, then the pose
/// error of each photo with ground truth. With `verbose`, prints a line per labelled photo.
fn tally(outcomes: &[Outcome], sets: usize, verbose: bool) -> Report {
    let mut report = Report {
        per_set: vec![BTreeMap::new(); sets],
        ..Report::default()
    };
    for o in outcomes {
        if let Some(class) = o.sample.class.as_deref().and_then(class_name) {
            let ok = report.add_verdict(o, class);
            if verbose {
                print_verdict(o, class, ok);
            }
            report.add_gaze(o, class);
        }
        if let Some(truth) = o.sample.pose {
            report.add_pose(o, truth);
        }
    }
    report
}

/// The confusion table's column for what the pipeline said.
fn verdict_column(analysis: &Result<FrameAnalysis, String>) -> &'static str {
    let verdict = match analysis {
        Ok(a) => a.reason.map_or("focused", |r| r.as_str()),
        Err(_) => "error",
    };
    VERDICTS
        .iter()
        .copied()
        .find(|v| *v == verdict)
        .unwrap_or("error")
}

impl Report {
    /// Counts a labelled photo: right or wrong, per set and overall; its cell of the
    /// confusion table; which way it looked away; and, when wrong, a line for the list of
    /// misjudged photos. Returns whether the verdict was right.
    fn add_verdict(&mut self, o: &Outcome, class: &'static str) -> bool {
        let ok = matches!(&o.analysis, Ok(a) if a.focused == (class == "attentive"));
        self.overall.add(ok);
        self.per_set[o.set].entry(class).or_default().add(ok);
        *self
            .confusion
            .entry((class, verdict_column(&o.analysis)))
            .or_default() += 1;
        if let Ok(FrameAnalysis {
            away: Some(way), ..
        }) = &o.analysis
        {
            *self.away_ways.entry((class, way.as_str())).or_default() += 1;
        }
        if !ok {
            let got = match &o.analysis {
                Ok(a) => verdict_words(a),
                Err(e) => format!("error: {e}"),
            };
            self.wrong
                .push(format!("{}: expected {class}, got {got}", o.rel));
        }
        ok
    }

    /// Keeps how far the gaze of an attentive face with visible eyes points off the camera.
    fn add_gaze(&mut self, o: &Outcome, class: &'static str) {
        if class == "attentive"
            && let Ok(FrameAnalysis {
                face: Some(face), ..
            }) = &o.analysis
            && face.eyes_visible
        {
            self.gaze_off_camera
                .push((face.gaze.yaw_deg.abs(), face.gaze.pitch_deg.abs()));
        }
    }

    /// Adds the head-pose error against the ground truth, or counts the photo as missed when
    /// no face was found.
    fn add_pose(&mut self, o: &Outcome, truth: HeadPose) {
        match &o.analysis {
            Ok(FrameAnalysis {
                face: Some(face), ..
            }) => {
                let p = face.head_pose;
                self.pose.add([
                    p.yaw_deg - truth.yaw_deg,
                    p.pitch_deg - truth.pitch_deg,
                    p.roll_deg - truth.roll_deg,
                ]);
            }
            _ => self.pose_missed += 1,
        }
    }
}

/// `--verbose`: one line per labelled photo, as it is counted.
fn print_verdict(o: &Outcome, class: &str, ok: bool) {
    let got = o
        .analysis
        .as_ref()
        .map_or_else(|e| e.clone(), verdict_words);
    println!(
        "{} {:<50} {class:<12} {got}",
        if ok { "ok " } else { "BAD" },
        o.rel
    );
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

/// Prints the report: accuracy per class (per folder when there are several), the confusion
/// table, the ways of looking away, the head-pose error, the gaze of attentive faces and the
/// misjudged photos.
fn print_report(report: &Report, dirs: &[PathBuf], half: Half) {
    if half != Half::All {
        println!("{} half only", half.as_str());
    }
    print_accuracy(report, dirs);
    print_confusion(report);
    print_away_ways(report);
    print_pose_error(report);
    print_gaze(report);
    print_misjudged(report);
}

/// One row of the accuracy table.
fn print_accuracy_row(label: &str, t: Tally) {
    println!(
        "{label:<12} {:>6} {:>8} {:>8.1}%",
        t.total,
        t.correct,
        t.accuracy() * 100.0
    );
}

/// The accuracy table: a row per class, per folder (with the folder's total when there are
/// several folders), then the overall row.
fn print_accuracy(report: &Report, dirs: &[PathBuf]) {
    println!(
        "{:<12} {:>6} {:>8} {:>9}",
        "class", "images", "correct", "accuracy"
    );
    for (dir, per_class) in dirs.iter().zip(&report.per_set) {
        if dirs.len() > 1 {
            println!("{}", dir.display());
        }
        let mut set = Tally::default();
        for class in CLASSES {
            if let Some(&t) = per_class.get(class) {
                print_accuracy_row(class, t);
                set.total += t.total;
                set.correct += t.correct;
            }
        }
        if dirs.len() > 1 {
            print_accuracy_row("set", set);
        }
    }
    print_accuracy_row("overall", report.overall);
}

/// Expected class by verdict, leaving out the classes no photo had.
fn print_confusion(report: &Report) {
    println!("confusion (rows: expected, columns: verdict):");
    print!("  {:<12}", "");
    for v in VERDICTS {
        print!(" {v:>12}");
    }
    println!();
    for class in CLASSES {
        if !VERDICTS
            .iter()
            .any(|v| report.confusion.contains_key(&(class, *v)))
        {
            continue;
        }
        print!("  {class:<12}");
        for v in VERDICTS {
            print!(" {:>12}", report.confusion.get(&(class, v)).unwrap_or(&0));
        }
        println!();
    }
}

fn print_away_ways(report: &Report) {
    if !report.away_ways.is_empty() {
        let ways: Vec<String> = report
            .away_ways
            .iter()
            .map(|((class, way), n)| format!("{class}->{way} {n}"))
            .collect();
        println!("looking_away, which way: {}", ways.join(", "));
    }
}

fn print_pose_error(report: &Report) {
    if let Some(m) = report.pose.mean() {
        println!(
            "head pose MAE over {} faces: yaw {:.1} deg, pitch {:.1} deg, roll {:.1} deg{}",
            report.pose.n,
            m[0],
            m[1],
            m[2],
            if report.pose_missed > 0 {
                format!(" ({} with no face found, not counted)", report.pose_missed)
            } else {
                String::new()
            }
        );
    }
}

fn print_gaze(report: &Report) {
    let yaw = median(report.gaze_off_camera.iter().map(|g| g.0).collect());
    let pitch = median(report.gaze_off_camera.iter().map(|g| g.1).collect());
    if let (Some(yaw), Some(pitch)) = (yaw, pitch) {
        println!(
            "gaze of {} attentive faces off the camera: median yaw {yaw:.1} deg, pitch {pitch:.1} deg",
            report.gaze_off_camera.len()
        );
    }
}

fn print_misjudged(report: &Report) {
    if !report.wrong.is_empty() {
        println!("misjudged:");
        for w in &report.wrong {
            println!("  {w}");
        }
    }
}

fn check_gates(report: &Report, args: &EvalArgs) -> anyhow::Result<()> {
    if let Some(min) = args.min_accuracy
        && report.overall.accuracy() < min
    {
        bail!(
            "accuracy {:.1}% is below the required {:.1}%",
            report.overall.accuracy() * 100.0,
            min * 100.0
        );
    }
    if args.max_pose_mae_deg.is_none() && args.max_roll_mae_deg.is_none() {
        return Ok(());
    }
    let Some(m) = report.pose.mean() else {
        bail!("no faces with ground-truth pose to check the pose error on");
    };
    if let Some(max) = args.max_pose_mae_deg
        && (m[0] > max || m[1] > max)
    {
        bail!(
            "head pose MAE (yaw {:.1}, pitch {:.1}) exceeds {max:.1} degrees",
            m[0],
            m[1]
        );
    }
    if let Some(max) = args.max_roll_mae_deg
        && m[2] > max
    {
        bail!("head roll MAE {:.1} exceeds {max:.1} degrees", m[2]);
    }
    Ok(())
}

/// Runs `focus-sentry eval`.
pub fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let mut sets = Vec::new();
    for dir in &args.dirs {
        sets.push((dir.clone(), select_half(read_samples(dir)?, args.half)));
    }
    if sets
        .iter()
        .all(|(_, s)| s.values().all(|s| s.class.is_none()))
    {
        let dirs: Vec<String> = args.dirs.iter().map(|d| d.display().to_string()).collect();
        bail!("no labelled images found under {}", dirs.join(", "));
    }
    let profile = args.profile.as_deref().map(read_profile).transpose()?;
    let analyzer = FaceAnalyzer::embedded().context("cannot load the vision models")?;
    let outcomes = analyze_samples(&analyzer, profile.as_ref(), &sets);
    let report = tally(&outcomes, sets.len(), args.verbose);
    print_report(&report, &args.dirs, args.half);
    check_gates(&report, &args)
}

#[cfg(test)]
mod tests {
    use focus_vision::{Away, Reason};

    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    fn outcome(set: usize, class: &str, analysis: Result<FrameAnalysis, String>) -> Outcome {
        Outcome {
            set,
            rel: format!("{class}.jpg"),
            sample: Sample {
                class: Some(class.to_owned()),
                pose: None,
            },
            analysis,
        }
    }

    fn verdict(reason: Option<Reason>, away: Option<Away>) -> Result<FrameAnalysis, String> {
        Ok(FrameAnalysis {
            focused: reason.is_none(),
            reason,
            away,
            zone: None,
            eye_closure: None,
            face: None,
            image_size: (640, 480),
        })
    }

    #[test]
    fn tally_counts_verdicts_per_set_in_the_confusion_table_and_lists_the_misjudged() {
        let outcomes = [
            outcome(0, "attentive", verdict(None, None)),
            outcome(0, "attentive", verdict(Some(Reason::EyesClosed), None)),
            outcome(
                1,
                "away",
                verdict(Some(Reason::LookingAway), Some(Away::LookingDown)),
            ),
            outcome(1, "no_face", Err("truncated JPEG".to_owned())),
        ];
        let report = tally(&outcomes, 2, false);
        assert_eq!((report.overall.total, report.overall.correct), (4, 2));
        let attentive = report.per_set[0]["attentive"];
        assert_eq!((attentive.total, attentive.correct), (2, 1));
        assert_eq!(report.per_set[1]["away"].correct, 1);
        assert_eq!(
            report.per_set[1]["no_face"].correct, 0,
            "an error is never right"
        );
        assert_eq!(
            report.confusion,
            BTreeMap::from([
                (("attentive", "focused"), 1),
                (("attentive", "eyes_closed"), 1),
                (("away", "looking_away"), 1),
                (("no_face", "error"), 1),
            ])
        );
        assert_eq!(
            report.away_ways,
            BTreeMap::from([(("away", "looking_down"), 1)])
        );
        assert_eq!(report.wrong.len(), 2, "{:?}", report.wrong);
        assert!(report.wrong[0].starts_with("attentive.jpg: expected attentive, got "));
        assert_eq!(
            report.wrong[1],
            "no_face.jpg: expected no_face, got error: truncated JPEG"
        );
        assert_eq!(
            report.pose.n + report.pose_missed,
            0,
            "no ground-truth pose"
        );
    }

    #[test]
    fn halves_split_by_the_file_name_alone() {
        let a = half_of(Path::new("x/attentive/att02_obama_portrait.jpg"));
        let b = half_of(Path::new("elsewhere/att02_obama_portrait.jpg"));
        assert_eq!(a, b);
        // The split the documentation reports: these two fall on different sides.
        assert_eq!(
            half_of(Path::new("att02_obama_portrait.jpg")),
            Half::Choosing
        );
        assert_eq!(
            half_of(Path::new("att03_biden_portrait.jpg")),
            Half::HeldOut
        );
    }
}
