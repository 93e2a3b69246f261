//! The real binary with email and SMS settings in its environment (as `.env` would give
//! them), sending through loopback servers:
//!
//! - its log never shows a secret or a recipient: run at debug level, it sends a session's
//!   summary, and everything it wrote to stderr is searched for the SMTP password, the Twilio
//!   token (and their base64 forms), the recipient's address and phone number;
//! - broken settings are reported once, by variable, without the value, and it serves anyway;
//! - a session cut off by a crash (SIGKILL) still gets its summary after the next start.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use common::Api;
use focus_test_support::binary::Server;
use focus_test_support::smtp::{SmtpOptions, SmtpSecurity, SmtpServer};
use focus_test_support::twilio::TwilioServer;
use serde_json::{Value, json};

const USER: &str = "focus@example.com";
const PASSWORD: &str = "Smtp-Secret-Password-4321";
const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "c0ffeec0ffeec0ffeec0ffeec0ffee42";
const TO_EMAIL: &str = "private.person@example.org";
const TO_PHONE: &str = "+14155550199";

/// The binary under test.
const BINARY: &str = env!("CARGO_BIN_EXE_focus-sentry");

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Everything that must never be in the log.
fn forbidden() -> Vec<String> {
    vec![
        PASSWORD.to_owned(),
        TOKEN.to_owned(),
        b64(PASSWORD),
        // AUTH PLAIN and HTTP basic auth.
        b64(&format!("\0{USER}\0{PASSWORD}")),
        b64(&format!("{SID}:{TOKEN}")),
        TO_EMAIL.to_owned(),
        TO_PHONE.to_owned(),
        TO_PHONE.trim_start_matches('+').to_owned(),
    ]
}

fn assert_clean(log: &str) {
    for secret in forbidden() {
        assert!(
            !log.contains(&secret),
            "the log contains {secret:?}:\n{log}"
        );
    }
}

/// A loopback SMTP server with STARTTLS that wants `USER`/`PASSWORD`, and the settings
/// that point the binary at it (its CA certificate written to `dir`).
async fn smtp_server(dir: &Path) -> (SmtpServer, Vec<(&'static str, String)>) {
    let smtp = SmtpServer::start(SmtpOptions {
        security: SmtpSecurity::StartTls,
        credentials: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..SmtpOptions::default()
    })
    .await;
    let ca = dir.join("smtp-ca.pem");
    std::fs::write(&ca, smtp.cert_pem()).unwrap();
    let env = vec![
        ("FOCUS_SMTP_HOST", "127.0.0.1".to_owned()),
        ("FOCUS_SMTP_PORT", smtp.addr.port().to_string()),
        ("FOCUS_SMTP_USERNAME", USER.to_owned()),
        ("FOCUS_SMTP_PASSWORD", PASSWORD.to_owned()),
        ("FOCUS_SMTP_CA_CERT", ca.display().to_string()),
    ];
    (smtp, env)
}

/// The id of a session created from `body`.
async fn create(api: &Api, body: Value) -> i64 {
    let session = api.create_session(&body).await;
    session["id"].as_i64().expect("session id")
}

#[tokio::test]
async fn a_summary_is_sent_without_a_secret_or_recipient_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp, mut env) = smtp_server(dir.path()).await;
    let twilio = TwilioServer::start(SID, TOKEN).await;
    env.extend([
        ("TWILIO_ACCOUNT_SID", SID.to_owned()),
        ("TWILIO_AUTH_TOKEN", TOKEN.to_owned()),
        ("TWILIO_FROM_NUMBER", "+15017122661".to_owned()),
        ("TWILIO_API_BASE", twilio.base_url()),
        ("FOCUS_PUBLIC_URL", "http://focus.test:8123/".to_owned()),
    ]);
    let server = Server::start(BINARY, dir.path(), &env).await;
    let api = Api::new(&server.base);

    let (_, config) = api.get_json("/api/config").await;
    assert_eq!(config["email_configured"], true, "{config}");
    assert_eq!(config["sms_configured"], true, "{config}");

    let id = create(
        &api,
        json!({"duration_minutes": 5, "alert_threshold_s": 1, "alert_mode": "banner",
               "email": TO_EMAIL, "phone": TO_PHONE, "send_email": true, "send_sms": true}),
    )
    .await;
    let (status, _) = api.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200);

    let detail = api
        .session_when(
            id,
            Duration::from_secs(30),
            "both summaries sent",
            |detail| {
                let deliveries = detail["deliveries"].as_array().unwrap();
                deliveries.len() == 2 && deliveries.iter().all(|d| d["status"] == "sent")
            },
        )
        .await;
    assert_eq!(detail["status"], "completed");
    // FOCUS_PUBLIC_URL is the base of the link in both messages.
    let link = format!("http://focus.test:8123/history?session={id}");
    assert!(smtp.messages()[0].decoded().contains(&link));
    assert!(twilio.requests()[0].field("Body").unwrap().contains(&link));

    let log = server.stop().await;
    assert!(log.contains("email summaries: on"), "{log}");
    assert!(log.contains("SMS summaries: on"), "{log}");
    assert!(log.contains("summary sent"), "{log}");
    assert_clean(&log);
}

#[tokio::test]
async fn broken_settings_are_reported_once_by_name_without_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FOCUS_SMTP_HOST", "smtp://smtp.example.com".to_owned()),
        ("FOCUS_SMTP_USERNAME", USER.to_owned()),
        ("FOCUS_SMTP_PASSWORD", PASSWORD.to_owned()),
        ("TWILIO_ACCOUNT_SID", SID.to_owned()),
        // A token pasted with a space in it: reported, never echoed.
        ("TWILIO_AUTH_TOKEN", format!("{TOKEN} x")),
        ("TWILIO_FROM_NUMBER", "555-0100".to_owned()),
        ("FOCUS_PUBLIC_URL", "localhost:8000".to_owned()),
    ];
    let server = Server::start(BINARY, dir.path(), &env).await;
    // It serves anyway, with both channels off.
    let (_, config) = Api::new(&server.base).get_json("/api/config").await;
    assert_eq!(config["email_configured"], false, "{config}");
    assert_eq!(config["sms_configured"], false, "{config}");
    assert_eq!(config["email_problems"], json!(["FOCUS_SMTP_HOST"]));
    assert_eq!(
        config["sms_problems"],
        json!(["TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"])
    );

    let log = server.stop().await;
    for (line, count) in [
        ("email summaries are off: FOCUS_SMTP_HOST: ", 1),
        (
            "SMS summaries are off: TWILIO_AUTH_TOKEN: contains spaces",
            1,
        ),
        ("SMS summaries are off: TWILIO_FROM_NUMBER: '555-0100'", 1),
        ("setting ignored: FOCUS_PUBLIC_URL: 'localhost:8000'", 1),
    ] {
        assert_eq!(
            log.matches(line).count(),
            count,
            "expected {line:?} {count} time(s) in:\n{log}"
        );
    }
    assert!(!log.contains("panicked"), "{log}");
    assert_clean(&log);
}

#[tokio::test]
async fn a_session_cut_off_by_a_crash_still_gets_its_summary_after_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp, env) = smtp_server(dir.path()).await;

    let server = Server::start(BINARY, dir.path(), &env).await;
    let id = create(
        &Api::new(&server.base),
        json!({"duration_minutes": 1, "alert_threshold_s": 1, "alert_mode": "banner",
               "email": TO_EMAIL, "send_email": true}),
    )
    .await;
    // SIGKILL: no shutdown path, the session is left running in the database.
    server.stop().await;
    assert!(smtp.messages().is_empty());

    let server = Server::start(BINARY, dir.path(), &env).await;
    let api = Api::new(&server.base);
    // Until its planned end the session can still be continued, so its summary waits for
    // that end (a minute after the start), then goes out.
    let (_, first) = api.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(first["status"], "interrupted", "{first}");
    assert_eq!(first["end_reason"], "server_lost", "{first}");
    if first["deliveries"][0]["status"] == "pending" {
        assert_eq!(first["resumable"], true, "{first}");
        assert_eq!(
            first["deliveries"][0]["next_attempt_at_ms"], first["ends_at_ms"],
            "{first}"
        );
    }
    let detail = api
        .session_when(id, Duration::from_secs(100), "the summary sent", |detail| {
            detail["deliveries"][0]["status"] == "sent"
        })
        .await;
    assert_eq!(detail["status"], "interrupted", "{detail}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt_to, vec![TO_EMAIL.to_owned()]);
    assert!(
        mails[0]
            .header("Subject")
            .unwrap()
            .ends_with("(ended early)")
    );
    let log = server.stop().await;
    assert_clean(&log);
}

/// A Twilio endpoint that echoes the request's credentials back in its error (as a
/// misconfigured proxy or a debugging endpoint does): the reason stored for the failed SMS,
/// shown by the API, and the log hold neither the token nor base64 of `SID:token` nor its
/// URL-encoded form.
#[tokio::test]
async fn credentials_echoed_by_the_sms_endpoint_are_neither_stored_nor_logged() {
    let dir = tempfile::tempdir().unwrap();
    let twilio = TwilioServer::start(SID, TOKEN).await;
    let basic = b64(&format!("{SID}:{TOKEN}"));
    twilio.respond_next(
        400,
        format!(
            r#"{{"code": 20001, "message": "Bad request. You sent Authorization: Basic {basic}; token%3D{TOKEN}", "status": 400}}"#
        ),
    );
    let env = [
        ("TWILIO_ACCOUNT_SID", SID.to_owned()),
        ("TWILIO_AUTH_TOKEN", TOKEN.to_owned()),
        ("TWILIO_FROM_NUMBER", "+15017122661".to_owned()),
        ("TWILIO_API_BASE", twilio.base_url()),
    ];
    let server = Server::start(BINARY, dir.path(), &env).await;
    let api = Api::new(&server.base);
    let id = create(
        &api,
        json!({"duration_minutes": 5, "alert_threshold_s": 1, "alert_mode": "banner",
               "phone": TO_PHONE, "send_sms": true}),
    )
    .await;
    let (status, _) = api.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200);

    let detail = api
        .session_when(id, Duration::from_secs(30), "the SMS failed", |detail| {
            detail["deliveries"][0]["status"] == "failed"
        })
        .await;
    let delivery = &detail["deliveries"][0];
    let reason = delivery["last_error"]
        .as_str()
        .expect("a reason")
        .to_owned();
    assert!(reason.contains("HTTP 400"), "{reason}");
    assert!(reason.contains("Basic [redacted]"), "{reason}");
    let listed = api.get("/api/sessions").await.text().await.unwrap();
    let log = server.stop().await;
    for text in [&reason, &listed, &log] {
        assert!(!text.contains(&basic), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
    }
    assert!(log.contains("Basic [redacted]"), "{log}");
    assert_clean(&log);
}

/// URLs given with credentials (`FOCUS_PUBLIC_URL`, `TWILIO_API_BASE`) are refused in
/// words, and the start-up log shows them with the `user:password@` part redacted.
#[tokio::test]
async fn credentials_in_configured_urls_never_reach_the_log() {
    const URL_SECRET: &str = "Url-Secret-9876";
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "FOCUS_PUBLIC_URL",
            format!("http://admin:{URL_SECRET}@focus.test:8123"),
        ),
        ("TWILIO_ACCOUNT_SID", SID.to_owned()),
        ("TWILIO_AUTH_TOKEN", TOKEN.to_owned()),
        ("TWILIO_FROM_NUMBER", "+15017122661".to_owned()),
        (
            "TWILIO_API_BASE",
            format!("https://proxy:{URL_SECRET}@twilio-proxy.example.com"),
        ),
    ];
    let server = Server::start(BINARY, dir.path(), &env).await;
    let (_, config) = Api::new(&server.base).get_json("/api/config").await;
    assert_eq!(config["sms_configured"], false, "{config}");
    let log = server.stop().await;
    assert!(
        log.contains("setting ignored: FOCUS_PUBLIC_URL: 'http://[redacted]@focus.test:8123'"),
        "{log}"
    );
    assert!(log.contains("TWILIO_API_BASE"), "{log}");
    assert!(!log.contains(URL_SECRET), "{log}");
    assert_clean(&log);
}
