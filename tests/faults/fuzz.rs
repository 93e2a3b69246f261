//! Property tests of the server's protocol handlers with a fixed case budget: arbitrary JSON
//! bodies and raw bytes at the API, arbitrary messages on the live WebSocket. What must hold
//! for every input: no panic anywhere in the process (a panic hook counts them), every
//! refusal is a 4xx with the JSON error body, and the server answers the next request. The
//! frame decoder's own property test is in `crates/vision/tests/robustness.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{self, TestApp};

/// Cases per property: enough to reach the odd corners of each handler, few enough for CI
/// (about a second each on a loaded 2-core machine).
const CASES: u32 = 48;

/// Panics anywhere in this process (the app runs in it) since the hook was installed.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// One runtime and one app for every case (a fresh app per case would spend the budget on
/// start-ups).
fn harness() -> &'static (tokio::runtime::Runtime, TestApp) {
    static HARNESS: OnceLock<(tokio::runtime::Runtime, TestApp)> = OnceLock::new();
    HARNESS.get_or_init(|| {
        count_panics();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = runtime.block_on(common::spawn_app_adjusted(|config| {
            // Arbitrary bodies that happen to be valid start sessions: never refuse them
            // for want of room.
            config.limits.max_running_sessions = 10_000;
        }));
        (runtime, app)
    })
}

/// Any JSON value, nested a few levels, with the API's own field names likely as keys.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("duration_minutes".to_owned()),
        Just("alert_threshold_s".to_owned()),
        Just("alert_mode".to_owned()),
        Just("email".to_owned()),
        Just("phone".to_owned()),
        Just("send_email".to_owned()),
        Just("send_sms".to_owned()),
        "\\PC{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![Just(1e308), Just(-0.0), Just(600.0), Just(0.5)].prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::String),
        prop_oneof![Just("banner"), Just("sound"), Just("both"), Just("a@b.c")]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A refusal as the API promises it: 4xx with `{"error": ..., "detail": ...}`.
async fn assert_refused_in_json(response: reqwest::Response, what: &str) {
    let status = response.status();
    assert!(
        !status.is_server_error(),
        "{what}: {status} ({:?})",
        response.text().await
    );
    if status.is_client_error() {
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            body["error"].is_string() && body["detail"].is_string(),
            "{what}: {status} {body}"
        );
    }
}

async fn still_answers(app: &TestApp) {
    let response = app.get("/api/config").await;
    assert_eq!(response.status(), 200);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_json_body_gets_an_answer_not_a_panic(body in json_value(), path in prop_oneof![
        Just("/api/sessions"),
        Just("/api/sessions/1/end"),
        Just("/api/sessions/1/pause"),
        Just("/api/sessions/1/resume"),
        Just("/api/sessions/1/deliveries/email/retry"),
    ]) {
        let (runtime, app) = harness();
        runtime.block_on(async {
            let response = app
                .client
                .post(app.url(path))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_refused_in_json(response, &format!("POST {path} {body}")).await;
            still_answers(app).await;
        });
        prop_assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn any_bytes_as_a_body_or_query_get_an_answer_not_a_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        query in "[ -~]{0,40}",
    ) {
        let (runtime, app) = harness();
        runtime.block_on(async {
            for (path, content_type) in [
                ("/api/sessions", "application/json"),
                ("/api/frames/check", "image/jpeg"),
                ("/access", "application/x-www-form-urlencoded"),
            ] {
                let response = app
                    .client
                    .post(app.url(path))
                    .header("Content-Type", content_type)
                    .body(bytes.clone())
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                assert!(!status.is_server_error(), "POST {path}: {status}");
            }
            let escaped: String = query
                .bytes()
                .map(|b| match b {
                    b'&' | b'=' | b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            let response = app.get(&format!("/api/sessions?{escaped}")).await;
            assert_refused_in_json(response, &format!("GET /api/sessions?{escaped}")).await;
            still_answers(app).await;
        });
        prop_assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn any_websocket_messages_get_replies_or_a_close_not_a_panic(messages in prop::collection::vec(
        prop_oneof![
            "\\PC{0,64}".prop_map(Message::text),
            json_value().prop_map(|v| Message::text(v.to_string())),
            prop::collection::vec(any::<u8>(), 0..2048).prop_map(Message::binary),
            // The start of a real JPEG, cut short.
            prop::collection::vec(any::<u8>(), 0..64).prop_map(|tail| {
                let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
                bytes.extend(tail);
                Message::binary(bytes)
            }),
        ],
        1..6,
    )) {
        let (runtime, app) = harness();
        runtime.block_on(async {
            let id = app.start_session(5.0, 5.0).await["id"].as_i64().unwrap();
            let mut ws = app.connect_live(id).await;
            for message in messages {
                if ws.send(message).await.is_err() {
                    break; // the server closed it: allowed, as long as it said why
                }
            }
            // Whatever was sent, what comes back (for a moment) is JSON, or a close.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(300), async {
                while let Some(Ok(message)) = ws.next().await {
                    match message {
                        Message::Text(text) => {
                            let value: Value = serde_json::from_str(&text).expect("JSON");
                            assert!(value.is_object(), "{value}");
                        }
                        Message::Close(_) => break,
                        _ => {}
                    }
                }
            })
            .await;
            let (status, _) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
            assert_eq!(status, 200);
            still_answers(app).await;
        });
        prop_assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    }
}
