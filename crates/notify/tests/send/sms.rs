//! SmsSender against the Twilio-shaped loopback server.

use std::time::{Duration, Instant};

use focus_notify::{ErrorKind, RetryPolicy, SmsConfig, SmsSender, render_sms};

use crate::summary;
use focus_test_support::twilio::{TwilioServer, error_body};
use focus_test_support::unused_local_addr;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const FROM: &str = "+15017122661";
const TO: &str = "+14155550123";

fn config(base: String, token: &str) -> SmsConfig {
    let mut config = SmsConfig::new(SID, token, FROM);
    config.api_base = base;
    config.timeout = Duration::from_secs(10);
    config
}

#[tokio::test]
async fn sms_is_posted_with_path_auth_and_fields() {
    let server = TwilioServer::start(SID, TOKEN).await;
    let sender = SmsSender::new(config(server.base_url(), TOKEN)).expect("sender");

    sender.send(TO, &summary()).await.expect("delivered");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert_eq!(req.basic_auth, Some((SID.to_owned(), TOKEN.to_owned())));
    assert!(
        req.authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic "))
    );
    assert_eq!(
        req.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(req.field("To"), Some(TO));
    assert_eq!(req.field("From"), Some(FROM));
    let body = req.field("Body").expect("Body field");
    assert_eq!(body, render_sms(&summary()));
    assert!(body.contains("87% focused"), "{body}");
    assert!(
        body.chars().count() <= 160,
        "{} chars: {body}",
        body.chars().count()
    );
}

#[tokio::test]
async fn wrong_token_is_permanent_and_not_echoed() {
    let server = TwilioServer::start(SID, TOKEN).await;
    let wrong = "0000000000000000000000000000beef";
    let sender = SmsSender::new(config(server.base_url(), wrong)).expect("sender");

    let err = sender.send(TO, &summary()).await.expect_err("401");

    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.message.contains("HTTP 401"), "{err}");
    assert!(err.message.contains("20003"), "{err}");
    assert!(err.message.contains("TWILIO_AUTH_TOKEN"), "{err}");
    assert!(!err.message.contains(wrong), "{err}");
}

#[tokio::test]
async fn scripted_401_is_permanent() {
    let server = TwilioServer::start(SID, TOKEN).await;
    server.respond_next(401, error_body(401, 20003, "Authenticate"));
    let sender = SmsSender::new(config(server.base_url(), TOKEN)).expect("sender");
    let err = sender.send(TO, &summary()).await.expect_err("401");
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
}

#[tokio::test]
async fn server_error_is_transient_and_a_retry_succeeds() {
    let server = TwilioServer::start(SID, TOKEN).await;
    server.respond_next(500, error_body(500, 20500, "Internal Server Error"));
    let sender = SmsSender::new(config(server.base_url(), TOKEN)).expect("sender");
    let policy = RetryPolicy {
        base_delay_ms: 10,
        ..RetryPolicy::default()
    };

    let mut attempt = 1;
    let outcome = loop {
        match sender.send(TO, &summary()).await {
            Ok(()) => break Ok(attempt),
            Err(err) => {
                assert_eq!(err.kind, ErrorKind::Transient, "{err}");
                assert!(err.message.contains("HTTP 500"), "{err}");
                match policy.retry_delay(attempt, &err) {
                    Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                    None => break Err(err),
                }
                attempt += 1;
            }
        }
    };

    assert_eq!(outcome, Ok(2));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn rate_limit_is_transient() {
    let server = TwilioServer::start(SID, TOKEN).await;
    server.respond_next(429, error_body(429, 20429, "Too Many Requests"));
    let sender = SmsSender::new(config(server.base_url(), TOKEN)).expect("sender");
    let err = sender.send(TO, &summary()).await.expect_err("429");
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
}

#[tokio::test]
async fn unverified_trial_recipient_is_permanent_with_a_hint() {
    let server = TwilioServer::start(SID, TOKEN).await;
    server.respond_next(
        400,
        error_body(400, 21608, "The number +14155550123 is unverified."),
    );
    let sender = SmsSender::new(config(server.base_url(), TOKEN)).expect("sender");
    let err = sender.send(TO, &summary()).await.expect_err("21608");
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.message.contains("error 21608"), "{err}");
    assert!(err.message.contains("Verified Caller IDs"), "{err}");
}

#[tokio::test]
async fn server_down_is_transient() {
    let base = format!("http://{}", unused_local_addr());
    let sender = SmsSender::new(config(base, TOKEN)).expect("sender");
    let err = sender.send(TO, &summary()).await.expect_err("refused");
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(
        err.message
            .starts_with("could not connect to http://127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test]
async fn silent_server_times_out_as_transient() {
    // Accepted by the kernel's backlog, never answered.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut config = config(base, TOKEN);
    config.timeout = Duration::from_millis(400);
    let sender = SmsSender::new(config).expect("sender");

    let started = Instant::now();
    let err = sender.send(TO, &summary()).await.expect_err("timeout");

    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(err.message.contains("did not answer within 0.4 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    drop(listener);
}

#[tokio::test]
async fn invalid_recipient_is_permanent_and_sends_nothing() {
    let server = TwilioServer::start(SID, TOKEN).await;
    let sender = SmsSender::new(config(server.base_url(), TOKEN)).expect("sender");
    let err = sender
        .send("0415 555 0123", &summary())
        .await
        .expect_err("bad number");
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.message.starts_with("recipient:"), "{err}");
    assert!(server.requests().is_empty());
}

#[test]
fn sender_debug_shows_no_token() {
    let sender =
        SmsSender::new(config("https://api.twilio.com".to_owned(), TOKEN)).expect("sender");
    let text = format!("{sender:?}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
}
