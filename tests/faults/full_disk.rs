//! A full disk. The store's page limit (SQLite's `max_page_count` on the app's own writer
//! connection) makes SQLite fail writes that need room with its own "database or disk is
//! full", exactly as a full disk does, without filling the test machine's disk.

use std::time::Duration;

use crate::common::{self, ATTENTIVE, assert_parts_add_up, fixture, send_frame};

fn form() -> serde_json::Value {
    serde_json::json!({
        "duration_minutes": 25,
        "alert_threshold_s": 5,
        "alert_mode": "both",
        "send_email": false,
        "send_sms": false,
    })
}

/// Issue 9: on a full disk, creating a session answered 404 "session not found". Now: 507
/// "the disk is full" with nothing half-written, a running session ends (or says why it
/// cannot), and once space returns everything goes on with nothing lost.
#[tokio::test]
async fn a_full_disk_refuses_new_sessions_whole_and_everything_goes_on_once_space_returns() {
    // No cap on running sessions here: the disk must fill first.
    let app = common::spawn_app_adjusted(|c| c.limits.max_running_sessions = usize::MAX).await;
    let running = app.start_session(25.0, 5.0).await["id"].as_i64().unwrap();
    let mut ws = app.connect_live(running).await;
    send_frame(&mut ws, &fixture(ATTENTIVE)).await;

    // No room beyond the file's current size.
    app.db.call(|s| s.set_page_limit(Some(0))).await.unwrap();
    let mut created = vec![running];
    let refused = loop {
        assert!(created.len() < 2_000, "the capped database never filled up");
        let (status, body) = app.post_json("/api/sessions", &form()).await;
        match status {
            201 => created.push(body["id"].as_i64().unwrap()),
            _ => break (status, body),
        }
    };
    let (status, body) = refused;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"], "disk full", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("the disk is full"),
        "{body}"
    );
    // Nothing half-written: the list holds exactly the sessions that were answered 201.
    let (_, list) = app.get_json("/api/sessions").await;
    let mut listed: Vec<i64> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, created);
    // Reads and the live stream go on.
    let reply = send_frame(&mut ws, &fixture(ATTENTIVE)).await;
    assert_eq!(reply["source"], "frame", "{reply}");

    // The end of the running session either stores its summary (200) or says the disk is
    // full (503) and leaves it running; either way nothing is lost once space returns.
    let (first_status, first_try) = app
        .post_empty(&format!("/api/sessions/{running}/end"))
        .await;
    match first_status {
        200 => assert_eq!(first_try["status"], "completed", "{first_try}"),
        503 => {
            let detail = first_try["detail"].as_str().unwrap();
            assert!(detail.contains("the disk is full"), "{detail}");
            let (_, stored) = app.get_json(&format!("/api/sessions/{running}")).await;
            assert_eq!(stored["status"], "running", "{stored}");
        }
        other => panic!("ending on a full disk answered {other}: {first_try}"),
    }

    app.db.call(|s| s.set_page_limit(None)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, summary) = app
        .post_empty(&format!("/api/sessions/{running}/end"))
        .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["status"], "completed");
    assert_parts_add_up(&summary);
    if first_status == 200 {
        // Ending again returns the stored summary.
        assert_eq!(summary, first_try);
    }
    let (status, later) = app.post_json("/api/sessions", &form()).await;
    assert_eq!(status, 201, "{later}");
    // Every other session is still there and running, and ends with its summary stored.
    for id in created.iter().skip(1) {
        let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
        assert_eq!(
            (status, summary["status"].as_str()),
            (200, Some("completed")),
            "{summary}"
        );
    }
}
