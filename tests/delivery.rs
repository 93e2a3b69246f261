//! Session summaries by email and SMS, end to end: the real app on `127.0.0.1:0` with a
//! temporary database sends to real servers on loopback (an ESMTP server with STARTTLS and
//! AUTH, and an HTTP server shaped like Twilio's Messages API, from
//! `focus-test-support`), and the statuses are read back through the API.
//!
//! Retries are configured in milliseconds (`fast_retries`), so every failure path runs in
//! a second or two. In every case the session and its summary must stay as they were when
//! the session ended.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use focus_notify::{EmailConfig, RetryPolicy, Secret, SmsConfig, SmtpSecurity, format_duration};
use focus_sentry::config::Config;
use focus_test_support::smtp::{SmtpOptions, SmtpSecurity as ServerSecurity, SmtpServer};
use focus_test_support::twilio::{TwilioServer, error_body};
use focus_test_support::unused_local_addr;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const USER: &str = "focus@example.com";
const PASSWORD: &str = "smtp-Pass-word-1234";
const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const FROM_NUMBER: &str = "+15017122661";
const TO_EMAIL: &str = "me@example.org";
const TO_PHONE: &str = "+14155550123";

/// A STARTTLS server that wants `USER` / `PASSWORD`.
async fn smtp_server(options: SmtpOptions) -> SmtpServer {
    SmtpServer::start(SmtpOptions {
        security: ServerSecurity::StartTls,
        credentials: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..options
    })
    .await
}

/// The app's email settings for `server`, logging in with `password`.
fn email_config(server: &SmtpServer, password: &str) -> EmailConfig {
    let mut config = EmailConfig::new("127.0.0.1", server.addr.port(), USER);
    config.security = SmtpSecurity::StartTls;
    config.username = Some(USER.to_owned());
    config.password = Some(Secret::new(password));
    config.extra_root_cert_pem = Some(server.cert_pem());
    config.timeout = Duration::from_secs(5);
    config
}

fn sms_config(base_url: String, token: &str) -> SmsConfig {
    let mut config = SmsConfig::new(SID, token, FROM_NUMBER);
    config.api_base = base_url;
    config.timeout = Duration::from_secs(5);
    config
}

/// Retries after 100 ms, 200 ms, ... (at most 400 ms), `max_attempts` in all; the worker
/// looks at the queue every 100 ms.
fn fast_retries(config: &mut Config, max_attempts: u32) {
    config.delivery.retry = RetryPolicy {
        max_attempts,
        base_delay_ms: 100,
        max_delay_ms: 400,
    };
    config.delivery.poll_interval = Duration::from_millis(100);
}

/// Starts a 5-minute session that wants the summary by email and/or SMS, lets 90 s pass
/// (no camera: 2 s focused, then "no signal", one break) and ends it. Returns the id and the
/// summary `POST /end` answered with.
async fn run_session(app: &TestApp, email: bool, sms: bool) -> (i64, Value) {
    let (status, session) = app
        .post_json(
            "/api/sessions",
            &json!({
                "duration_minutes": 5, "alert_threshold_s": 1, "alert_mode": "banner",
                "email": TO_EMAIL, "phone": TO_PHONE, "send_email": email, "send_sms": sms,
            }),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_i64().unwrap();
    // A few attentive frames that settle (focused), then silence: "no camera signal" until
    // the end, a break past the 1 s threshold.
    let attentive = fixture(ATTENTIVE);
    let mut ws = app.connect_live(id).await;
    for _ in 0..4 {
        let reply = send_frame(&mut ws, &attentive).await;
        assert!(reply.get("error").is_none(), "{reply}");
        app.time.advance_ms(250);
    }
    drop(ws);
    app.time.advance_ms(90_000);
    let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(status, 200, "{summary}");
    (id, summary)
}

/// Polls the session until no delivery is pending (at most `limit`), and returns it.
async fn wait_settled(app: &TestApp, id: i64, limit: Duration) -> Value {
    app.session_when(id, limit, "every delivery settled", |detail| {
        let deliveries = detail["deliveries"].as_array().unwrap();
        !deliveries.is_empty() && deliveries.iter().all(|d| d["status"] != "pending")
    })
    .await
}

/// Polls the session until `done` holds for its delivery on `channel`.
async fn wait_for(
    app: &TestApp,
    id: i64,
    channel: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let detail = app
        .session_when(id, limit, &format!("the {channel} delivery"), |detail| {
            find(detail, channel).is_some_and(|d| done(&d))
        })
        .await;
    find(&detail, channel).expect("the delivery session_when saw")
}

fn find(detail: &Value, channel: &str) -> Option<Value> {
    detail["deliveries"]
        .as_array()?
        .iter()
        .find(|d| d["channel"] == channel)
        .cloned()
}

fn delivery(detail: &Value, channel: &str) -> Value {
    find(detail, channel).unwrap_or_else(|| panic!("no {channel} delivery: {detail}"))
}

/// The session is ended, and its summary is the one `POST /end` returned.
async fn assert_intact(app: &TestApp, id: i64, summary: &Value) {
    let (status, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["status"], "completed", "{detail}");
    assert_eq!(&detail["summary"], summary, "{detail}");
    assert!(detail["totals"]["total_ms"].as_u64().unwrap() >= 90_000);
    let (_, again) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
    assert_eq!(&again, summary);
}

/// What a person reads for a duration in milliseconds (rounded to whole seconds).
fn human(ms: &Value) -> String {
    format_duration((ms.as_u64().unwrap() + 500) / 1000)
}

#[tokio::test]
async fn the_email_summary_goes_out_over_starttls_with_the_session_numbers() {
    let server = smtp_server(SmtpOptions::default()).await;
    let app = spawn_app_adjusted(|config| {
        config.notify.email = Some(email_config(&server, PASSWORD));
        fast_retries(config, 3);
    })
    .await;
    let (id, summary) = run_session(&app, true, false).await;
    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;

    let email = delivery(&detail, "email");
    assert_eq!(email["status"], "sent", "{email}");
    assert_eq!(email["attempts"], 1);
    assert_eq!(email["destination"], TO_EMAIL);
    assert_eq!(email["last_error"], Value::Null);
    assert_eq!(email["retry_url"], Value::Null);

    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.rcpt_to, vec![TO_EMAIL.to_owned()]);
    assert_eq!(mail.mail_from, USER);
    assert_eq!(mail.authenticated_as.as_deref(), Some(USER));
    assert!(mail.tls, "the message must arrive over TLS");

    // The subject: start time (UTC in tests, zone named), the focus percent as the page
    // shows it (rounded), and that it ended early.
    let started = detail["started_at"].as_str().unwrap();
    let percent = format!(
        "{}%",
        summary["focus_percent"].as_f64().unwrap().round() as i64
    );
    assert_eq!(
        mail.header("Subject").unwrap(),
        format!(
            "Focus session {} {} UTC: {percent} focused (ended early)",
            &started[..10],
            &started[11..16]
        )
    );

    // The body has the same numbers as the session's summary.
    let totals = &detail["totals"];
    let body = mail.decoded();
    for (label, value) in [
        ("Focus:", percent.clone()),
        ("Total:", human(&totals["total_ms"])),
        ("Focused:", human(&totals["focused_ms"])),
        ("Unfocused:", human(&totals["unfocused_ms"])),
        ("Longest focus:", human(&totals["longest_focus_ms"])),
        ("Breaks:", summary["breaks_count"].to_string()),
        ("Planned:", "5 min".to_owned()),
        (
            "Ended early:",
            "yes, before the planned 5 min: you ended it".to_owned(),
        ),
        ("Judged with:", "no profile (not calibrated)".to_owned()),
    ] {
        let line = format!("{label:<15}{value}\r\n");
        assert!(body.contains(&line), "body lacks {line:?}:\n{body}");
    }
    assert_eq!(summary["breaks_count"], 1, "{summary}");
    assert!(totals["focused_ms"].as_u64().unwrap() > 0, "{totals}");
    // No signal from the last frame + the 2 s grace to the end.
    assert!(
        totals["unfocused_ms"].as_u64().unwrap() >= 85_000,
        "{totals}"
    );
    assert!(
        body.contains(&format!("{}/history?session={id}", app.address)),
        "{body}"
    );

    assert_intact(&app, id, &summary).await;
    // The history list carries the status too.
    let (_, list) = app.get_json("/api/sessions").await;
    assert_eq!(list["sessions"][0]["id"], id);
    assert_eq!(list["sessions"][0]["deliveries"][0]["status"], "sent");
}

#[tokio::test]
async fn the_sms_summary_is_posted_to_twilio() {
    let twilio = TwilioServer::start(SID, TOKEN).await;
    let app = spawn_app_adjusted(|config| {
        config.notify.sms = Some(sms_config(twilio.base_url(), TOKEN));
        fast_retries(config, 3);
    })
    .await;
    let (id, summary) = run_session(&app, false, true).await;
    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;
    let sms = delivery(&detail, "sms");
    assert_eq!(sms["status"], "sent", "{sms}");
    assert_eq!(sms["attempts"], 1);

    let requests = twilio.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert_eq!(request.basic_auth, Some((SID.to_owned(), TOKEN.to_owned())));
    assert_eq!(request.field("To"), Some(TO_PHONE));
    assert_eq!(request.field("From"), Some(FROM_NUMBER));
    let body = request.field("Body").unwrap();
    let totals = &detail["totals"];
    let percent = summary["focus_percent"].as_f64().unwrap().round() as i64;
    for needle in [
        format!("{percent}% focused"),
        format!(
            "{} of {}",
            human(&totals["focused_ms"]),
            human(&totals["total_ms"])
        ),
        "ended early".to_owned(),
        format!("{}/history?session={id}", app.address),
    ] {
        assert!(body.contains(&needle), "SMS lacks {needle:?}: {body}");
    }
    assert!(body.chars().count() <= 160, "{body}");
    assert_intact(&app, id, &summary).await;
}

#[tokio::test]
async fn ending_returns_at_once_while_the_mail_server_is_slow() {
    // The server accepts and then says nothing for 30 s; each try may take 5 s.
    let server = smtp_server(SmtpOptions {
        greeting_delay: Some(Duration::from_secs(30)),
        ..SmtpOptions::default()
    })
    .await;
    let app = spawn_app_adjusted(|config| {
        config.notify.email = Some(email_config(&server, PASSWORD));
        fast_retries(config, 3);
    })
    .await;
    let started = Instant::now();
    let (id, summary) = run_session(&app, true, false).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "starting and ending took {:?}",
        started.elapsed()
    );
    assert_eq!(summary["status"], "completed");
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(delivery(&detail, "email")["status"], "pending", "{detail}");
    assert_intact(&app, id, &summary).await;
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_retried_then_given_up() {
    let down = unused_local_addr();
    let app = spawn_app_adjusted(|config| {
        let mut email = EmailConfig::new("127.0.0.1", down.port(), USER);
        email.timeout = Duration::from_secs(5);
        config.notify.email = Some(email);
        fast_retries(config, 3);
    })
    .await;
    let (id, summary) = run_session(&app, true, false).await;
    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;
    let email = delivery(&detail, "email");
    assert_eq!(email["status"], "failed", "{email}");
    assert_eq!(email["attempts"], 3, "{email}");
    let reason = email["last_error"].as_str().unwrap();
    assert!(reason.starts_with("gave up after 3 attempts: "), "{reason}");
    assert!(reason.contains("refused the connection"), "{reason}");
    assert_eq!(
        email["retry_url"],
        format!("/api/sessions/{id}/deliveries/email/retry")
    );
    assert_intact(&app, id, &summary).await;
}

#[tokio::test]
async fn a_rejected_login_fails_at_once_and_is_not_retried() {
    let server = smtp_server(SmtpOptions {
        echo_auth_on_failure: true,
        ..SmtpOptions::default()
    })
    .await;
    let wrong = "wrong-Password-5678";
    let app = spawn_app_adjusted(|config| {
        config.notify.email = Some(email_config(&server, wrong));
        fast_retries(config, 5);
    })
    .await;
    let (id, summary) = run_session(&app, true, false).await;
    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;
    let email = delivery(&detail, "email");
    assert_eq!(email["status"], "failed", "{email}");
    assert_eq!(email["attempts"], 1, "{email}");
    let reason = email["last_error"].as_str().unwrap();
    assert!(reason.contains("rejected the login"), "{reason}");
    assert!(reason.contains("535"), "{reason}");
    assert!(!reason.contains(wrong), "the password leaked: {reason}");
    // Longer than all the retries would take: still one attempt, nothing delivered.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, detail) = app.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(delivery(&detail, "email")["attempts"], 1);
    assert!(server.messages().is_empty());
    assert_intact(&app, id, &summary).await;
}

#[tokio::test]
async fn a_twilio_401_is_permanent() {
    let twilio = TwilioServer::start(SID, TOKEN).await;
    let wrong = "0000000000000000000000000000beef";
    let app = spawn_app_adjusted(|config| {
        config.notify.sms = Some(sms_config(twilio.base_url(), wrong));
        fast_retries(config, 5);
    })
    .await;
    let (id, summary) = run_session(&app, false, true).await;
    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;
    let sms = delivery(&detail, "sms");
    assert_eq!(sms["status"], "failed", "{sms}");
    assert_eq!(sms["attempts"], 1, "{sms}");
    let reason = sms["last_error"].as_str().unwrap();
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert!(reason.contains("TWILIO_AUTH_TOKEN"), "{reason}");
    assert!(!reason.contains(wrong), "{reason}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(twilio.requests().len(), 1);
    assert_intact(&app, id, &summary).await;
}

#[tokio::test]
async fn a_twilio_500_is_retried_and_then_sent() {
    let twilio = TwilioServer::start(SID, TOKEN).await;
    twilio.respond_next(500, error_body(500, 20500, "Internal Server Error"));
    let app = spawn_app_adjusted(|config| {
        config.notify.sms = Some(sms_config(twilio.base_url(), TOKEN));
        fast_retries(config, 3);
    })
    .await;
    let (id, summary) = run_session(&app, false, true).await;
    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;
    let sms = delivery(&detail, "sms");
    assert_eq!(sms["status"], "sent", "{sms}");
    assert_eq!(sms["attempts"], 2, "{sms}");
    assert_eq!(sms["last_error"], Value::Null);
    assert_eq!(twilio.requests().len(), 2);
    assert_intact(&app, id, &summary).await;
}

#[tokio::test]
async fn a_silent_mail_server_times_out_and_is_retried() {
    let server = smtp_server(SmtpOptions {
        greeting_delay: Some(Duration::from_secs(30)),
        ..SmtpOptions::default()
    })
    .await;
    let app = spawn_app_adjusted(|config| {
        let mut email = email_config(&server, PASSWORD);
        email.timeout = Duration::from_millis(300);
        config.notify.email = Some(email);
        fast_retries(config, 2);
    })
    .await;
    let (id, summary) = run_session(&app, true, false).await;
    // First a timeout, which is transient: pending again, with the reason.
    let first = wait_for(&app, id, "email", Duration::from_secs(10), |d| {
        d["attempts"].as_u64() >= Some(1)
    })
    .await;
    if first["status"] == "pending" {
        let reason = first["last_error"].as_str().unwrap();
        assert!(reason.contains("did not finish within 0.3 s"), "{first}");
        assert!(first["next_attempt_at_ms"].is_i64(), "{first}");
    }
    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;
    let email = delivery(&detail, "email");
    assert_eq!(email["status"], "failed", "{email}");
    assert_eq!(email["attempts"], 2, "{email}");
    let reason = email["last_error"].as_str().unwrap();
    assert!(
        reason.starts_with("gave up after 2 attempts: ") && reason.contains("did not finish"),
        "{reason}"
    );
    assert_intact(&app, id, &summary).await;
}

/// An HTTP "server" that accepts connections and never answers, counting the requests it
/// was sent: how many in all, and the most open at the same time. A connection counts once
/// bytes arrive on it: an HTTP client may open a spare connection it never uses (hyper races a
/// new connect against a pooled one), and that is not a second send.
struct SilentServer {
    addr: std::net::SocketAddr,
    accepted: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    async fn start() -> SilentServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (a, o, p) = (accepted.clone(), open.clone(), peak.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (a, o, p) = (a.clone(), o.clone(), p.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    if !matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
                        return;
                    }
                    a.fetch_add(1, Ordering::SeqCst);
                    let now_open = o.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now_open, Ordering::SeqCst);
                    // Read (and ignore) until the client gives up and closes.
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        SilentServer {
            addr,
            accepted,
            peak,
            task,
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn slow_sends_run_a_few_at_a_time_and_each_delivery_once() {
    let silent = SilentServer::start().await;
    let app = spawn_app_adjusted(|config| {
        let mut sms = sms_config(format!("http://{}", silent.addr), TOKEN);
        sms.timeout = Duration::from_millis(1_000);
        config.notify.sms = Some(sms);
        fast_retries(config, 1);
        config.delivery.poll_interval = Duration::from_millis(50);
        config.delivery.max_concurrent = 2;
    })
    .await;
    // Five sessions end one right after the other.
    let mut ids = Vec::new();
    for _ in 0..5 {
        let session = app
            .post_json(
                "/api/sessions",
                &json!({"duration_minutes": 5, "alert_threshold_s": 1, "alert_mode": "banner",
                        "phone": TO_PHONE, "send_sms": true}),
            )
            .await
            .1;
        ids.push(session["id"].as_i64().unwrap());
    }
    app.time.advance_ms(90_000);
    let mut sessions = Vec::new();
    for id in ids {
        let (status, summary) = app.post_empty(&format!("/api/sessions/{id}/end")).await;
        assert_eq!(status, 200, "{summary}");
        sessions.push((id, summary));
    }
    for (id, summary) in &sessions {
        let detail = wait_settled(&app, *id, Duration::from_secs(20)).await;
        let sms = delivery(&detail, "sms");
        assert_eq!(sms["status"], "failed", "{sms}");
        assert_eq!(sms["attempts"], 1, "{sms}");
        let reason = sms["last_error"].as_str().unwrap();
        // A timeout is transient: it was given up only because the policy allows one try.
        assert!(
            reason.starts_with("gave up after 1 attempt: ")
                && reason.contains("did not answer within 1 s"),
            "{reason}"
        );
        assert_intact(&app, *id, summary).await;
    }
    // Polled every 50 ms while each send hung for 1 s: still one request per delivery,
    // and never more than two at once.
    assert_eq!(silent.accepted.load(Ordering::SeqCst), 5);
    assert_eq!(silent.peak.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_pending_summary_survives_a_restart_and_is_sent_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("focus.db");
    let down = unused_local_addr();

    // First run: the mail server is down; the summary waits for a retry (in 2 s).
    let mut config = test_config(&db_path);
    config.notify.email = Some(EmailConfig::new("127.0.0.1", down.port(), USER));
    fast_retries(&mut config, 10);
    config.delivery.retry.base_delay_ms = 2_000;
    let mut first = spawn_app_with(config).await;
    let (status, session) = first
        .post_json(
            "/api/sessions",
            &json!({"duration_minutes": 5, "alert_threshold_s": 1, "alert_mode": "banner",
                    "email": TO_EMAIL, "send_email": true}),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_i64().unwrap();
    let (_, summary) = first.post_empty(&format!("/api/sessions/{id}/end")).await;
    let pending = wait_for(&first, id, "email", Duration::from_secs(10), |d| {
        d["attempts"] == 1
    })
    .await;
    assert_eq!(pending["status"], "pending", "{pending}");
    first.shutdown().await;

    // Second run on the same database, with the mail server up: it goes out.
    let server = smtp_server(SmtpOptions::default()).await;
    let mut config = test_config(&db_path);
    config.notify.email = Some(email_config(&server, PASSWORD));
    fast_retries(&mut config, 10);
    let second = spawn_app_with(config).await;
    let detail = wait_settled(&second, id, Duration::from_secs(20)).await;
    let email = delivery(&detail, "email");
    assert_eq!(email["status"], "sent", "{email}");
    assert_eq!(email["attempts"], 2, "{email}");
    assert_eq!(server.messages().len(), 1);
    assert_eq!(server.messages()[0].rcpt_to, vec![TO_EMAIL.to_owned()]);
    assert_eq!(detail["summary"], summary);
}

#[tokio::test]
async fn a_failed_summary_can_be_sent_again() {
    let twilio = TwilioServer::start(SID, TOKEN).await;
    twilio.respond_next(401, error_body(401, 20003, "Authenticate"));
    let app = spawn_app_adjusted(|config| {
        config.notify.sms = Some(sms_config(twilio.base_url(), TOKEN));
        fast_retries(config, 3);
    })
    .await;
    let (id, summary) = run_session(&app, false, true).await;
    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;
    let failed = delivery(&detail, "sms");
    assert_eq!(failed["status"], "failed", "{failed}");
    let retry_url = failed["retry_url"].as_str().unwrap().to_owned();
    assert_eq!(
        retry_url,
        format!("/api/sessions/{id}/deliveries/sms/retry")
    );

    // From another site: refused.
    let response = app
        .client
        .post(app.url(&retry_url))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    let (status, queued) = app.post_empty(&retry_url).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["channel"], "sms");
    assert_eq!(queued["status"], "pending");
    assert_eq!(queued["attempts"], 0);
    assert_eq!(queued["last_error"], Value::Null);

    let detail = wait_settled(&app, id, Duration::from_secs(20)).await;
    let sms = delivery(&detail, "sms");
    assert_eq!(sms["status"], "sent", "{sms}");
    assert_eq!(sms["attempts"], 1, "{sms}");
    assert_eq!(twilio.requests().len(), 2);

    // A summary is sent only once.
    let (status, reply) = app.post_empty(&retry_url).await;
    assert_eq!(status, 409, "{reply}");
    // No email was asked for; unknown channel, session and id.
    let (status, reply) = app
        .post_empty(&format!("/api/sessions/{id}/deliveries/email/retry"))
        .await;
    assert_eq!(status, 404, "{reply}");
    assert_eq!(reply["error"], "delivery not found");
    let (status, reply) = app
        .post_empty(&format!("/api/sessions/{id}/deliveries/fax/retry"))
        .await;
    assert_eq!(status, 400, "{reply}");
    let (status, _) = app
        .post_empty("/api/sessions/9999/deliveries/sms/retry")
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post_empty("/api/sessions/abc/deliveries/sms/retry")
        .await;
    assert_eq!(status, 400);
    assert_intact(&app, id, &summary).await;
}

#[tokio::test]
async fn a_channel_that_is_off_is_refused_and_its_old_summaries_fail_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("focus.db");

    // First run with SMS set up, but Twilio down: the summary waits for a retry.
    let down = unused_local_addr();
    let mut config = test_config(&db_path);
    config.notify.sms = Some(sms_config(format!("http://{down}"), TOKEN));
    fast_retries(&mut config, 10);
    config.delivery.retry.base_delay_ms = 1_000;
    let mut first = spawn_app_with(config).await;
    let (id, summary) = run_session(&first, false, true).await;
    wait_for(&first, id, "sms", Duration::from_secs(10), |d| {
        d["attempts"] == 1
    })
    .await;
    first.shutdown().await;

    // Second run without SMS: the page is told, new sessions cannot ask for it, and the
    // queued summary fails with a reason that says how to fix it.
    let mut config = test_config(&db_path);
    fast_retries(&mut config, 10);
    let second = spawn_app_with(config).await;
    second.time.advance_ms(120_000);
    let (_, config) = second.get_json("/api/config").await;
    assert_eq!(config["sms_configured"], false, "{config}");
    assert_eq!(config["sms_help_url"], "/help/sms");
    let (status, reply) = second
        .post_json(
            "/api/sessions",
            &json!({"duration_minutes": 5, "alert_threshold_s": 1, "alert_mode": "banner",
                    "phone": TO_PHONE, "send_sms": true}),
        )
        .await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["field"], "send_sms", "{reply}");

    let detail = wait_settled(&second, id, Duration::from_secs(20)).await;
    let sms = delivery(&detail, "sms");
    assert_eq!(sms["status"], "failed", "{sms}");
    let reason = sms["last_error"].as_str().unwrap();
    assert!(
        reason.contains("SMS is not set up") && reason.contains("/help/sms"),
        "{reason}"
    );
    let (status, reply) = second
        .post_empty(&format!("/api/sessions/{id}/deliveries/sms/retry"))
        .await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["field"], "channel", "{reply}");
    assert_eq!(detail["summary"], summary);
}

#[tokio::test]
async fn the_setup_guides_are_served_as_pages() {
    let app = spawn_app().await;
    for (path, needle) in [
        ("/help/email", "App passwords"),
        ("/help/sms", "Verified Caller IDs"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(response.headers().contains_key("content-security-policy"));
        let html = response.text().await.unwrap();
        assert!(html.contains(needle), "{path} lacks {needle}");
        assert!(html.contains("<table>"), "{path}");
        assert!(!html.contains("<script"), "{path}");
    }
    assert_eq!(app.get("/help/fax").await.status(), 404);
    // The page links to them when a channel is off.
    let (_, config) = app.get_json("/api/config").await;
    assert_eq!(config["email_configured"], false);
    assert_eq!(config["email_help_url"], "/help/email");
    assert_eq!(config["email_problems"], json!([]));
}
