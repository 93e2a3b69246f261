//! The real binary as a child process: crash recovery (SIGKILL mid-session, then start again
//! on the same database) and clear start-up errors for an unusable database or address.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{ATTENTIVE, Api, fixture, send_frame};
use focus_test_support::binary::{self, Server};
use serde_json::Value;

/// The binary under test.
const BINARY: &str = env!("CARGO_BIN_EXE_focus-sentry");

/// Issue 9: a crash loses at most the 2 s save interval, plus what a loaded machine may
/// delay a timer by (the ticker checks every 500 ms; it used to save up to 2.5 s apart).
const MAX_LOST_MS: u64 = 2_000 + 250;

#[tokio::test]
async fn a_crashed_session_is_closed_as_interrupted_with_its_totals() {
    let dir = tempfile::tempdir().unwrap();

    let mut server = Server::start(BINARY, dir.path(), &[]).await;
    let api = Api::new(&server.base);
    let session = api.start_session(5.0, 1.0).await;
    let id = session["id"].as_i64().expect("session id");

    let mut ws = api.connect_live(id).await;
    let photo = fixture(ATTENTIVE);
    // No credit before the first verdict: the first frames only settle the start (2 or
    // more frames spanning the 500 ms debounce), then the state is focused.
    let first = send_frame(&mut ws, &photo).await;
    assert_eq!(first["state"], "starting", "{first}");
    let mut focused = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let reply = send_frame(&mut ws, &photo).await;
        if reply["focused"] == true {
            focused = true;
            break;
        }
    }
    assert!(focused, "the frames settled on focused");

    // Wait for a periodic save (every 2 s by default) with some measured time.
    let mut saved = Value::Null;
    for _ in 0..80 {
        let _ = send_frame(&mut ws, &photo).await;
        saved = api.get_json(&format!("/api/sessions/{id}")).await.1;
        if saved["totals"]["focused_ms"].as_u64().unwrap_or(0) >= 1_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let saved_focused = saved["totals"]["focused_ms"].as_u64().unwrap();
    assert!(saved_focused >= 1_000, "{saved}");

    // What a crash can lose is the time since the last save. The saved total is the clock's
    // time at each save, so the steps between the totals seen are the gaps between saves
    // (read several times a second, well inside the 2 s interval).
    let mut saves: Vec<u64> = Vec::new();
    let watching = std::time::Instant::now();
    while watching.elapsed() < Duration::from_secs(7) {
        let _ = send_frame(&mut ws, &photo).await;
        let (_, now) = api.get_json(&format!("/api/sessions/{id}")).await;
        let total = now["totals"]["total_ms"].as_u64().unwrap();
        if saves.last() != Some(&total) {
            saves.push(total);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saves.len() >= 4, "saves seen: {saves:?}");
    let widest = saves.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        widest <= MAX_LOST_MS,
        "saves {widest} ms apart: a crash could lose that much ({saves:?})"
    );

    // Crash: SIGKILL, no shutdown path at all.
    let killed_at_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    server.kill().await;
    drop(ws);

    let server = Server::start(BINARY, dir.path(), &[]).await;
    let api = Api::new(&server.base);
    let (_, recovered) = api.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(recovered["status"], "interrupted", "{recovered}");
    assert_eq!(recovered["ended_early"], true);
    assert!(recovered["ended_at_ms"].is_i64(), "{recovered}");
    let totals = &recovered["totals"];
    assert!(
        totals["focused_ms"].as_u64().unwrap() >= saved_focused,
        "{recovered}"
    );
    assert!(totals["total_ms"].as_u64().unwrap() >= totals["focused_ms"].as_u64().unwrap());
    assert_eq!(recovered["summary"]["status"], "interrupted");
    assert_eq!(recovered["end_reason"], "server_lost", "{recovered}");
    let lost_ms = killed_at_ms - recovered["ended_at_ms"].as_i64().unwrap();
    assert!(
        (0..=i64::try_from(MAX_LOST_MS).unwrap()).contains(&lost_ms),
        "{lost_ms} ms lost: {recovered}"
    );
    // The totals add up, and the timeline reaches the last save: the stretch that was open
    // then is closed there, not lost.
    let parts: u64 = [
        "focused_ms",
        "unfocused_ms",
        "starting_ms",
        "paused_ms",
        "offline_ms",
    ]
    .iter()
    .map(|k| totals[k].as_u64().unwrap())
    .sum();
    assert_eq!(parts, totals["total_ms"].as_u64().unwrap(), "{recovered}");
    let stretches: Vec<&Value> = recovered["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "break")
        .collect();
    assert_eq!(
        stretches.first().unwrap()["start_ms"],
        recovered["started_at_ms"]
    );
    assert_eq!(
        stretches.last().unwrap()["end_ms"],
        recovered["ended_at_ms"],
        "{recovered}"
    );
    for pair in stretches.windows(2) {
        assert_eq!(pair[0]["end_ms"], pair[1]["start_ms"], "{recovered}");
    }

    // Its live stream is gone, and ending it returns the recovered summary.
    let status = api.get(&format!("/api/sessions/{id}/live")).await.status();
    assert_eq!(status, 404);
    let (_, summary) = api.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(summary, recovered["summary"]);

    // Before its planned end it can still be continued, as the same session: the time the
    // server was down is an offline stretch from the last save.
    let (_, resumed) = api.post_empty(&format!("/api/sessions/{id}/resume")).await;
    assert_eq!(resumed["status"], "running", "{resumed}");
    assert_eq!(resumed["live"]["state"], "starting", "{resumed}");
    let (_, detail) = api.get_json(&format!("/api/sessions/{id}")).await;
    let offline = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "offline")
        .unwrap_or_else(|| panic!("an offline stretch in {detail}"));
    assert_eq!(offline["start_ms"], recovered["ended_at_ms"], "{detail}");
}

/// Runs the binary with `args` and `--db <db>`, plus the environment `env`, until it exits;
/// returns (exit success, stderr).
async fn run_to_exit(db: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let db = db.to_str().expect("a UTF-8 temporary path");
    let args: Vec<&str> = args.iter().copied().chain(["--db", db]).collect();
    binary::run_to_exit(BINARY, &args, env).await
}

#[tokio::test]
async fn an_unusable_database_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let (ok, stderr) = run_to_exit(&garbage, &["--port", "0"], &[]).await;
    assert!(!ok);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(stderr.contains("garbage.db"), "{stderr}");

    let (ok, stderr) = run_to_exit(dir.path(), &["--port", "0"], &[]).await;
    assert!(!ok);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("folder"), "{stderr}");
}

#[tokio::test]
async fn a_bad_port_or_host_variable_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never-created.db");
    for (var, value) in [("FOCUS_PORT", "80o0"), ("FOCUS_HOST", "my-laptop")] {
        let (ok, stderr) = run_to_exit(&db, &[], &[(var, value)]).await;
        assert!(!ok, "{var}={value} is refused");
        assert!(stderr.contains(var), "{stderr}");
        assert!(stderr.contains(value), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(
        !db.exists(),
        "nothing is created before the settings are valid"
    );
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let db = dir.path().join("focus.db");
    let (ok, stderr) = run_to_exit(&db, &["--host", "127.0.0.1", "--port", &port], &[]).await;
    assert!(!ok, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("an error line in {stderr}"));
    assert!(
        error.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{error}"
    );
    assert!(error.contains("--port or FOCUS_PORT"), "{error}");
    // The OS's reason appears once, not again as a cause after the advice.
    let os_reason = error
        .split("cannot listen on ")
        .nth(1)
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|rest| rest.split(" (is another").next())
        .unwrap_or_else(|| panic!("the OS reason in {error}"));
    assert!(!os_reason.is_empty(), "{error}");
    assert_eq!(error.matches(os_reason).count(), 1, "{error}");
    drop(taken);
}
