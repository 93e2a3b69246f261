//! The end of a session and its summaries are one write. Before issue 9 the final totals were
//! stored first and the email/SMS queued in a second write: a crash (or a failed write)
//! between the two kept the end and lost the summary for good, since recovery only looks at
//! sessions still running.

use focus_notify::EmailConfig;
use focus_test_support::unused_local_addr;
use serde_json::json;

use crate::common;

#[tokio::test]
async fn an_end_whose_summary_cannot_be_queued_is_not_stored_without_it() {
    // A mail server that is down: the summary stays pending, which is all this test reads.
    let down = unused_local_addr();
    let app = common::spawn_app_adjusted(|config| {
        config.notify.email = Some(EmailConfig::new(
            "127.0.0.1",
            down.port(),
            "sentry@example.org",
        ));
    })
    .await;
    let (status, session) = app
        .post_json(
            "/api/sessions",
            &json!({"duration_minutes": 5, "alert_threshold_s": 2, "alert_mode": "banner",
                    "email": "me@example.com", "send_email": true}),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_i64().unwrap();

    // Another process makes the queue refuse rows, as a crash between the two writes would
    // leave it.
    let other = rusqlite::Connection::open(&app.db_path).unwrap();
    other
        .busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER refuse_queue BEFORE INSERT ON deliveries \
             BEGIN SELECT RAISE(ABORT, 'queue refused'); END",
        )
        .unwrap();
    let (status, body) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "not saved", "{body}");
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(detail["status"], "running", "{detail}");
    assert_eq!(detail["deliveries"], json!([]), "{detail}");

    // Once the queue takes rows again, the end stores both.
    other.execute_batch("DROP TRIGGER refuse_queue").unwrap();
    let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200, "{summary}");
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(detail["status"], "completed", "{detail}");
    let deliveries = detail["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{detail}");
    assert_eq!(deliveries[0]["channel"], "email", "{detail}");
}
