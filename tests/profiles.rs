//! The calibration profiles API (issue 12): save, list, read, rename and delete a profile
//! over HTTP against the real app and a temp SQLite file, and every refusal in words: a bad
//! name or bad numbers (422, naming the field), a name already taken (409), an unknown or
//! malformed id (404/400). Nothing refused is stored. A profile's extra zone is renamed
//! (`PATCH .../zones/{zone}`) with the same refusals, and a session keeps the profile it was
//! judged with (name, mode, zones) in its JSON, its summary and the CSV after the profile is
//! renamed, its zone renamed, and the profile deleted.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use focus_vision::profile::{CalibrationMode, Profile, Region, Target, Zone};
use serde_json::{Value, json};

/// A full calibration's profile: the screen to the right of the camera.
fn desk() -> Profile {
    let mut p = Profile::uncalibrated();
    p.mode = CalibrationMode::Full;
    p.screen.gaze = Region::around(-20.0, -10.0, 15.0, 10.0);
    p.screen.head = Region::around(-15.0, -8.0, 5.0, 4.0);
    p
}

fn profile() -> Value {
    serde_json::from_str(&desk().to_json()).unwrap()
}

/// The profile in a reply, as the vision crate reads it.
fn parsed(reply: &Value) -> Profile {
    Profile::from_json(&reply["profile"].to_string()).unwrap()
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

/// `PATCH path` with a JSON body: the status and the reply.
async fn patch(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    send(reqwest::Method::PATCH, app, path, Some(body)).await
}

/// `DELETE /api/profiles/{id}`: the status and the reply.
async fn delete_profile(app: &TestApp, id: impl std::fmt::Display) -> (u16, Value) {
    send(
        reqwest::Method::DELETE,
        app,
        &format!("/api/profiles/{id}"),
        None,
    )
    .await
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
    assert_eq!(parsed(&saved), desk());
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
    assert_eq!(status, 200);
    assert_eq!(parsed(&one), desk());

    let (status, renamed) = patch(
        &app,
        &format!("/api/profiles/{id}"),
        json!({"name": "Office"}),
    )
    .await;
    assert_eq!((status, &renamed["name"]), (200, &json!("Office")));
    assert_eq!(parsed(&renamed), desk());

    let (status, _) = delete_profile(&app, id).await;
    assert_eq!(status, 204);
    let (status, gone) = app.get_json(&format!("/api/profiles/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(gone["error"], "profile not found");
    let (status, _) = delete_profile(&app, id).await;
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
    let (status, _) = patch(&app, &path, json!({"name": "desk"})).await;
    assert_eq!(status, 409);
    let (status, _) = patch(&app, &path, json!({"name": ""})).await;
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

/// A profile saved by an older version (format 1: its head angles read by an older fit, in an
/// order the file does not record) is listed as unusable with "calibrate again" in words, so
/// the start page shows it greyed out and it can still be deleted; reading it is refused
/// (422), and starting a session with it is refused in the same words, storing nothing.
#[tokio::test]
async fn a_profile_made_by_an_older_version_asks_to_calibrate_again() {
    let app = spawn_app().await;
    let old = desk().to_json().replace("\"version\": 2", "\"version\": 1");
    assert!(old.contains("\"version\": 1"), "{old}");
    let new = focus_store::NewProfile {
        name: "Old desk".into(),
        created_at_ms: 1_764_460_800_000,
        mode: "full".into(),
        data: old,
    };
    let id = app
        .db
        .call(move |s| s.create_profile(&new))
        .await
        .unwrap()
        .id;

    let (status, list) = app.get_json("/api/profiles").await;
    assert_eq!(status, 200);
    let listed = &list["profiles"][0];
    assert_eq!(listed["id"], id, "{list}");
    assert_eq!(listed["usable"], false, "{list}");
    let problem = listed["problem"].as_str().unwrap();
    assert!(
        problem.contains("older version") && problem.contains("calibrate again"),
        "{problem}"
    );

    let (status, body) = app.get_json(&format!("/api/profiles/{id}")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "profile", "{body}");

    let form = json!({"duration_minutes": 25, "alert_threshold_s": 10, "alert_mode": "banner",
                      "send_email": false, "send_sms": false, "profile_id": id});
    let (status, body) = app.post_json("/api/sessions", &form).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "profile_id", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("calibrate again"),
        "{body}"
    );
    let (_, sessions) = app.get_json("/api/sessions").await;
    assert_eq!(sessions["sessions"], json!([]), "{sessions}");

    let (status, _) = delete_profile(&app, id).await;
    assert_eq!(status, 204);
}

/// A session started with a profile records it and judges its frames by it: with the screen
/// calibrated 30 degrees to the side, a face looking into the camera is looking away; the
/// same face in a session without a profile is focused. Deleting the profile keeps the
/// session, without it. An unknown profile refuses the start and stores nothing.
#[tokio::test]
async fn a_session_judges_with_the_profile_it_was_started_with() {
    const FRONTAL: &str = "attentive/att01_skimage_astronaut.jpg";
    let app = spawn_app().await;
    let mut side = Profile::uncalibrated();
    side.mode = CalibrationMode::Full;
    side.screen.gaze = Region::around(40.0, 0.0, 8.0, 8.0);
    side.screen.head = Region::around(35.0, 0.0, 4.0, 4.0);
    side.head_rest.yaw_deg = 35.0;
    let (status, saved) = app
        .post_json(
            "/api/profiles",
            &json!({"name": "Side camera", "profile": serde_json::from_str::<Value>(&side.to_json()).unwrap()}),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    let profile_id = saved["id"].as_i64().unwrap();

    let form = |profile: Value| {
        json!({"duration_minutes": 25, "alert_threshold_s": 10, "alert_mode": "banner",
               "send_email": false, "send_sms": false, "profile_id": profile})
    };
    let with = app.create_session(&form(json!(profile_id))).await;
    assert_eq!(with["profile_id"], profile_id, "{with}");
    let without = app.create_session(&form(Value::Null)).await;
    assert_eq!(without["profile_id"], Value::Null, "{without}");

    let mut ws = app.connect_live(with["id"].as_i64().unwrap()).await;
    let reply = send_frame(&mut ws, &fixture(FRONTAL)).await;
    assert_eq!(reply["verdict"]["focused"], false, "{reply}");
    assert_eq!(reply["verdict"]["reason"], "looking_away", "{reply}");
    let mut ws = app.connect_live(without["id"].as_i64().unwrap()).await;
    let reply = send_frame(&mut ws, &fixture(FRONTAL)).await;
    assert_eq!(reply["verdict"]["focused"], true, "{reply}");

    // Unknown or malformed profile ids: refused, naming the field; no session stored.
    let (_, before) = app.get_json("/api/sessions").await;
    for bad in [json!(999), json!("desk"), json!(-1)] {
        let (status, body) = app.post_json("/api/sessions", &form(bad)).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], "profile_id", "{body}");
    }
    let (_, after) = app.get_json("/api/sessions").await;
    // The same sessions by id (their live totals move on between the two reads).
    let ids = |list: &Value| -> Vec<Value> {
        let sessions = list["sessions"].as_array().expect("a list of sessions");
        sessions.iter().map(|s| s["id"].clone()).collect()
    };
    assert_eq!(ids(&before).len(), 2, "{before}");
    assert_eq!(ids(&before), ids(&after));

    // Deleting the profile keeps the session and forgets the profile.
    let (status, _) = delete_profile(&app, profile_id).await;
    assert_eq!(status, 204);
    let (status, session) = app.get_json(&format!("/api/sessions/{}", with["id"])).await;
    assert_eq!(status, 200);
    assert_eq!(session["profile_id"], Value::Null, "{session}");
}

/// [`desk`] with a "notes" zone below the screen and a "tv" zone to the left.
fn desk_with_zones() -> Value {
    let mut p = desk();
    for (name, yaw, pitch) in [("notes", -20.0, -40.0), ("tv", -60.0, 0.0)] {
        p.set_zone(Zone {
            name: name.into(),
            target: Target {
                gaze: Region::around(yaw, pitch, 8.0, 8.0),
                head: Region::around(yaw, pitch, 4.0, 4.0),
            },
        });
    }
    serde_json::from_str(&p.to_json()).unwrap()
}

async fn save_profile(app: &TestApp, name: &str, profile: Value) -> i64 {
    let (status, saved) = app
        .post_json("/api/profiles", &json!({"name": name, "profile": profile}))
        .await;
    assert_eq!(status, 201, "{saved}");
    saved["id"].as_i64().unwrap()
}

fn zone_names(profile: &Value) -> Vec<String> {
    profile["profile"]["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Renaming a zone: the profile as saved comes back with the zone's numbers unchanged; an
/// empty or over-long name (422, field `name`), another zone's name in any case (409), an
/// unknown zone or profile (404) and a malformed id (400) are refused and change nothing.
#[tokio::test]
async fn a_zone_is_renamed_and_bad_renames_change_nothing() {
    let app = spawn_app().await;
    let id = save_profile(&app, "Desk", desk_with_zones()).await;
    let (_, before) = app.get_json(&format!("/api/profiles/{id}")).await;

    let (status, renamed) = patch(
        &app,
        &format!("/api/profiles/{id}/zones/notes"),
        json!({"name": "  paper notes "}),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(zone_names(&renamed), ["paper notes", "tv"]);
    assert_eq!(
        parsed(&renamed).zones[0].target,
        parsed(&before).zones[0].target,
        "the zone's numbers are kept"
    );
    assert_eq!(renamed["profile"]["screen"], before["profile"]["screen"]);
    let (_, listed) = app.get_json("/api/profiles").await;
    assert_eq!(listed["profiles"][0]["zones"], json!(["paper notes", "tv"]));
    // A name in the path with a space, and a change of case of its own name.
    let (status, renamed) = patch(
        &app,
        &format!("/api/profiles/{id}/zones/paper%20notes"),
        json!({"name": "Paper notes"}),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(zone_names(&renamed), ["Paper notes", "tv"]);

    let refusals = [
        (
            format!("/api/profiles/{id}/zones/tv"),
            json!({"name": "PAPER NOTES"}),
            409,
            "conflict",
        ),
        (
            format!("/api/profiles/{id}/zones/tv"),
            json!({"name": "   "}),
            422,
            "invalid name",
        ),
        (
            format!("/api/profiles/{id}/zones/tv"),
            json!({"name": "x".repeat(41)}),
            422,
            "invalid name",
        ),
        (
            format!("/api/profiles/{id}/zones/radio"),
            json!({"name": "music"}),
            404,
            "zone not found",
        ),
        (
            "/api/profiles/999/zones/tv".to_owned(),
            json!({"name": "music"}),
            404,
            "profile not found",
        ),
        (
            "/api/profiles/desk/zones/tv".to_owned(),
            json!({"name": "music"}),
            400,
            "bad request",
        ),
    ];
    for (path, body, code, error) in refusals {
        let (status, reply) = patch(&app, &path, body).await;
        assert_eq!(
            (status, reply["error"].as_str()),
            (code, Some(error)),
            "{path}: {reply}"
        );
        if code == 422 {
            assert_eq!(reply["field"], "name", "{reply}");
        }
    }
    let (status, long) = patch(
        &app,
        &format!("/api/profiles/{id}/zones/tv"),
        json!({"name": "y".repeat(40)}),
    )
    .await;
    assert_eq!(status, 200, "40 characters are allowed: {long}");
    let (_, after) = app.get_json(&format!("/api/profiles/{id}")).await;
    assert_eq!(
        zone_names(&after),
        ["Paper notes".to_owned(), "y".repeat(40)]
    );
}

/// A session keeps what it was judged with, as it was at its start: the profile's name, mode
/// and zones stay in its JSON, its summary and the CSV when the profile and its zone are
/// renamed and then the profile deleted; a new session shows the new names; a session without
/// a profile says none.
#[tokio::test]
async fn a_session_keeps_the_profile_it_was_judged_with() {
    let app = spawn_app().await;
    let id = save_profile(&app, "Desk", desk_with_zones()).await;
    let form = |profile: Value| {
        json!({"duration_minutes": 25, "alert_threshold_s": 10, "alert_mode": "banner",
               "send_email": false, "send_sms": false, "profile_id": profile})
    };
    let first = app.create_session(&form(json!(id))).await;
    let used = json!({"id": id, "name": "Desk", "mode": "full", "zones": ["notes", "tv"]});
    assert_eq!(first["profile"], used, "{first}");
    let plain = app.create_session(&form(Value::Null)).await;
    assert_eq!(plain["profile"], Value::Null, "{plain}");

    let (status, _) = patch(
        &app,
        &format!("/api/profiles/{id}"),
        json!({"name": "Office"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = patch(
        &app,
        &format!("/api/profiles/{id}/zones/notes"),
        json!({"name": "paper"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, summary) = app
        .post_empty(&format!("/api/sessions/{}/end", first["id"]))
        .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary["profile"], used,
        "the summary says what was used: {summary}"
    );
    let (_, stored) = app
        .get_json(&format!("/api/sessions/{}", first["id"]))
        .await;
    assert_eq!(stored["profile"], used, "{stored}");
    assert_eq!(stored["summary"]["profile"], used, "{stored}");

    let second = app.create_session(&form(json!(id))).await;
    assert_eq!(
        second["profile"],
        json!({"id": id, "name": "Office", "mode": "full", "zones": ["paper", "tv"]})
    );

    let (status, _) = delete_profile(&app, id).await;
    assert_eq!(status, 204);
    let (_, stored) = app
        .get_json(&format!("/api/sessions/{}", first["id"]))
        .await;
    assert_eq!(stored["profile_id"], Value::Null);
    assert_eq!(
        stored["profile"],
        json!({"id": null, "name": "Desk", "mode": "full", "zones": ["notes", "tv"]}),
        "kept after the profile is gone: {stored}"
    );
    let (_, listed) = app.get_json("/api/sessions").await;
    let listed_first = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == first["id"])
        .unwrap();
    assert_eq!(listed_first["profile"]["name"], "Desk", "{listed_first}");

    let csv = app.get("/api/sessions.csv").await.text().await.unwrap();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert!(
        lines[0].ends_with(",profile,profile_mode,zones,zone_focused_s"),
        "{}",
        lines[0]
    );
    let row = |session: &Value| {
        let prefix = format!("{},", session["id"]);
        lines
            .iter()
            .find(|l| l.starts_with(&prefix))
            .map(|l| l.to_string())
            .unwrap()
    };
    // No frames: no time on either zone, under the names it started with.
    assert!(
        row(&first).ends_with(",Desk,full,notes; tv,notes=0; tv=0"),
        "{}",
        row(&first)
    );
    assert!(
        row(&second).contains(",Office,full,paper; tv,"),
        "{}",
        row(&second)
    );
    assert!(row(&plain).ends_with(",,,,"), "{}", row(&plain));
}
