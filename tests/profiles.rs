//! The calibration profiles API (issue 12): save, list, read, rename and delete a profile
//! over HTTP against the real app and a temp SQLite file, and every refusal in words: a bad
//! name or bad numbers (422, naming the field), a name already taken (409), an unknown or
//! malformed id (404/400). Nothing refused is stored.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use focus_vision::profile::{CalibrationMode, Profile, Region};
use serde_json::{Value, json};

/// A full calibration's profile: the screen to the right of the camera.
fn profile() -> Value {
    let mut p = Profile::uncalibrated();
    p.mode = CalibrationMode::Full;
    p.screen.gaze = Region::around(-20.0, -10.0, 15.0, 10.0);
    p.screen.head = Region::around(-15.0, -8.0, 5.0, 4.0);
    serde_json::to_value(&p).unwrap()
}

async fn send(
    method: reqwest::Method,
    app: &TestApp,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http_client().request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_profile_is_saved_listed_read_renamed_and_deleted() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/profiles").await;
    assert_eq!((status, body), (200, json!({"profiles": []})));

    let (status, saved) = app
        .post_json(
            "/api/profiles",
            &json!({"name": "  Desk ", "profile": profile()}),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_i64().unwrap();
    assert_eq!(saved["name"], "Desk");
    assert_eq!(saved["mode"], "full");
    assert_eq!(saved["profile"], profile());
    assert!(saved["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, list) = app.get_json("/api/profiles").await;
    assert_eq!(status, 200);
    assert_eq!(list["profiles"].as_array().unwrap().len(), 1);
    assert_eq!(list["profiles"][0]["id"], id);
    assert_eq!(list["profiles"][0]["usable"], true);
    assert!(
        list["profiles"][0].get("profile").is_none(),
        "a list has no numbers"
    );

    let (status, one) = app.get_json(&format!("/api/profiles/{id}")).await;
    assert_eq!((status, &one["profile"]), (200, &profile()));

    let (status, renamed) = send(
        reqwest::Method::PATCH,
        &app,
        &format!("/api/profiles/{id}"),
        Some(json!({"name": "Office"})),
    )
    .await;
    assert_eq!((status, &renamed["name"]), (200, &json!("Office")));
    assert_eq!(renamed["profile"], profile());

    let (status, _) = send(
        reqwest::Method::DELETE,
        &app,
        &format!("/api/profiles/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, gone) = app.get_json(&format!("/api/profiles/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(gone["error"], "profile not found");
    let (status, _) = send(
        reqwest::Method::DELETE,
        &app,
        &format!("/api/profiles/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_profiles_are_refused_in_words_and_nothing_is_kept() {
    let app = spawn_app().await;
    let (status, _) = app
        .post_json(
            "/api/profiles",
            &json!({"name": "Desk", "profile": profile()}),
        )
        .await;
    assert_eq!(status, 201);

    // The same name, ignoring case: a conflict, not a server error.
    let (status, body) = app
        .post_json(
            "/api/profiles",
            &json!({"name": "DESK", "profile": profile()}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("already exists"),
        "{body}"
    );

    // An empty name, a name too long.
    for name in ["   ", &"x".repeat(61)] {
        let (status, body) = app
            .post_json(
                "/api/profiles",
                &json!({"name": name, "profile": profile()}),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], "name", "{body}");
    }

    // Numbers that are not a profile, or a damaged one (a region inside out).
    let mut inverted = profile();
    inverted["screen"]["gaze"]["yaw_min_deg"] = json!(90.0);
    for bad in [json!({"hello": 1}), inverted, json!("text")] {
        let (status, body) = app
            .post_json("/api/profiles", &json!({"name": "Other", "profile": bad}))
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], "profile", "{body}");
    }
    // Malformed JSON and a missing field are bad requests.
    let (status, _) = app
        .post_json("/api/profiles", &json!({"name": "Other"}))
        .await;
    assert!(status == 400 || status == 422, "{status}");

    // Renaming onto a taken name, or to nothing.
    let (_, second) = app
        .post_json(
            "/api/profiles",
            &json!({"name": "Laptop", "profile": profile()}),
        )
        .await;
    let second = second["id"].as_i64().unwrap();
    let path = format!("/api/profiles/{second}");
    let (status, _) = send(
        reqwest::Method::PATCH,
        &app,
        &path,
        Some(json!({"name": "desk"})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = send(
        reqwest::Method::PATCH,
        &app,
        &path,
        Some(json!({"name": ""})),
    )
    .await;
    assert_eq!(status, 422);

    // Ids: unknown 404, malformed 400.
    let (status, _) = app.get_json("/api/profiles/999").await;
    assert_eq!(status, 404);
    let (status, body) = app.get_json("/api/profiles/abc").await;
    assert_eq!(status, 400, "{body}");

    // Only the two good profiles were kept, under their first names.
    let (_, list) = app.get_json("/api/profiles").await;
    let names: Vec<&str> = list["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Laptop", "Desk"]);
}
