//! The offline tools as a user runs them: `focus-sentry analyze` and `focus-sentry eval`,
//! through the real binary.

use std::{path::PathBuf, process::Command};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_focus-sentry"))
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/faces")
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn analyze_prints_one_json_line_per_image_and_fails_at_the_end_on_a_bad_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("broken.jpg");
    std::fs::write(&bad, b"\xFF\xD8\xFF\xE0 this is not really a jpeg").expect("write");
    let out = bin()
        .arg("analyze")
        .arg(fixtures().join("attentive/att01_skimage_astronaut.jpg"))
        .arg(&bad)
        .arg(fixtures().join("eyes_closed"))
        .output()
        .expect("runs");
    assert!(
        !out.status.success(),
        "a bad file makes the exit status non-zero"
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4, "every file is reported, the bad one too");

    let first = &lines[0];
    assert_eq!(first["focused"], true);
    assert_eq!(first["reason"], serde_json::Value::Null);
    let face = &first["face"];
    for key in ["score", "box", "eye_openness", "blink", "head_pose", "gaze"] {
        assert!(!face[key].is_null(), "face.{key} present");
    }
    assert_eq!(face["box"].as_array().map(Vec::len), Some(4));
    assert!(face["head_pose"]["yaw_deg"].as_f64().expect("yaw").abs() < 10.0);
    assert!(first["ms"].as_f64().expect("ms") > 0.0);

    assert!(
        lines[1]["error"]
            .as_str()
            .expect("error text")
            .contains("truncated")
    );
    // The folder's images, sorted, both eyes closed.
    for line in &lines[2..] {
        assert_eq!(line["focused"], false);
        assert_eq!(line["reason"], "eyes_closed");
    }
}

#[test]
fn analyze_stream_tracks_the_face_from_frame_to_frame() {
    let face = fixtures().join("attentive/att10_pexels_woman_f330.jpg");
    let cat = fixtures().join("no_face/nof04_skimage_cat.jpg");
    let out = bin()
        .args(["analyze", "--stream"])
        .args([&face, &face, &cat, &face, &face])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let mut lines = json_lines(&out.stdout);
    // The last line sums the stream up: two faces' worth of open eyes, no blinks.
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["stream"]["frames"], 5, "{summary}");
    assert_eq!(summary["stream"]["blinks"], 0, "{summary}");
    let tracked: Vec<_> = lines.iter().map(|l| l["tracked"].as_bool()).collect();
    // The second frame reuses the first one's face; the cat loses it, so the next face is
    // found by the detector again and tracked from then on.
    let expected = [false, true, false, false, true].map(Some);
    assert_eq!(tracked, expected);
    for (i, line) in lines.iter().enumerate() {
        let focused = i != 2;
        assert_eq!(line["focused"], focused, "frame {i}: {line}");
        assert!(line["ms"].as_f64().expect("ms") > 0.0);
    }
    assert_eq!(lines[2]["reason"], "no_face");

    // Without --stream every photo stands alone and no line says "tracked".
    let out = bin()
        .arg("analyze")
        .args([&face, &face])
        .output()
        .expect("runs");
    assert!(
        json_lines(&out.stdout)
            .iter()
            .all(|l| l.get("tracked").is_none())
    );
}

#[test]
fn analyze_pretty_prints_a_table() {
    let out = bin()
        .args(["analyze", "--pretty"])
        .arg(fixtures().join("no_face/nof04_skimage_cat.jpg"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert!(lines.next().expect("header").starts_with("file"));
    assert!(lines.next().expect("row").contains("no_face"));
}

#[test]
fn eval_reports_accuracy_and_enforces_the_minimum() {
    let out = bin()
        .arg("eval")
        .arg(fixtures())
        .args(["--min-accuracy", "0.95"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("overall"), "{text}");

    // A manifest that labels a closed-eyes photo attentive: accuracy 0%, the gate fails.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        fixtures().join("eyes_closed/ecl19_pexels_woman_f025.jpg"),
        dir.path().join("x.jpg"),
    )
    .expect("copy");
    std::fs::write(
        dir.path().join("MANIFEST.tsv"),
        "file\texpected_class\nx.jpg\tattentive\n",
    )
    .expect("manifest");
    let out = bin()
        .arg("eval")
        .arg(dir.path())
        .args(["--min-accuracy", "0.9"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("attentive") && text.contains("0.0%"),
        "{text}"
    );
    // The confusion between reasons: the attentive row has its one photo under eyes_closed.
    let row = text
        .lines()
        .skip_while(|l| !l.starts_with("confusion"))
        .find(|l| l.trim_start().starts_with("attentive"))
        .expect("a confusion row for attentive");
    let counts: Vec<&str> = row.split_whitespace().skip(1).collect();
    assert_eq!(counts, ["0", "0", "1", "0", "0"], "{text}");
}

/// An eval folder holding the astronaut fixture in `with_pose/`, labelled attentive with the
/// head pose `yaw,pitch,roll` (degrees) in its `poses.csv`.
fn astronaut_with_pose(yaw_pitch_roll: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let pose_dir = dir.path().join("with_pose");
    std::fs::create_dir(&pose_dir).expect("mkdir");
    std::fs::copy(
        fixtures().join("attentive/att01_skimage_astronaut.jpg"),
        pose_dir.join("a.jpg"),
    )
    .expect("copy");
    std::fs::write(
        pose_dir.join("poses.csv"),
        format!(
            "file,yaw_deg,pitch_deg,roll_deg,expected_class\na.jpg,{yaw_pitch_roll},attentive\n"
        ),
    )
    .expect("csv");
    dir
}

#[test]
fn eval_measures_head_pose_error_from_poses_csv() {
    // Ground truth written from the pipeline's own convention for a frontal face.
    let dir = astronaut_with_pose("40.0,0.0,0.0");
    let out = bin()
        .arg("eval")
        .arg(dir.path())
        .args(["--max-pose-mae-deg", "8"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // The astronaut faces the camera: a labelled yaw of 40 is ~40 degrees off.
    assert!(text.contains("head pose MAE over 1 faces"), "{text}");
    assert!(!out.status.success(), "MAE above 8 degrees fails: {text}");
}

#[test]
fn eval_gates_the_roll_error_on_its_own() {
    // The astronaut faces the camera nearly upright (roll ~3 deg): labelled as she reads in
    // yaw and pitch but rolled 30 deg, only the roll gate can fail.
    let dir = astronaut_with_pose("0.9,-7.8,30.0");
    let eval = |flag: &str| {
        bin()
            .arg("eval")
            .arg(dir.path())
            .args([flag, "8"])
            .output()
            .expect("runs")
    };
    let pose = eval("--max-pose-mae-deg");
    assert!(
        pose.status.success(),
        "yaw and pitch are within 8 deg: {}",
        String::from_utf8_lossy(&pose.stdout)
    );
    let roll = eval("--max-roll-mae-deg");
    let text = String::from_utf8_lossy(&roll.stderr);
    assert!(!roll.status.success(), "a roll 27 deg off fails: {text}");
    assert!(text.contains("roll MAE"), "{text}");
}

fn stream_frame(n: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "tests/fixtures/stream/pexels_woman_attentive/frame{n}.jpg"
    ))
}

#[test]
fn calibrate_writes_a_profile_that_analyze_judges_with_and_refuses_closed_eyes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = dir.path().join("me.json");
    // A quick calibration: frames of the clip in which she looks into the camera.
    let out = bin()
        .args(["calibrate", "--out"])
        .arg(&profile)
        .arg("--center")
        .args([161, 176, 201, 206, 211].map(stream_frame))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("quick calibration"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&profile).expect("profile written"))
            .expect("profile is JSON");
    assert_eq!(json["mode"], "quick");
    // Her head at rest, as measured on those frames (about 6-12 deg to the side, 7-10 up).
    let rest_yaw = json["head_rest"]["yaw_deg"].as_f64().expect("yaw");
    assert!((4.0..14.0).contains(&rest_yaw), "{json}");

    // Judged with it: an open-eyed frame into the camera is focused, her shut eyes are closed.
    let out = bin()
        .args(["analyze", "--profile"])
        .arg(&profile)
        .arg(stream_frame(251))
        .arg(fixtures().join("eyes_closed/ecl19_pexels_woman_f025.jpg"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["focused"], true, "{}", lines[0]);
    assert_eq!(lines[1]["reason"], "eyes_closed", "{}", lines[1]);

    // The same profile as an older version wrote it (format 1): refused, in words.
    assert_eq!(json["version"], 2, "{json}");
    let old = dir.path().join("old.json");
    let mut old_json = json.clone();
    old_json["version"] = serde_json::json!(1);
    std::fs::write(&old, old_json.to_string()).expect("write");
    let out = bin()
        .args(["analyze", "--profile"])
        .arg(&old)
        .arg(stream_frame(251))
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("older version") && err.contains("calibrate again"),
        "{err}"
    );

    // Calibrating on shut eyes is refused, says why, and writes nothing.
    let refused = dir.path().join("refused.json");
    let out = bin()
        .args(["calibrate", "--out"])
        .arg(&refused)
        .arg("--center")
        .args(
            ["ecl19_pexels_woman_f025.jpg", "ecl20_pexels_woman_f441.jpg"]
                .map(|f| fixtures().join("eyes_closed").join(f)),
        )
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("looked closed"), "{err}");
    assert!(!refused.exists());
}

/// `RTEN_TIMING` (rten's per-operator timing, printed by its inference threads) must not
/// hang `analyze`: the tool held stdout's lock for the whole run, so the pool thread that
/// printed waited for it forever while the run waited for the pool.
#[test]
fn analyze_finishes_with_rten_timing_on() {
    use std::{
        process::Stdio,
        time::{Duration, Instant},
    };
    let mut child = bin()
        .arg("analyze")
        .arg(fixtures().join("attentive/att01_skimage_astronaut.jpg"))
        .env("RTEN_TIMING", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    // Read stdout on a thread, so a full pipe cannot stall the child either.
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).expect("read stdout");
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().expect("kill");
            child.wait().expect("reap");
            panic!("analyze with RTEN_TIMING set did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let text = reader.join().expect("reader");
    let verdicts: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(verdicts.len(), 1, "{text}");
    assert_eq!(verdicts[0]["focused"], true, "{text}");
}
