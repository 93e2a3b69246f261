//! The database locked by another process: reads answer at once; writes wait, and what they
//! carry is saved once the lock goes. An end that cannot be saved is refused (503) and the
//! session runs on until it can be.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, ATTENTIVE, assert_parts_add_up, fixture, send_frame};
use crate::helpers::LockHolder;

/// Issue 9: with one shared connection, a read waited behind a write that was waiting out its
/// 5 s busy timeout (4.8 s for `GET /api/sessions/{id}`). Reads now run on their own WAL
/// connections.
#[tokio::test]
async fn reading_a_session_answers_at_once_while_another_process_holds_the_write_lock() {
    let app = common::spawn_app().await;
    let session = app.start_session(25.0, 5.0).await;
    let id = session["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    let reply = send_frame(&mut ws, &fixture(ATTENTIVE)).await;
    assert_eq!(reply["source"], "frame", "{reply}");

    let lock = LockHolder::hold(&app.db_path);
    // The session's periodic save (every 300 ms in tests) is now stuck on the writer,
    // waiting for the lock.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let (_, before) = app.get_json(&format!("/api/sessions/{id}")).await;
    let saved_before = before["totals"]["total_ms"].as_u64().unwrap();
    let mut slowest = Duration::ZERO;
    for path in [
        format!("/api/sessions/{id}"),
        "/api/sessions".to_owned(),
        "/api/sessions.csv".to_owned(),
    ] {
        let started = Instant::now();
        let response = app.get(&path).await;
        let took = started.elapsed();
        assert_eq!(response.status(), 200, "{path}");
        slowest = slowest.max(took);
    }
    eprintln!("slowest read while the database was locked: {slowest:?}");
    // The write behind the lock waits up to 5 s; a read that queued behind it would take
    // seconds. 1.5 s leaves room for a loaded test machine.
    assert!(
        slowest < Duration::from_millis(1_500),
        "a read took {slowest:?} while another process held the write lock"
    );

    // The stream goes on meanwhile: frames are answered from memory.
    let reply = send_frame(&mut ws, &fixture(ATTENTIVE)).await;
    assert_eq!(reply["source"], "frame", "{reply}");

    tokio::time::sleep(Duration::from_secs(1)).await;
    lock.release();
    // Once the lock is gone the totals are saved again, including the time that passed
    // under the lock: nothing was lost.
    let started = Instant::now();
    loop {
        let (_, body) = app.get_json(&format!("/api/sessions/{id}")).await;
        if body["totals"]["total_ms"].as_u64().unwrap_or(0) >= saved_before + 1_000 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Issue 9: an end whose save failed answered 200 "completed" with totals the store did not
/// hold, the row stayed `running`, and a later end said "interrupted" with stale totals.
/// Now: 503 with the reason, the session still running, and a later end stores it.
#[tokio::test]
async fn ending_while_another_process_keeps_the_database_locked_is_refused_and_can_be_retried() {
    let app = common::spawn_app().await;
    let session = app.start_session(25.0, 5.0).await;
    let id = session["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    send_frame(&mut ws, &fixture(ATTENTIVE)).await;

    let lock = LockHolder::hold(&app.db_path);
    // Longer than the store's 5 s busy timeout.
    let (status, body) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "not saved", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("locked by another program") && detail.contains("still running"),
        "{detail}"
    );
    // Still running, in the registry and on the socket: frames still count.
    let (status, stored) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(
        (status, stored["status"].as_str()),
        (200, Some("running")),
        "{stored}"
    );
    let reply = send_frame(&mut ws, &fixture(ATTENTIVE)).await;
    assert_eq!(reply["source"], "frame", "{reply}");

    lock.release();
    let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["end_reason"], "user");
    assert_parts_add_up(&summary);
    // What was answered is what is stored: a second end reads the summary from the store.
    let (_, stored) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(stored["status"], "completed", "{stored}");
    let (_, again) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(again, summary);
    // The page is told, with the stored summary.
    let ended: Value = common::expect_ended(&mut ws).await;
    assert_eq!(ended, summary);
}
