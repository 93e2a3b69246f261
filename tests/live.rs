//! The live WebSocket with the real vision pipeline and real face photos: a session that is
//! attentive, then looks away (or closes its eyes) for longer than the alert threshold, then
//! is attentive again; bad frames; back-pressure; a second connection taking over.
//!
//! Time between frames is moved forward with the injectable clock, so the drift lasts
//! seconds of server time while the test takes a fraction of that.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// Sends `frames` copies of a photo, `step_ms` of server time apart; returns the last reply.
async fn stream(app: &TestApp, ws: &mut Ws, photo: &[u8], frames: usize, step_ms: i64) -> Value {
    let mut last = Value::Null;
    for _ in 0..frames {
        last = send_frame(ws, photo).await;
        assert!(last.get("error").is_none(), "frame refused: {last}");
        app.time.advance_ms(step_ms);
    }
    last
}

async fn drift_and_return(unfocused_photo: &str, reason: &str) {
    let app = spawn_app().await;
    let session = app.start_session(5.0, 0.5).await;
    let id = session["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;

    let attentive = fixture(ATTENTIVE);
    let away = fixture(unfocused_photo);

    // Attentive: focused, with the face box inside the frame.
    let reply = stream(&app, &mut ws, &attentive, 4, 250).await;
    assert_eq!(reply["source"], "frame", "{reply}");
    assert_eq!(reply["focused"], true, "{reply}");
    assert_eq!(reply["reason"], Value::Null, "{reply}");
    assert_eq!(reply["alert"], false, "{reply}");
    assert_eq!(reply["verdict"]["focused"], true, "{reply}");
    let face = &reply["face"];
    let width = face["image_width"].as_f64().expect("face with image size");
    let height = face["image_height"].as_f64().unwrap();
    let bbox: Vec<f64> = face["box"]
        .as_array()
        .expect("face box")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(bbox.len(), 4);
    assert!(bbox[0] < bbox[2] && bbox[1] < bbox[3], "{bbox:?}");
    assert!(
        bbox[0] >= -0.1 * width && bbox[2] <= 1.1 * width,
        "{bbox:?} in {width}"
    );
    assert!(
        bbox[1] >= -0.1 * height && bbox[3] <= 1.1 * height,
        "{bbox:?} in {height}"
    );
    assert_eq!(reply["breaks"], 0);
    assert!(reply["remaining_ms"].as_u64().unwrap() > 0);

    // Unfocused for well over the threshold (0.5 s) plus the debounce (0.5 s).
    let reply = stream(&app, &mut ws, &away, 8, 300).await;
    assert_eq!(reply["verdict"]["focused"], false, "{reply}");
    assert_eq!(reply["verdict"]["reason"], reason, "{reply}");
    assert_eq!(reply["focused"], false, "{reply}");
    assert_eq!(reply["reason"], reason, "{reply}");
    assert_eq!(reply["alert"], true, "{reply}");
    assert_eq!(reply["breaks"], 1, "{reply}");
    assert!(reply["unfocused_ms"].as_u64().unwrap() >= 1_000, "{reply}");

    // Back to the screen: focused again, the alert clears, the break stays counted.
    let reply = stream(&app, &mut ws, &attentive, 4, 250).await;
    assert_eq!(reply["focused"], true, "{reply}");
    assert_eq!(reply["alert"], false, "{reply}");
    assert_eq!(reply["breaks"], 1, "{reply}");
    let percent = reply["focus_percent"].as_f64().unwrap();
    assert!(percent > 0.0 && percent < 100.0, "{reply}");

    // End early: the summary, to the socket and to the caller.
    let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["breaks_count"], 1, "{summary}");
    assert_eq!(summary["ended_early"], true);
    let total = summary["total_seconds"].as_f64().unwrap();
    let focused = summary["focused_seconds"].as_f64().unwrap();
    let unfocused = summary["unfocused_seconds"].as_f64().unwrap();
    assert!((total - focused - unfocused).abs() <= 0.15, "{summary}");
    assert!(unfocused >= 1.0 && focused >= 1.0, "{summary}");
    assert!(summary["longest_focus_seconds"].as_f64().unwrap() <= focused);
    let pushed = expect_ended(&mut ws).await;
    assert_eq!(pushed, summary);
    assert_eq!(expect_close(&mut ws).await, 1000);

    // History has it, with its timeline.
    let (_, list) = app.get_json("/api/sessions?days=7").await;
    let listed = &list["sessions"][0];
    assert_eq!(listed["id"], id);
    assert_eq!(listed["status"], "completed");
    assert_eq!(listed["totals"]["breaks"], 1);
    assert_eq!(listed["summary"], summary);
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    let events = detail["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "unfocused" && e["reason"] == reason),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "break" && e["reason"] == reason),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e["kind"] == "focused"), "{events:?}");
}

#[tokio::test]
async fn looking_away_longer_than_the_threshold_is_a_break() {
    drift_and_return(LOOKING_AWAY, "looking_away").await;
}

#[tokio::test]
async fn eyes_closed_longer_than_the_threshold_is_a_break() {
    drift_and_return(EYES_CLOSED, "eyes_closed").await;
}

#[tokio::test]
async fn no_face_is_a_verdict_not_an_error() {
    let app = spawn_app().await;
    let session = app.start_session(5.0, 0.5).await;
    let mut ws = app.connect_live(session["id"].as_i64().unwrap()).await;
    let reply = send_frame(&mut ws, &fixture(NO_FACE)).await;
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(reply["verdict"]["focused"], false, "{reply}");
    assert_eq!(reply["verdict"]["reason"], "no_face", "{reply}");
    assert_eq!(reply["face"], Value::Null, "{reply}");
}

#[tokio::test]
async fn bad_frames_get_an_error_and_the_stream_goes_on() {
    let app = spawn_app().await;
    let session = app.start_session(5.0, 0.5).await;
    let id = session["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;

    // Over 2 MB.
    let big = vec![0xFFu8; 2 * 1024 * 1024 + 1];
    let reply = send_frame(&mut ws, &big).await;
    assert_eq!(reply["error"], "frame too large", "{reply}");
    assert!(
        reply["detail"].as_str().unwrap().contains("limit"),
        "{reply}"
    );

    // Not an image.
    let reply = send_frame(&mut ws, b"definitely not a jpeg").await;
    assert_eq!(reply["error"], "unusable frame", "{reply}");
    assert!(reply["detail"].is_string());

    // A truncated JPEG.
    let attentive = fixture(ATTENTIVE);
    let reply = send_frame(&mut ws, &attentive[..attentive.len() / 3]).await;
    assert!(reply["error"].is_string(), "{reply}");

    // Text instead of binary.
    ws.send(Message::Text("hello".into())).await.unwrap();
    let reply = next_frame_reply(&mut ws).await;
    assert_eq!(reply["error"], "expected a binary frame", "{reply}");

    // The connection and the session go on.
    let reply = send_frame(&mut ws, &attentive).await;
    assert_eq!(reply["focused"], true, "{reply}");
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(detail["status"], "running");
}

#[tokio::test]
async fn a_flood_of_frames_is_dropped_newest_wins() {
    let app = spawn_app().await;
    let session = app.start_session(5.0, 0.5).await;
    let mut ws = app.connect_live(session["id"].as_i64().unwrap()).await;
    let photo = fixture(ATTENTIVE);
    const SENT: usize = 30;
    for _ in 0..SENT {
        ws.send(Message::Binary(photo.clone().into()))
            .await
            .unwrap();
    }
    // Collect replies until a second passes without one.
    let mut replies = 0;
    while let Ok(reply) =
        tokio::time::timeout(Duration::from_millis(1500), next_frame_reply(&mut ws)).await
    {
        assert_eq!(reply["source"], "frame", "{reply}");
        replies += 1;
    }
    assert!(replies >= 1, "no reply at all");
    assert!(
        replies < SENT / 2,
        "{replies} replies to {SENT} frames sent at once: frames were queued, not dropped"
    );
    // Still alive.
    let reply = send_frame(&mut ws, &photo).await;
    assert_eq!(reply["source"], "frame");
}

#[tokio::test]
async fn a_new_connection_replaces_the_old_one_and_the_session_goes_on() {
    let app = spawn_app().await;
    let session = app.start_session(5.0, 0.5).await;
    let id = session["id"].as_i64().unwrap();
    let mut first = app.connect_live(id).await;
    let photo = fixture(ATTENTIVE);
    let reply = send_frame(&mut first, &photo).await;
    assert_eq!(reply["focused"], true);

    // The page reconnects (e.g. after a network drop it did not notice yet).
    let mut second = app.connect_live(id).await;
    loop {
        let message = next_json(&mut first).await;
        if message["error"] == "replaced" {
            break;
        }
    }
    assert_eq!(expect_close(&mut first).await, 4001);

    let reply = send_frame(&mut second, &photo).await;
    assert_eq!(reply["focused"], true, "{reply}");
    assert!(reply["focused_ms"].as_u64().is_some());
}

#[tokio::test]
async fn frames_after_the_end_are_refused_and_the_socket_closes() {
    let app = spawn_app().await;
    let session = app.start_session(5.0, 0.5).await;
    let id = session["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    let _ = send_frame(&mut ws, &fixture(ATTENTIVE)).await;
    let (status, _) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200);
    // Whatever the page sends now, it gets the end and a clean close.
    let _ = ws.send(Message::Binary(fixture(ATTENTIVE).into())).await;
    let summary = expect_ended(&mut ws).await;
    assert_eq!(summary["id"], id);
    assert_eq!(expect_close(&mut ws).await, 1000);
    // And a new connection is refused.
    let (status, body) = app.get_json(&format!("/api/sessions/{id}/live")).await;
    assert_eq!(status, 404, "{body}");
}
