//! The live WebSocket with the real vision pipeline and real face photos: a session that is
//! attentive, then looks away (or closes its eyes) for longer than the alert threshold, then
//! is attentive again; bad frames; back-pressure; a second connection taking over.
//!
//! Time between frames is moved forward with the injectable clock, so the drift lasts
//! seconds of server time while the test takes a fraction of that. The drift tests freeze
//! the clock between their steps: the real time an analysis takes (seconds on a loaded
//! machine) would otherwise count as session time and move the figures they check.

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
    let app = spawn_app_frozen().await;
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
    // The clock is frozen between the test's steps, so the session lasted exactly the time
    // the test moved it on (4 x 250 + 8 x 300 + 4 x 250 ms), however long the analyses took
    // on a loaded machine; the first frames settled the start after the debounce (0.5 s with
    // no verdict: "starting", not focused).
    let starting = summary["starting_seconds"].as_f64().unwrap();
    assert_eq!(total, 4.4, "{summary}");
    assert_eq!(starting, 0.5, "{summary}");
    assert!(
        (total - focused - unfocused - starting).abs() <= 0.15,
        "{summary}"
    );
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

    // The connection and the session go on: the next good frame is judged (one frame does
    // not yet settle the start, so the clock still says "starting").
    let reply = send_frame(&mut ws, &attentive).await;
    assert_eq!(reply["verdict"]["focused"], true, "{reply}");
    assert_eq!(reply["frames_analyzed"], 1, "{reply}");
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

/// The server analyses frames of different sessions side by side, as many at once as it has
/// inference slots (`FOCUS_INFERENCE_SLOTS`) and never more, while one session's frames are
/// still analysed one at a time (a flood from one page is never spread over the slots).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_of_different_sessions_share_the_inference_slots() {
    const SESSIONS: usize = 8;
    let photo = fixture(ATTENTIVE);
    for slots in [1, 2, 4] {
        let app = spawn_app_adjusted(|config| config.limits.inference_slots = slots).await;
        assert_eq!(app.vision.inference_slots(), slots);
        let mut sockets = Vec::new();
        for _ in 0..SESSIONS {
            let id = app.start_session(5.0, 0.5).await["id"].as_i64().unwrap();
            sockets.push(app.connect_live(id).await);
        }
        // One frame from every session before any reply is read: they all wait for a slot
        // at once, and each takes tens of milliseconds.
        for ws in &mut sockets {
            ws.send(Message::Binary(photo.clone().into()))
                .await
                .unwrap();
        }
        for ws in &mut sockets {
            let reply = next_frame_reply(ws).await;
            assert!(reply.get("error").is_none(), "{slots} slots: {reply}");
            assert_eq!(reply["verdict"]["focused"], true, "{slots} slots: {reply}");
        }
        assert_eq!(
            app.vision.take_peak_analysing(),
            slots,
            "frames of {SESSIONS} sessions sent at once, {slots} inference slots"
        );

        // A flood from one page: its frames go one at a time whatever the slots.
        let ws = &mut sockets[0];
        for _ in 0..10 {
            ws.send(Message::Binary(photo.clone().into()))
                .await
                .unwrap();
        }
        while tokio::time::timeout(Duration::from_millis(1500), next_frame_reply(ws))
            .await
            .is_ok()
        {}
        assert_eq!(
            app.vision.take_peak_analysing(),
            1,
            "one session's frames, {slots} inference slots"
        );
    }
}

#[tokio::test]
async fn a_new_connection_replaces_the_old_one_and_the_session_goes_on() {
    let app = spawn_app().await;
    let session = app.start_session(5.0, 0.5).await;
    let id = session["id"].as_i64().unwrap();
    let mut first = app.connect_live(id).await;
    let photo = fixture(ATTENTIVE);
    let reply = send_frame(&mut first, &photo).await;
    assert_eq!(reply["verdict"]["focused"], true, "{reply}");

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
    assert_eq!(reply["verdict"]["focused"], true, "{reply}");
    // The same session's clock: both frames counted.
    assert_eq!(reply["frames_analyzed"], 2, "{reply}");
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

/// The next message asking for a frame (`{"next": true}`), skipping state messages; `None`
/// if none comes within `within`.
async fn next_request(ws: &mut Ws, within: Duration) -> Option<std::time::Instant> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let message = tokio::time::timeout_at(deadline, next_json(ws))
            .await
            .ok()?;
        if message["next"] == true {
            return Some(std::time::Instant::now());
        }
        assert!(message.get("error").is_none(), "{message}");
    }
}

#[tokio::test]
async fn the_server_asks_for_each_frame_and_says_how_the_stream_goes() {
    let app = spawn_app().await;
    let id = app.start_session(5.0, 1.0).await["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;

    // The state first: no verdict yet, and what the stream looks like so far.
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["source"], "tick", "{hello}");
    assert_eq!(hello["state"], "starting", "{hello}");
    assert_eq!(hello["focused"], false, "{hello}");
    assert_eq!(hello["frames_analyzed"], 0, "{hello}");
    assert_eq!(hello["stream"]["target_fps"], 5.0, "{hello}");
    assert_eq!(hello["stream"]["received_fps"], 0.0, "{hello}");

    // Then a request for a frame; each frame sent when asked is answered, and the next
    // request comes no sooner than 200 ms after the one before (5 frames a second at most).
    let mut asked = next_request(&mut ws, Duration::from_secs(2))
        .await
        .expect("the server asks for the first frame");
    let photo = fixture(ATTENTIVE);
    let mut replies = Vec::new();
    for sent in 1..=6u64 {
        ws.send(Message::Binary(photo.clone().into()))
            .await
            .unwrap();
        let reply = next_frame_reply(&mut ws).await;
        assert_eq!(reply["frames_analyzed"], sent, "{reply}");
        replies.push(reply);
        app.time.advance_ms(250);
        let again = next_request(&mut ws, Duration::from_secs(2))
            .await
            .expect("the server asks for the next frame");
        // The server waits 200 ms between requests; measured here, on arrival, the
        // previous request may have been read late (a loaded machine), so allow for that.
        assert!(
            again.duration_since(asked) >= Duration::from_millis(120),
            "asked again after {:?}",
            again.duration_since(asked)
        );
        asked = again;
    }
    // No credit before the first verdict: the frames settle the start (3 frames spanning
    // the 500 ms debounce), and only then is the time focused.
    assert_eq!(replies[0]["state"], "starting", "{}", replies[0]);
    assert_eq!(replies[0]["focused_ms"], 0, "{}", replies[0]);
    assert_eq!(replies[2]["state"], "focused", "{}", replies[2]);
    // 500 ms of test time, plus the real time the analyses took (the test clock is the
    // real one plus what the test adds).
    let starting_ms = replies[2]["starting_ms"].as_u64().unwrap();
    assert!((500..1500).contains(&starting_ms), "{}", replies[2]);
    // The state messages say what the server measured: frames received and analysed per
    // second, and how long analysis and the page's answers took.
    let tick = loop {
        let message = next_json(&mut ws).await;
        if message["source"] == "tick" {
            break message;
        }
    };
    let stream = &tick["stream"];
    assert!(stream["received_fps"].as_f64().unwrap() > 0.5, "{tick}");
    assert!(stream["analysed_fps"].as_f64().unwrap() > 0.5, "{tick}");
    assert!(stream["analysis_ms"].as_u64().is_some(), "{tick}");
    assert!(stream["request_ms"].as_u64().is_some(), "{tick}");
    assert_eq!(tick["frames_analyzed"], 6, "{tick}");

    // The API reports the frames analysed while the session runs, not only as last saved.
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(detail["frames_analyzed"], 6, "{detail}");
}

#[tokio::test]
async fn an_unanswered_request_is_repeated() {
    let app = spawn_app().await;
    let id = app.start_session(5.0, 1.0).await["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    let first = next_request(&mut ws, Duration::from_secs(2))
        .await
        .expect("a first request");
    // The page sends nothing (its camera is not ready): the server asks again after 1 s.
    let again = next_request(&mut ws, Duration::from_secs(3))
        .await
        .expect("the request is repeated");
    assert!(again.duration_since(first) >= Duration::from_millis(900));
}

#[tokio::test]
async fn pausing_stops_the_clock_and_the_requests_and_resuming_starts_again() {
    let app = spawn_app().await;
    let id = app.start_session(5.0, 1.0).await["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    let attentive = fixture(ATTENTIVE);
    let reply = stream(&app, &mut ws, &attentive, 4, 250).await;
    assert_eq!(reply["state"], "focused", "{reply}");

    let (status, paused) = app.post_empty(&format!("/api/sessions/{id}/pause")).await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["status"], "running", "{paused}");
    assert_eq!(paused["live"]["state"], "paused", "{paused}");
    // The socket hears of it at once, and is asked for no frames while paused.
    let pushed = loop {
        let message = next_json(&mut ws).await;
        if message["state"] == "paused" {
            break message;
        }
    };
    assert_eq!(pushed["source"], "tick", "{pushed}");
    assert_eq!(
        next_request(&mut ws, Duration::from_millis(1_500)).await,
        None
    );
    // A frame sent anyway is answered but does not count.
    let before = pushed["frames_analyzed"].as_u64().unwrap();
    let reply = send_frame(&mut ws, &attentive).await;
    assert_eq!(reply["state"], "paused", "{reply}");
    assert_eq!(reply["frames_analyzed"], before, "{reply}");
    app.time.advance_ms(10_000);
    // Pausing again changes nothing.
    let (status, again) = app.post_empty(&format!("/api/sessions/{id}/pause")).await;
    assert_eq!(status, 200);
    assert!(
        again["live"]["paused_ms"].as_u64().unwrap() >= 10_000,
        "{again}"
    );
    assert_eq!(again["live"]["focused_ms"], paused["live"]["focused_ms"]);

    let (status, resumed) = app.post_empty(&format!("/api/sessions/{id}/resume")).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["live"]["state"], "starting", "{resumed}");
    assert!(
        next_request(&mut ws, Duration::from_secs(2))
            .await
            .is_some(),
        "asked for frames again"
    );
    let reply = stream(&app, &mut ws, &attentive, 4, 250).await;
    assert_eq!(reply["state"], "focused", "{reply}");

    let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200);
    assert!(
        summary["paused_seconds"].as_f64().unwrap() >= 10.0,
        "{summary}"
    );
    assert!(
        summary["starting_seconds"].as_f64().unwrap() >= 1.0,
        "{summary}"
    );
    assert_eq!(summary["end_reason"], "user", "{summary}");
    assert_parts_add_up(&summary);
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "break")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["starting", "focused", "paused", "starting", "focused"],
        "{detail}"
    );

    // An ended session cannot be paused or resumed; an unknown one is 404.
    let (status, body) = app.post_empty(&format!("/api/sessions/{id}/pause")).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = app.post_empty(&format!("/api/sessions/{id}/resume")).await;
    assert_eq!(status, 409);
    let (status, _) = app.post_empty("/api/sessions/9999/pause").await;
    assert_eq!(status, 404);
}
