//! The HTTP API without frames: configuration, validation (422), unknown and malformed ids
//! (404/400), the Origin check (403), ending twice, history, delete, CSV, limits, headers,
//! pages, and a clean shutdown that saves the sessions in flight.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{Value, json};

fn form() -> Value {
    json!({"duration_minutes": 25, "alert_threshold_s": 10, "alert_mode": "banner",
           "send_email": false, "send_sms": false})
}

fn with(key: &str, value: Value) -> Value {
    let mut body = form();
    body[key] = value;
    body
}

#[tokio::test]
async fn config_says_what_the_page_needs() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/config").await;
    assert_eq!(status, 200);
    assert_eq!(body["email_configured"], false);
    assert_eq!(body["sms_configured"], false);
    // The channels' names come from the server (focus_types::Channel), not the page.
    assert_eq!(
        [
            &body["email_name"],
            &body["email_title"],
            &body["sms_name"],
            &body["sms_title"]
        ],
        ["email", "Email", "SMS", "SMS"]
    );
    assert_eq!(body["limits"]["duration_minutes"]["min"], 1.0);
    assert_eq!(body["limits"]["duration_minutes"]["max"], 600.0);
    assert_eq!(body["limits"]["alert_threshold_s"]["min"], 0.5);
    assert_eq!(body["limits"]["max_frame_bytes"], 2 * 1024 * 1024);
    assert_eq!(body["alert_modes"], json!(["banner", "sound", "both"]));
}

#[tokio::test]
async fn creating_a_session_returns_201_with_its_end() {
    let app = spawn_app().await;
    let (status, body) = app.post_json("/api/sessions", &form()).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    assert!(id > 0);
    assert_eq!(body["status"], "running");
    assert_eq!(
        body["ends_at_ms"].as_i64().unwrap() - body["started_at_ms"].as_i64().unwrap(),
        25 * 60 * 1000
    );
    assert!(body["ends_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["alert_mode"], "banner");
    assert_eq!(body["alert_threshold_s"], 10.0);
    assert_eq!(body["live_url"], format!("/api/sessions/{id}/live"));
}

#[tokio::test]
async fn invalid_form_values_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (with("duration_minutes", json!(0)), "duration_minutes"),
        (with("duration_minutes", json!(601)), "duration_minutes"),
        (with("duration_minutes", json!("soon")), "duration_minutes"),
        (with("alert_threshold_s", json!(0.2)), "alert_threshold_s"),
        (with("alert_threshold_s", json!(601)), "alert_threshold_s"),
        (with("alert_mode", json!("popup")), "alert_mode"),
        (with("email", json!("someone@")), "email"),
        (with("phone", json!("555-0123")), "phone"),
        // Neither channel is set up on this server: asking for a summary names the box.
        (with("send_email", json!(true)), "send_email"),
        (with("send_sms", json!(true)), "send_sms"),
    ];
    for (body, field) in cases {
        let (status, reply) = app.post_json("/api/sessions", &body).await;
        assert_eq!(status, 422, "{body} -> {reply}");
        assert_eq!(reply["field"], field, "{body} -> {reply}");
        assert!(reply["error"].is_string(), "{reply}");
        assert!(
            !reply["detail"].as_str().unwrap_or("").is_empty(),
            "{reply}"
        );
    }
    // Nothing was created.
    let (_, list) = app.get_json("/api/sessions").await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn valid_contacts_are_kept() {
    // Both channels set up, pointing at addresses where nothing listens: the summaries stay
    // pending (retried later) and the contacts are what this test is about.
    let app = spawn_app_adjusted(|config| {
        let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = down.local_addr().unwrap().port();
        drop(down);
        config.notify.email = Some(focus_notify::EmailConfig::new(
            "127.0.0.1",
            port,
            "focus@example.com",
        ));
        let mut sms = focus_notify::SmsConfig::new(
            "AC0123456789abcdef0123456789abcdef",
            "f00dfeedf00dfeedf00dfeedf00dfeed",
            "+15017122661",
        );
        sms.api_base = format!("http://127.0.0.1:{port}");
        config.notify.sms = Some(sms);
        config.delivery.retry.base_delay_ms = 60_000;
    })
    .await;
    let (_, config) = app.get_json("/api/config").await;
    assert_eq!(config["email_configured"], true, "{config}");
    assert_eq!(config["sms_configured"], true, "{config}");
    let mut body = form();
    body["email"] = json!("me@example.com");
    body["send_email"] = json!(true);
    body["phone"] = json!("+1 415 555 0123");
    body["send_sms"] = json!(true);
    let (status, reply) = app.post_json("/api/sessions", &body).await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["email"], "me@example.com");
    assert_eq!(reply["phone"], "+14155550123");
    // Ending queues the summaries.
    let id = reply["id"].as_i64().unwrap();
    let (status, _) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200);
    let mut deliveries = Value::Null;
    for _ in 0..50 {
        let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
        deliveries = detail["deliveries"].clone();
        if deliveries.as_array().is_some_and(|d| d.len() == 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let channels: Vec<&str> = deliveries
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    assert!(
        channels.contains(&"email") && channels.contains(&"sms"),
        "{deliveries}"
    );
    // The pages write the channels with the server's names.
    for d in deliveries.as_array().unwrap() {
        let (name, title) = if d["channel"] == "email" {
            ("email", "Email")
        } else {
            ("SMS", "SMS")
        };
        assert_eq!(
            (d["channel_name"].as_str(), d["channel_title"].as_str()),
            (Some(name), Some(title)),
            "{d}"
        );
    }
    assert!(
        deliveries
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "pending")
    );
}

#[tokio::test]
async fn malformed_json_is_a_json_400() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/sessions"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let mut body = form();
    body["padding"] = json!("x".repeat(200 * 1024));
    let (status, reply) = app.post_json("/api/sessions", &body).await;
    assert_eq!(status, 413, "{reply}");
    assert!(reply["error"].is_string());
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = spawn_app().await;
    for path in ["/api/sessions/999", "/api/sessions/999/live"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let (status, body) = app.post_empty("/api/sessions/999/end").await;
    assert_eq!(status, 404, "{body}");
    let response = app
        .client
        .delete(app.url("/api/sessions/999"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    for path in [
        "/api/sessions/abc",
        "/api/sessions/-1",
        "/api/sessions/1.5/live",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["detail"].is_string(), "{path}: {body}");
    }
    let (status, body) = app.get_json("/api/nothing-here").await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].is_string());

    let (status, body) = app.get_json("/api/sessions?days=abc").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn cross_site_requests_are_refused() {
    let app = spawn_app().await;
    let evil = "http://evil.example";
    let response = app
        .client
        .post(app.url("/api/sessions"))
        .header("Origin", evil)
        .json(&form())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");

    // Same host and port: allowed.
    let response = app
        .client
        .post(app.url("/api/sessions"))
        .header("Origin", format!("http://{}", app.host()))
        .json(&form())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let session: Value = response.json().await.unwrap();
    let id = session["id"].as_i64().unwrap();

    // Ending and deleting from another site: refused.
    for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
        let path = if method == reqwest::Method::POST {
            format!("/api/sessions/{id}/end")
        } else {
            format!("/api/sessions/{id}")
        };
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .header("Origin", evil)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
    }

    // The camera stream from another site: refused at the handshake.
    assert_eq!(
        app.connect_live_with_origin(id, evil).await.err(),
        Some(403)
    );
    // Another port on the same host is another site too.
    assert_eq!(
        app.connect_live_with_origin(id, "http://127.0.0.1:1")
            .await
            .err(),
        Some(403)
    );
    let own = format!("http://{}", app.host());
    assert!(app.connect_live_with_origin(id, &own).await.is_ok());

    // The session is still running: nothing above changed it.
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(detail["status"], "running");
}

#[tokio::test]
async fn ending_twice_returns_the_same_summary() {
    let app = spawn_app().await;
    let session = app.start_session(10.0, 5.0).await;
    let id = session["id"].as_i64().unwrap();
    app.time.advance_ms(1_500);
    let (status, first) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200, "{first}");
    for key in [
        "id",
        "total_seconds",
        "focused_seconds",
        "unfocused_seconds",
        "breaks_count",
        "focus_percent",
        "longest_focus_seconds",
        "ended_early",
    ] {
        assert!(first.get(key).is_some(), "summary lacks {key}: {first}");
    }
    assert_eq!(first["id"], id);
    assert_eq!(first["ended_early"], true);
    assert!(first["total_seconds"].as_f64().unwrap() >= 1.5, "{first}");
    let (status, second) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200);
    assert_eq!(first, second);

    // An ended session takes no more frames: the live socket is refused.
    let (status, body) = app.get_json(&format!("/api/sessions/{id}/live")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "session ended");
}

#[tokio::test]
async fn history_lists_newest_first_with_stats_and_deletes() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    let attentive = fixture(ATTENTIVE);
    for _ in 0..3 {
        let s = app.start_session(5.0, 2.0).await;
        let id = s["id"].as_i64().unwrap();
        // Frames that settle, so the session has measured time (a session without a
        // single verdict is all "starting" and left out of the figures).
        let mut ws = app.connect_live(id).await;
        for _ in 0..4 {
            let reply = send_frame(&mut ws, &attentive).await;
            assert!(reply.get("error").is_none(), "{reply}");
            app.time.advance_ms(250);
        }
        app.time.advance_ms(90_000);
        let (status, _) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
        assert_eq!(status, 200);
        ids.push(id);
    }
    let (status, list) = app.get_json("/api/sessions?days=7").await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<i64> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    assert_eq!(list["days"], 7);
    assert_eq!(list["stats"]["sessions"], 3);
    assert!(list["stats"]["average_focus_percent"].is_number(), "{list}");
    assert!(list["stats"]["best_session"]["id"].is_i64(), "{list}");
    // Sessions judged for 90 s are not short: nothing left out, and the line is stated.
    assert_eq!(list["stats"]["include_short"], false);
    assert_eq!(list["stats"]["short_sessions_left_out"], 0);
    assert_eq!(list["stats"]["short_session_ms"], 60_000);
    let (status, all) = app.get_json("/api/sessions?days=7&include_short=1").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["stats"]["include_short"], true);
    assert_eq!(all["stats"]["sessions"], 3);
    let (status, body) = app.get_json("/api/sessions?include_short=maybe").await;
    assert_eq!(status, 400, "{body}");
    for s in list["sessions"].as_array().unwrap() {
        assert_eq!(s["status"], "completed");
        assert_eq!(s["ended_early"], true);
        assert!(s["totals"]["total_ms"].as_u64().unwrap() >= 90_000);
        assert!(s["summary"]["focus_percent"].is_number());
    }
    let (_, all) = app.get_json("/api/sessions").await;
    assert_eq!(all["days"], Value::Null);
    assert_eq!(all["sessions"].as_array().unwrap().len(), 3);

    // CSV export: a header and one row per session.
    let response = app.get("/api/sessions.csv").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = response.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("id,"));

    // Delete one.
    let response = app
        .client
        .delete(app.url(&format!("/api/sessions/{}", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, _) = app.get_json(&format!("/api/sessions/{}", ids[0])).await;
    assert_eq!(status, 404);
    let (_, list) = app.get_json("/api/sessions").await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn deleting_a_running_session_ends_it_first() {
    let app = spawn_app().await;
    let s = app.start_session(5.0, 2.0).await;
    let id = s["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/sessions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let summary = expect_ended(&mut ws).await;
    assert_eq!(summary["id"], id);
    assert_eq!(expect_close(&mut ws).await, 1000);
}

#[tokio::test]
async fn pages_and_assets_are_served_with_security_headers() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/history", "text/html"),
        ("/assets/app.css", "text/css"),
        ("/assets/live/main.js", "text/javascript"),
        ("/assets/live/stream.js", "text/javascript"),
        ("/assets/history/main.js", "text/javascript"),
        ("/assets/common.js", "text/javascript"),
        ("/assets/notice.js", "text/javascript"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.contains_key("etag"));
    }
    let response = app.get("/assets/nope.js").await;
    assert_eq!(response.status(), 404);
    let response = app.get("/assets/index.html").await;
    assert_eq!(response.status(), 404);
    let response = app.get("/assets/pages/session.html").await;
    assert_eq!(response.status(), 404);

    // A repeat request with the ETag is a 304.
    let first = app.get("/assets/app.css").await;
    let etag = first.headers()["etag"].clone();
    let second = app
        .client
        .get(app.url("/assets/app.css"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 304);

    // API answers are not cached.
    let response = app.get("/api/sessions").await;
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn totals_are_saved_while_a_session_runs() {
    let app = spawn_app().await;
    let s = app.start_session(5.0, 1.0).await;
    let id = s["id"].as_i64().unwrap();
    app.time.advance_ms(4_000);
    // Saved every 300 ms in tests. No frames ever came, so there is no verdict: the time
    // is "starting", neither focused nor unfocused (issue 8: the start no longer counts
    // as focused, and no signal is only for frames that stop).
    let mut saved = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
        saved = detail;
        if saved["totals"]["total_ms"].as_u64().unwrap_or(0) >= 4_000 {
            break;
        }
    }
    let totals = &saved["totals"];
    assert!(totals["total_ms"].as_u64().unwrap() >= 4_000, "{saved}");
    assert_eq!(totals["starting_ms"], totals["total_ms"], "{saved}");
    assert_eq!(totals["focused_ms"], 0, "{saved}");
    assert_eq!(totals["unfocused_ms"], 0, "{saved}");
    // Nothing was measured, and the open stretch is not in the timeline yet.
    assert_eq!(totals["focus_percent"], 0.0, "{saved}");
    assert!(saved["events"].as_array().unwrap().is_empty(), "{saved}");
}

#[tokio::test]
async fn the_planned_end_happens_without_frames() {
    let app = spawn_app().await;
    let s = app.start_session(1.0, 0.5).await;
    let id = s["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    // The first message is the current state, sent at once.
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["source"], "tick", "{hello}");
    assert!(hello["remaining_ms"].as_u64().unwrap() > 50_000, "{hello}");
    app.time.advance_ms(61_000);
    let summary = expect_ended(&mut ws).await;
    assert_eq!(summary["id"], id);
    assert_eq!(summary["ended_early"], false);
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["total_seconds"], 60.0);
    assert_eq!(expect_close(&mut ws).await, 1000);
    // The stored summary is the same.
    let (_, again) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(again, summary);
}

#[tokio::test]
async fn shutdown_saves_sessions_in_flight_as_interrupted() {
    let mut app = spawn_app().await;
    let s = app.start_session(30.0, 5.0).await;
    let id = s["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    let _ = next_json(&mut ws).await;
    app.time.advance_ms(5_000);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.shutdown().await;
    // The page was told, and the socket closed cleanly.
    let summary = expect_ended(&mut ws).await;
    assert_eq!(summary["status"], "interrupted");
    assert_eq!(expect_close(&mut ws).await, 1000);

    // Start again on the same database: the session is there, interrupted, with its time.
    let app = spawn_app_with(test_config(&app.db_path)).await;
    let (status, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(detail["status"], "interrupted");
    assert_eq!(detail["ended_early"], true);
    assert!(
        detail["totals"]["total_ms"].as_u64().unwrap() >= 5_000,
        "{detail}"
    );
}

#[tokio::test]
async fn requests_for_other_host_names_are_refused() {
    // DNS rebinding: evil.example resolving to 127.0.0.1 must not reach the app.
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/sessions"))
        .header("Host", "evil.example:8000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
    let response = app
        .client
        .get(app.url("/api/sessions"))
        .header("Host", "localhost:8000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_session_cut_off_by_a_shutdown_is_continued_as_the_same_session() {
    let mut app = spawn_app().await;
    let s = app.start_session(30.0, 5.0).await;
    let id = s["id"].as_i64().unwrap();
    let mut ws = app.connect_live(id).await;
    let photo = fixture(ATTENTIVE);
    for _ in 0..4 {
        let _ = send_frame(&mut ws, &photo).await;
        app.time.advance_ms(250);
    }
    app.time.advance_ms(4_000);
    app.shutdown().await;
    let cut = expect_ended(&mut ws).await;
    assert_eq!(cut["status"], "interrupted", "{cut}");
    assert_eq!(cut["end_reason"], "server_stopped", "{cut}");

    // The server is back a minute later; the page continues the session.
    let app = spawn_app_with(test_config(&app.db_path)).await;
    app.time.advance_ms(60_000);
    let (_, cut_off) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(cut_off["status"], "interrupted", "{cut_off}");
    assert_eq!(cut_off["resumable"], true, "{cut_off}");
    let (status, resumed) = app.post_empty(&format!("/api/sessions/{id}/resume")).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["id"], id);
    assert_eq!(resumed["status"], "running", "{resumed}");
    assert_eq!(resumed["end_reason"], Value::Null, "{resumed}");
    assert!(resumed["live_url"].is_string(), "{resumed}");
    assert_eq!(resumed["live"]["state"], "starting", "{resumed}");
    let offline = resumed["live"]["offline_ms"].as_u64().unwrap();
    assert!(offline >= 50_000, "{resumed}");
    // Continuing twice is harmless: the second finds it running.
    let (status, _) = app.post_empty(&format!("/api/sessions/{id}/resume")).await;
    assert_eq!(status, 200);

    // The outage is in the timeline as such, and the stretches tile the session.
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    let stretches: Vec<&Value> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "break")
        .collect();
    let offline_rows: Vec<&&Value> = stretches
        .iter()
        .filter(|e| e["kind"] == "offline")
        .collect();
    assert_eq!(offline_rows.len(), 1, "{detail}");
    assert_eq!(offline_rows[0]["duration_ms"].as_u64().unwrap(), offline);
    assert_eq!(
        stretches[0]["start_ms"], detail["started_at_ms"],
        "{detail}"
    );
    for pair in stretches.windows(2) {
        assert_eq!(pair[0]["end_ms"], pair[1]["start_ms"], "{detail}");
    }

    // It streams and ends like any session; the summary says why it ended and adds up.
    let mut ws = app.connect_live(id).await;
    for _ in 0..4 {
        let _ = send_frame(&mut ws, &photo).await;
        app.time.advance_ms(250);
    }
    let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["status"], "completed", "{summary}");
    assert_eq!(summary["end_reason"], "user", "{summary}");
    assert!(
        summary["offline_seconds"].as_f64().unwrap() >= 50.0,
        "{summary}"
    );
    assert_parts_add_up(&summary);
    assert_eq!(summary["frames_analyzed"], 8, "{summary}");
    // A completed session cannot be continued.
    let (status, body) = app.post_empty(&format!("/api/sessions/{id}/resume")).await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn an_interrupted_session_past_its_planned_end_cannot_be_continued() {
    let mut app = spawn_app().await;
    let id = app.start_session(1.0, 5.0).await["id"].as_i64().unwrap();
    app.time.advance_ms(10_000);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.shutdown().await;
    let app = spawn_app_with(test_config(&app.db_path)).await;
    app.time.advance_ms(120_000);
    let (status, body) = app.post_empty(&format!("/api/sessions/{id}/resume")).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("planned end"),
        "{body}"
    );
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(detail["status"], "interrupted");
    assert_eq!(detail["resumable"], false, "{detail}");
}

/// Issue 9: there was no cap on running sessions. Now one more than the cap is refused with
/// 429 in words, nothing is stored for it, and ending one makes room.
#[tokio::test]
async fn starting_more_sessions_than_the_cap_is_429_until_one_ends() {
    let app = spawn_app_adjusted(|c| c.limits.max_running_sessions = 2).await;
    let first = app.start_session(5.0, 2.0).await["id"].as_i64().unwrap();
    app.start_session(5.0, 2.0).await;
    let response = app
        .client
        .post(app.url("/api/sessions"))
        .json(&form())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    // Retrying in a second would not help: no Retry-After.
    assert!(response.headers().get("retry-after").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "too many sessions", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("2 sessions are already running"),
        "{body}"
    );
    let (_, list) = app.get_json("/api/sessions").await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);

    let (status, _) = app.post_empty(&format!("/api/sessions/{first}/end")).await;
    assert_eq!(status, 200);
    let (status, body) = app.post_json("/api/sessions", &form()).await;
    assert_eq!(status, 201, "{body}");
}
