//! Fatigue end to end on the live socket, with the real vision pipeline and a real webcam
//! stream: the committed clip frames (`tests/fixtures/stream`, 60 frames of a woman facing
//! the camera, every 5th frame of a 24 fps video: about 4.8 a second, as a live session
//! samples) whose shut frames were counted by hand: a blink at source frame 386 (one frame
//! shut at this rate) and one at 426-431 (two frames). The live replies count both blinks at
//! the first open frame after each, the summary, the stored totals and the CSV carry the
//! session's figures, and a session continued after a restart adds to its counts.
//!
//! The clock is frozen between frames ([`ShiftedTime::frozen`]): each frame reaches the
//! session exactly 208 ms (5 source frames) after the one before, however long the debug
//! build takes to analyse it, as a live page's frames would.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::*;
use focus_sentry::time::ShiftedTime;
use serde_json::Value;

/// Time between the fixture's frames: 5 frames of the 24 fps source.
const STEP_MS: i64 = 208;

/// The fixture's frames in order: (source frame number, JPEG).
fn stream_frames() -> Vec<(u32, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stream/pexels_woman_attentive");
    let mut frames: Vec<(u32, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_str().unwrap();
            let number = stem.trim_start_matches("frame").parse().unwrap();
            (number, std::fs::read(&p).unwrap())
        })
        .collect();
    frames.sort_by_key(|(n, _)| *n);
    assert_eq!(frames.len(), 60, "the fixture's frames");
    frames
}

/// Streams the fixture at its own rate on the frozen clock; checks that each reply counts
/// the hand-counted blinks (`before` from an earlier stretch of the session) when the
/// first open frame after each closure arrives. Returns the last reply.
async fn stream_and_count(app: &TestApp, ws: &mut Ws, before: u64) -> Value {
    let mut last = Value::Null;
    for (number, jpeg) in stream_frames() {
        let reply = send_frame(ws, &jpeg).await;
        assert!(reply.get("error").is_none(), "frame {number}: {reply}");
        let blinks = match number {
            ..391 => 0,
            391..436 => 1,
            _ => 2,
        };
        assert_eq!(
            reply["fatigue"]["blinks"],
            before + blinks,
            "frame {number}: {reply}"
        );
        last = reply;
        app.time.advance_ms(STEP_MS);
    }
    last
}

#[tokio::test]
async fn blinks_and_perclos_are_live_in_the_summary_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("focus.db");
    let mut app = spawn_app_with_time(test_config(&db_path), ShiftedTime::frozen()).await;
    let id = app.start_session(30.0, 5.0).await["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;

    let last = stream_and_count(&app, &mut ws, 0).await;
    // Seen: the 59 gaps between the 60 frames (a frame's state holds until the next).
    let fatigue = &last["fatigue"];
    assert_eq!(fatigue["eyes_seen_ms"], 59 * STEP_MS, "{last}");
    // 2 blinks in 12.272 s: 9.8 a minute, over the last minute (all of it so far).
    assert_eq!(fatigue["blink_rate_per_min"], 9.8, "{last}");
    // PERCLOS: at most the three shut frames' time (3 x 208 ms of 12.272 s: 5.1%), at
    // least one of them (the middle of the two-frame blink) shut past 80%.
    let perclos = fatigue["perclos_percent"].as_f64().unwrap();
    assert!(perclos > 0.0 && perclos <= 5.1, "{last}");

    // The server stops: the session is saved as interrupted with its counts.
    app.shutdown().await;
    let cut = expect_ended(&mut ws).await;
    assert_eq!(cut["status"], "interrupted", "{cut}");
    assert_eq!(cut["blinks"], 2, "{cut}");
    assert_eq!(cut["blink_rate_per_min"], 9.8, "{cut}");
    assert_eq!(cut["eyes_seen_seconds"], 12.3, "{cut}");
    assert_eq!(cut["perclos_percent"], perclos, "{cut}");

    // Back two minutes later; the page continues the session and streams the clip again.
    let app = spawn_app_later(&db_path, 120_000).await;
    let (status, resumed) = app.post_empty(&format!("/api/sessions/{id}/resume")).await;
    assert_eq!(status, 200, "{resumed}");
    // The counts carry over; the last minute starts again.
    assert_eq!(resumed["live"]["fatigue"]["blinks"], 2, "{resumed}");
    assert_eq!(
        resumed["live"]["fatigue"]["blink_rate_per_min"],
        Value::Null,
        "{resumed}"
    );
    let mut ws = app.connect_live(id).await;
    stream_and_count(&app, &mut ws, 2).await;

    let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["blinks"], 4, "{summary}");
    // 4 blinks in 24.544 s seen: 9.8 a minute; the same share of time shut.
    assert_eq!(summary["blink_rate_per_min"], 9.8, "{summary}");
    assert_eq!(summary["eyes_seen_seconds"], 24.5, "{summary}");
    assert_eq!(summary["perclos_percent"], perclos, "{summary}");

    // The stored session, history and the CSV say the same.
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    let totals = &detail["totals"];
    assert_eq!(totals["blinks"], 4, "{detail}");
    assert_eq!(totals["long_closures"], 0, "{detail}");
    assert_eq!(totals["eyes_seen_ms"], 2 * 59 * STEP_MS, "{detail}");
    assert_eq!(totals["blink_rate_per_min"], 9.8, "{detail}");
    assert_eq!(totals["perclos_percent"], perclos, "{detail}");
    assert_eq!(detail["summary"], summary);
    let csv = app.get("/api/sessions.csv").await.text().await.unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(column("blinks"), "4", "{csv}");
    assert_eq!(column("long_closures"), "0", "{csv}");
    assert_eq!(column("blinks_per_min"), "9.8", "{csv}");
    assert_eq!(column("perclos_percent"), format!("{perclos:.1}"), "{csv}");
    assert_eq!(column("eyes_seen_s"), "24.544", "{csv}");
}
