//! EmailSender against the loopback ESMTP server.

use std::time::{Duration, Instant};

use focus_notify::{EmailConfig, EmailSender, ErrorKind, Secret, SmtpSecurity};

use crate::summary;
use focus_test_support::smtp::{SmtpOptions, SmtpSecurity as ServerSecurity, SmtpServer};
use focus_test_support::unused_local_addr;

const USER: &str = "focus@example.com";
const PASSWORD: &str = "wxyzabcdwxyzabcd-secret";

fn server_options(security: ServerSecurity) -> SmtpOptions {
    SmtpOptions {
        security,
        credentials: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..SmtpOptions::default()
    }
}

/// A client config for `server`, logging in with `password`.
fn client_config(server: &SmtpServer, security: SmtpSecurity, password: &str) -> EmailConfig {
    let mut config = EmailConfig::new("127.0.0.1", server.addr.port(), USER);
    config.security = security;
    config.username = Some(USER.to_owned());
    config.password = Some(Secret::new(password));
    config.extra_root_cert_pem = Some(server.cert_pem());
    config.timeout = Duration::from_secs(10);
    config
}

#[tokio::test]
async fn starttls_and_auth_deliver_a_multipart_summary() {
    let server = SmtpServer::start(server_options(ServerSecurity::StartTls)).await;
    let sender =
        EmailSender::new(client_config(&server, SmtpSecurity::StartTls, PASSWORD)).expect("sender");

    sender
        .send("me@example.org", &summary())
        .await
        .expect("delivered");

    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.rcpt_to, vec!["me@example.org".to_owned()]);
    assert_eq!(mail.mail_from, USER);
    assert_eq!(mail.authenticated_as.as_deref(), Some(USER));
    assert!(mail.tls, "message must arrive over TLS");
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Focus session 2026-11-25 09:30: 87% focused")
    );
    assert_eq!(
        mail.header("From").as_deref(),
        Some("\"Focus Sentry\" <focus@example.com>")
    );
    assert!(
        mail.header("Content-Type")
            .is_some_and(|ct| ct.starts_with("multipart/alternative"))
    );
    assert!(
        mail.data
            .contains("Content-Type: text/plain; charset=utf-8"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("Content-Type: text/html; charset=utf-8"),
        "{}",
        mail.data
    );

    let body = mail.decoded();
    for needle in [
        "87%",
        "21 min 02 s",
        "3 min 08 s",
        "24 min 10 s",
        "12 min 30 s",
        "Breaks:        2",
        "http://127.0.0.1:8080/history/42",
        "<td style=\"padding: 2px 0;\">21 min 02 s</td>",
    ] {
        assert!(body.contains(needle), "body lacks {needle:?}:\n{body}");
    }
}

#[tokio::test]
async fn auth_login_is_used_when_the_server_offers_only_login() {
    let server = SmtpServer::start(SmtpOptions {
        mechanisms: vec!["LOGIN"],
        ..server_options(ServerSecurity::StartTls)
    })
    .await;
    let sender =
        EmailSender::new(client_config(&server, SmtpSecurity::StartTls, PASSWORD)).expect("sender");
    sender
        .send("me@example.org", &summary())
        .await
        .expect("delivered");
    assert_eq!(server.messages()[0].authenticated_as.as_deref(), Some(USER));
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let server = SmtpServer::start(server_options(ServerSecurity::ImplicitTls)).await;
    let sender = EmailSender::new(client_config(&server, SmtpSecurity::ImplicitTls, PASSWORD))
        .expect("sender");
    sender
        .send("me@example.org", &summary())
        .await
        .expect("delivered");
    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls);
}

#[tokio::test]
async fn plain_smtp_to_a_local_relay_delivers() {
    let server = SmtpServer::start(server_options(ServerSecurity::Plain)).await;
    let sender =
        EmailSender::new(client_config(&server, SmtpSecurity::Plain, PASSWORD)).expect("sender");
    sender
        .send("me@example.org", &summary())
        .await
        .expect("delivered");
    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].tls);
}

#[tokio::test]
async fn rejected_login_is_permanent_and_names_no_secret() {
    let server = SmtpServer::start(SmtpOptions {
        echo_auth_on_failure: true,
        ..server_options(ServerSecurity::StartTls)
    })
    .await;
    let wrong = "wrong-password-SECRET";
    let sender =
        EmailSender::new(client_config(&server, SmtpSecurity::StartTls, wrong)).expect("sender");

    let err = sender
        .send("me@example.org", &summary())
        .await
        .expect_err("535");

    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.message.contains("535"), "{err}");
    assert!(err.message.contains("rejected the login"), "{err}");
    assert!(err.message.contains("app password"), "{err}");
    // The server quoted the AUTH PLAIN blob back; it must be scrubbed.
    assert!(err.message.contains("[redacted]"), "{err}");
    assert!(!err.message.contains("SECRET"), "{err}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn rejected_auth_login_echo_is_scrubbed_too() {
    let server = SmtpServer::start(SmtpOptions {
        echo_auth_on_failure: true,
        mechanisms: vec!["LOGIN"],
        ..server_options(ServerSecurity::StartTls)
    })
    .await;
    let wrong = "another-wrong-SECRET";
    let sender =
        EmailSender::new(client_config(&server, SmtpSecurity::StartTls, wrong)).expect("sender");
    let err = sender
        .send("me@example.org", &summary())
        .await
        .expect_err("535");
    assert_eq!(err.kind, ErrorKind::Permanent);
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(wrong);
    assert!(!err.message.contains(&b64), "{err}");
    assert!(!err.message.contains("SECRET"), "{err}");
}

#[tokio::test]
async fn server_down_is_transient() {
    let addr = unused_local_addr();
    let mut config = EmailConfig::new("127.0.0.1", addr.port(), USER);
    config.timeout = Duration::from_secs(5);
    let sender = EmailSender::new(config).expect("sender");

    let err = sender
        .send("me@example.org", &summary())
        .await
        .expect_err("refused");

    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(err.message.contains("refused the connection"), "{err}");
}

#[tokio::test]
async fn silent_server_times_out_as_transient() {
    let server = SmtpServer::start(SmtpOptions {
        greeting_delay: Some(Duration::from_secs(30)),
        ..server_options(ServerSecurity::StartTls)
    })
    .await;
    let mut config = client_config(&server, SmtpSecurity::StartTls, PASSWORD);
    config.timeout = Duration::from_millis(400);
    let sender = EmailSender::new(config).expect("sender");

    let started = Instant::now();
    let err = sender
        .send("me@example.org", &summary())
        .await
        .expect_err("timeout");

    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(err.message.contains("did not finish within 0.4 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn busy_server_4xx_is_transient() {
    let server = SmtpServer::start(SmtpOptions {
        greeting: Some("421 4.3.2 Service not available, try again later".to_owned()),
        ..server_options(ServerSecurity::StartTls)
    })
    .await;
    let sender =
        EmailSender::new(client_config(&server, SmtpSecurity::StartTls, PASSWORD)).expect("sender");
    let err = sender
        .send("me@example.org", &summary())
        .await
        .expect_err("421");
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(err.message.contains("421"), "{err}");
}

#[tokio::test]
async fn missing_starttls_is_permanent_not_a_silent_downgrade() {
    let server = SmtpServer::start(server_options(ServerSecurity::Plain)).await;
    let sender =
        EmailSender::new(client_config(&server, SmtpSecurity::StartTls, PASSWORD)).expect("sender");
    let err = sender
        .send("me@example.org", &summary())
        .await
        .expect_err("no STARTTLS");
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.message.contains("STARTTLS"), "{err}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn untrusted_certificate_is_permanent() {
    let server = SmtpServer::start(server_options(ServerSecurity::StartTls)).await;
    let mut config = client_config(&server, SmtpSecurity::StartTls, PASSWORD);
    config.extra_root_cert_pem = None;
    let sender = EmailSender::new(config).expect("sender");
    let err = sender
        .send("me@example.org", &summary())
        .await
        .expect_err("untrusted");
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.message.contains("does not trust"), "{err}");
    assert!(server.messages().is_empty());
}

#[test]
fn sender_debug_shows_no_secret() {
    let mut config = EmailConfig::new("smtp.example.com", 587, USER);
    config.username = Some(USER.to_owned());
    config.password = Some(Secret::new(PASSWORD));
    let text = format!("{config:?}");
    assert!(!text.contains(PASSWORD), "{text}");
    let sender = EmailSender::new(config).expect("sender");
    let text = format!("{sender:?}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(text.contains("smtp.example.com:587 (STARTTLS)"), "{text}");
}
