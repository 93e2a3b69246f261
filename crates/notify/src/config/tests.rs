//! Parsing the notifier's variables: defaults, every problem by variable, no secret in
//! any text.

use std::collections::HashMap;

use super::*;

const SID: &str = "AC0123456789abcdef0123456789abcdef";

fn parse(pairs: &[(&str, &str)]) -> NotifyConfig {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    NotifyConfig::from_lookup(|name| map.get(name).cloned())
}

fn problem_texts(config: &NotifyConfig) -> Vec<String> {
    config.problems.iter().map(ToString::to_string).collect()
}

#[test]
fn nothing_set_means_nothing_configured_and_no_problems() {
    let config = parse(&[]);
    assert!(config.email.is_none());
    assert!(config.sms.is_none());
    assert!(config.problems.is_empty());
}

#[test]
fn empty_values_count_as_unset() {
    let config = parse(&[(vars::SMTP_HOST, "  "), (vars::TWILIO_AUTH_TOKEN, "")]);
    assert!(config.email.is_none());
    assert!(config.sms.is_none());
    assert!(config.problems.is_empty(), "{:?}", config.problems);
}

#[test]
fn gmail_config_parses_with_defaults() {
    let config = parse(&[
        (vars::SMTP_HOST, "smtp.gmail.com"),
        (vars::SMTP_USERNAME, "me@gmail.com"),
        (vars::SMTP_PASSWORD, "abcd efgh ijkl mnop"),
        (vars::EMAIL_FROM, "Focus Sentry <me@gmail.com>"),
    ]);
    assert!(config.problems.is_empty(), "{:?}", config.problems);
    let email = config.email.expect("email configured");
    assert_eq!(email.host, "smtp.gmail.com");
    assert_eq!(email.port, 587);
    assert_eq!(email.security, SmtpSecurity::StartTls);
    assert_eq!(email.username.as_deref(), Some("me@gmail.com"));
    // The display spaces of an app password are dropped.
    assert_eq!(
        email.password.as_ref().map(Secret::expose),
        Some("abcdefghijklmnop")
    );
    assert_eq!(email.timeout, DEFAULT_SMTP_TIMEOUT);
}

#[test]
fn port_465_means_implicit_tls_and_false_means_plain() {
    let config = parse(&[
        (vars::SMTP_HOST, "smtp.example.com"),
        (vars::SMTP_PORT, "465"),
        (vars::EMAIL_FROM, "me@example.com"),
    ]);
    assert_eq!(
        config.email.map(|e| e.security),
        Some(SmtpSecurity::ImplicitTls)
    );
    let config = parse(&[
        (vars::SMTP_HOST, "localhost"),
        (vars::SMTP_PORT, "1025"),
        (vars::SMTP_USE_TLS, "false"),
        (vars::SMTP_USERNAME, "me"),
        (vars::SMTP_PASSWORD, "local-bridge-pw"),
        (vars::EMAIL_FROM, "me@example.com"),
    ]);
    assert!(config.problems.is_empty(), "{:?}", config.problems);
    assert_eq!(config.email.map(|e| e.security), Some(SmtpSecurity::Plain));
}

#[test]
fn from_defaults_to_an_address_username() {
    let config = parse(&[
        (vars::SMTP_HOST, "smtp.gmail.com"),
        (vars::SMTP_USERNAME, "me@gmail.com"),
        (vars::SMTP_PASSWORD, "abcdefghijklmnop"),
    ]);
    assert_eq!(
        config.email.map(|e| e.from),
        Some("me@gmail.com".to_owned())
    );
}

#[test]
fn bad_port_is_named_in_plain_words() {
    let config = parse(&[
        (vars::SMTP_HOST, "smtp.gmail.com"),
        (vars::SMTP_PORT, "abc"),
        (vars::EMAIL_FROM, "me@gmail.com"),
    ]);
    assert!(config.email.is_none());
    assert_eq!(
        problem_texts(&config),
        vec!["FOCUS_SMTP_PORT: 'abc' is not a port number (1-65535; usually 587 or 465)"]
    );
    assert_eq!(config.problems[0].channel, Channel::Email);
}

#[test]
fn partly_configured_email_reports_each_missing_piece() {
    let config = parse(&[(vars::SMTP_USERNAME, "me@gmail.com")]);
    assert!(config.email.is_none());
    let texts = problem_texts(&config);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].starts_with("FOCUS_SMTP_HOST: not set, but FOCUS_SMTP_USERNAME is"));
    assert!(texts[1].starts_with("FOCUS_SMTP_PASSWORD: not set"));
}

#[test]
fn malformed_email_values_are_reported() {
    let config = parse(&[
        (vars::SMTP_HOST, "smtp://smtp.gmail.com"),
        (vars::SMTP_USE_TLS, "maybe"),
        (vars::EMAIL_FROM, "not-an-address"),
        (vars::SMTP_TIMEOUT_SECS, "0"),
    ]);
    let vars_at_fault: Vec<&str> = config.problems.iter().map(|p| p.variable).collect();
    assert_eq!(
        vars_at_fault,
        vec![
            vars::SMTP_HOST,
            vars::SMTP_USE_TLS,
            vars::EMAIL_FROM,
            vars::SMTP_TIMEOUT_SECS
        ]
    );
    let config = parse(&[
        (vars::SMTP_HOST, "smtp.gmail.com:587"),
        (vars::EMAIL_FROM, "a@b.co"),
    ]);
    assert!(problem_texts(&config)[0].contains("put the port in FOCUS_SMTP_PORT"));
}

#[test]
fn plain_smtp_with_a_password_to_a_remote_host_is_refused() {
    let config = parse(&[
        (vars::SMTP_HOST, "smtp.gmail.com"),
        (vars::SMTP_USE_TLS, "false"),
        (vars::SMTP_USERNAME, "me@gmail.com"),
        (vars::SMTP_PASSWORD, "abcdefghijklmnop"),
    ]);
    assert!(config.email.is_none());
    assert_eq!(config.problems.len(), 1);
    assert_eq!(config.problems[0].variable, vars::SMTP_USE_TLS);
    assert!(!config.problems[0].detail.contains("abcdefghijklmnop"));
}

#[test]
fn plain_smtp_to_a_remote_host_is_refused_even_without_a_login() {
    let config = parse(&[
        (vars::SMTP_HOST, "mail.example.com"),
        (vars::SMTP_PORT, "25"),
        (vars::SMTP_USE_TLS, "false"),
        (vars::EMAIL_FROM, "me@example.com"),
    ]);
    assert!(config.email.is_none());
    assert_eq!(config.problems.len(), 1, "{:?}", config.problems);
    assert_eq!(config.problems[0].variable, vars::SMTP_USE_TLS);
    assert!(config.problems[0].detail.contains("unencrypted"));
    for local in ["localhost", "127.0.0.1", "::1"] {
        let config = parse(&[
            (vars::SMTP_HOST, local),
            (vars::SMTP_PORT, "25"),
            (vars::SMTP_USE_TLS, "false"),
            (vars::EMAIL_FROM, "me@example.com"),
        ]);
        assert!(config.problems.is_empty(), "{local}: {:?}", config.problems);
    }
}

#[test]
fn the_twilio_api_base_must_be_https_unless_local_and_hold_no_credentials() {
    let with_base = |base: &str| {
        parse(&[
            (vars::TWILIO_ACCOUNT_SID, SID),
            (vars::TWILIO_AUTH_TOKEN, "0123456789abcdef0123456789abcdef"),
            (vars::TWILIO_FROM_NUMBER, "+15017122661"),
            (vars::TWILIO_API_BASE, base),
        ])
    };
    for ok in [
        "http://127.0.0.1:9",
        "http://localhost:9/x",
        "http://[::1]:9",
        "https://proxy.example.com/twilio",
    ] {
        let config = with_base(ok);
        assert!(config.problems.is_empty(), "{ok}: {:?}", config.problems);
    }
    for (bad, says) in [
        ("http://api.twilio.com", "unencrypted"),
        ("http://192.168.1.20:8080", "unencrypted"),
        (
            "https://proxy:hunter22@proxy.example.com",
            "without user, password",
        ),
        (
            "https://:hunter22@proxy.example.com",
            "without user, password",
        ),
    ] {
        let config = with_base(bad);
        assert!(config.sms.is_none(), "{bad}");
        let texts = problem_texts(&config);
        assert_eq!(texts.len(), 1, "{bad}: {texts:?}");
        assert!(texts[0].starts_with("TWILIO_API_BASE: "), "{texts:?}");
        assert!(texts[0].contains(says), "{bad}: {texts:?}");
        assert!(!texts[0].contains("hunter22"), "{texts:?}");
    }
}

#[test]
fn twilio_config_parses_and_strips_trailing_slash() {
    let config = parse(&[
        (vars::TWILIO_ACCOUNT_SID, SID),
        (vars::TWILIO_AUTH_TOKEN, "0123456789abcdef0123456789abcdef"),
        (vars::TWILIO_FROM_NUMBER, "+15017122661"),
        (vars::TWILIO_API_BASE, "http://127.0.0.1:9999/"),
    ]);
    assert!(config.problems.is_empty(), "{:?}", config.problems);
    let sms = config.sms.expect("sms configured");
    assert_eq!(sms.api_base, "http://127.0.0.1:9999");
    assert_eq!(sms.from_number, "+15017122661");
    assert_eq!(sms.auth_token.expose(), "0123456789abcdef0123456789abcdef");
    let default = parse(&[
        (vars::TWILIO_ACCOUNT_SID, SID),
        (vars::TWILIO_AUTH_TOKEN, "tok"),
        (vars::TWILIO_FROM_NUMBER, "+15017122661"),
    ]);
    assert_eq!(
        default.sms.map(|s| s.api_base),
        Some(DEFAULT_TWILIO_API_BASE.to_owned())
    );
}

#[test]
fn partly_or_wrongly_configured_sms_is_off_with_problems() {
    let config = parse(&[
        (
            vars::TWILIO_ACCOUNT_SID,
            "SK0123456789abcdef0123456789abcdef",
        ),
        (vars::TWILIO_FROM_NUMBER, "555-1234"),
        (vars::TWILIO_API_BASE, "ftp://example.com"),
    ]);
    assert!(config.sms.is_none());
    let vars_at_fault: Vec<&str> = config.problems.iter().map(|p| p.variable).collect();
    assert_eq!(
        vars_at_fault,
        vec![
            vars::TWILIO_ACCOUNT_SID,
            vars::TWILIO_AUTH_TOKEN,
            vars::TWILIO_FROM_NUMBER,
            vars::TWILIO_API_BASE
        ]
    );
    assert!(config.problems.iter().all(|p| p.channel == Channel::Sms));
    assert!(problem_texts(&config)[0].contains("API key SID"));
}

#[test]
fn secrets_never_appear_in_debug_output_or_problems() {
    let config = parse(&[
        (vars::SMTP_HOST, "smtp.gmail.com"),
        (vars::SMTP_USERNAME, "me@gmail.com"),
        (vars::SMTP_PASSWORD, "smtp-pass-SECRET-1"),
        (vars::TWILIO_ACCOUNT_SID, SID),
        (vars::TWILIO_AUTH_TOKEN, "twilio-token-SECRET-2"),
        (vars::TWILIO_FROM_NUMBER, "+15017122661"),
    ]);
    let email = config.email.as_ref().expect("email configured");
    let sms = config.sms.as_ref().expect("sms configured");
    for text in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{email:?}"),
        format!("{sms:?}"),
    ] {
        assert!(!text.contains("SECRET"), "secret leaked: {text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
    // A token with spaces is reported without echoing it.
    let bad = parse(&[
        (vars::TWILIO_ACCOUNT_SID, SID),
        (vars::TWILIO_AUTH_TOKEN, "bad SECRET token"),
        (vars::TWILIO_FROM_NUMBER, "+15017122661"),
    ]);
    assert_eq!(bad.problems.len(), 1);
    assert!(!format!("{:?}", bad.problems).contains("SECRET"));
}
