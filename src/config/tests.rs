//! Tests of the configuration: flags, variables, their problems in words.

use super::*;

use clap::Parser;

const PASSWORD: &str = "pw-Very-Secret-1234";
const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";

fn lookup_from(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The serve flags on a command line of their own.
#[derive(Debug, Parser)]
struct ServeOnly {
    #[command(flatten)]
    serve: ServeArgs,
}

/// The default serve flags (none given).
fn serve_args() -> ServeArgs {
    ServeOnly::try_parse_from(["focus-sentry"])
        .expect("parses")
        .serve
}

#[test]
fn serve_flags_default_to_loopback_port_8000() {
    let args = serve_args();
    assert_eq!(args.port, 8000);
    assert_eq!(args.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let args = ServeOnly::try_parse_from(["focus-sentry", "--port", "9001", "--db", "x.db"])
        .expect("parses")
        .serve;
    assert_eq!(args.port, 9001);
    assert_eq!(args.db_path, PathBuf::from("x.db"));
}

#[test]
fn a_malformed_env_file_is_described_without_its_values() {
    let text =
        "FOCUS_SMTP_HOST=smtp.example.com\nFOCUS_SMTP_PASSWORD='pw-Secret 99\nFOCUS_PORT=9000\n";
    let error = dotenvy::from_read_iter(text.as_bytes())
        .find_map(Result::err)
        .expect("the unterminated quote is an error");
    let problem = describe_dotenv_error(&error);
    assert!(
        problem.starts_with(".env: the line that sets FOCUS_SMTP_PASSWORD is not"),
        "{problem}"
    );
    assert!(problem.contains("lines after it were ignored"), "{problem}");
    assert!(!problem.contains("pw-Secret"), "{problem}");

    let garbage = dotenvy::Error::LineParse("}{ not a setting pw-Secret".into(), 0);
    let problem = describe_dotenv_error(&garbage);
    assert!(problem.starts_with(".env: a line is not"), "{problem}");
    assert!(!problem.contains("pw-Secret"), "{problem}");
}

#[test]
fn config_debug_never_shows_secrets() {
    let valid = [
        ("FOCUS_SMTP_HOST", "smtp.example.com"),
        ("FOCUS_SMTP_USERNAME", "me@example.com"),
        ("FOCUS_SMTP_PASSWORD", PASSWORD),
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", TOKEN),
        ("TWILIO_FROM_NUMBER", "+15017122661"),
    ];
    let config = Config::from_serve_args(&serve_args(), lookup_from(&valid));
    assert!(config.notify.email.is_some() && config.notify.sms.is_some());
    for text in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }

    // Broken settings: the problems name the variable, never the secret.
    let broken = [
        ("FOCUS_SMTP_HOST", "smtp://smtp.example.com"),
        ("FOCUS_SMTP_USERNAME", "me@example.com"),
        ("FOCUS_SMTP_PASSWORD", PASSWORD),
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "f00d feed"),
        ("TWILIO_FROM_NUMBER", "+15017122661"),
    ];
    let config = Config::from_serve_args(&serve_args(), lookup_from(&broken));
    assert!(config.notify.email.is_none() && config.notify.sms.is_none());
    let problems: Vec<String> = config
        .notify
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        problems.iter().any(|p| p.starts_with("FOCUS_SMTP_HOST: ")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("TWILIO_AUTH_TOKEN: ")),
        "{problems:?}"
    );
    let text = format!("{config:?} {problems:?}");
    assert!(
        !text.contains(PASSWORD) && !text.contains("f00d feed"),
        "{text}"
    );
}

#[test]
fn public_url_is_checked_and_falls_back_to_the_bound_address() {
    let config = Config::from_serve_args(
        &serve_args(),
        lookup_from(&[(PUBLIC_URL_VAR, "https://focus.example.com/app/")]),
    );
    assert_eq!(
        config.public_url.as_deref(),
        Some("https://focus.example.com/app")
    );
    assert!(config.problems.iter().all(|p| p.variable != PUBLIC_URL_VAR));

    for bad in [
        "localhost:8000",
        "http://",
        "http://x/?a=1",
        "ftp://x",
        "http://user:pass@x",
    ] {
        let config = Config::from_serve_args(&serve_args(), lookup_from(&[(PUBLIC_URL_VAR, bad)]));
        assert_eq!(config.public_url, None, "{bad}");
        let problem = config
            .problems
            .iter()
            .find(|p| p.variable == PUBLIC_URL_VAR)
            .unwrap_or_else(|| panic!("no problem reported for {bad}"));
        assert!(
            problem.to_string().starts_with("FOCUS_PUBLIC_URL: '"),
            "{problem}"
        );
    }

    // A URL with credentials is refused, and the problem (which is logged) does not
    // repeat them, whatever else is wrong with the value.
    for with_credentials in [
        "http://admin:hunter22@focus.example.com",
        "http://admin:hunter22@focus.example.com/?x=1",
        "http://admin:hunter22@ focus",
    ] {
        let config = Config::from_serve_args(
            &serve_args(),
            lookup_from(&[(PUBLIC_URL_VAR, with_credentials)]),
        );
        assert_eq!(config.public_url, None);
        let text = format!("{:?}", config.problems);
        assert!(!text.contains("hunter22"), "{text}");
        assert!(text.contains("[redacted]@"), "{text}");
    }

    let bound: SocketAddr = "127.0.0.1:8000".parse().expect("addr");
    assert_eq!(public_base_url(None, bound), "http://127.0.0.1:8000");
    let any: SocketAddr = "0.0.0.0:9000".parse().expect("addr");
    assert_eq!(public_base_url(None, any), "http://127.0.0.1:9000");
    let any6: SocketAddr = "[::]:9000".parse().expect("addr");
    assert_eq!(public_base_url(None, any6), "http://[::1]:9000");
    assert_eq!(
        public_base_url(Some("http://focus.local"), bound),
        "http://focus.local"
    );
}

#[test]
fn an_unreadable_ca_certificate_turns_email_off_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.pem");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let good = dir.path().join("ca.pem");
    std::fs::write(
        &good,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    for (path, ok) in [(&missing, false), (&not_pem, false), (&good, true)] {
        let path_text = path.display().to_string();
        let vars = [
            ("FOCUS_SMTP_HOST", "127.0.0.1"),
            ("FOCUS_EMAIL_FROM", "me@example.com"),
            ("FOCUS_SMTP_CA_CERT", path_text.as_str()),
        ];
        let config = Config::from_serve_args(&serve_args(), lookup_from(&vars));
        assert_eq!(config.notify.email.is_some(), ok, "{path_text}");
        if ok {
            let email = config.notify.email.as_ref().expect("email");
            assert!(email.extra_root_cert_pem.is_some());
        } else {
            let problem = &config.notify.problems[0];
            assert_eq!(problem.variable, "FOCUS_SMTP_CA_CERT");
            assert!(problem.detail.contains(&path_text), "{problem}");
        }
    }
}

#[test]
fn localhost_is_loopback() {
    assert_eq!(parse_host("localhost"), Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert!(parse_host("example.com").is_err());
}

#[test]
fn inference_slots_default_to_one_per_core_and_can_be_set() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let config = Config::from_serve_args(&serve_args(), lookup_from(&[]));
    assert_eq!(config.limits.inference_slots, cores);
    assert_eq!(Limits::default().inference_slots, cores);

    let args = ServeOnly::try_parse_from(["focus-sentry", "--inference-slots", "3"])
        .expect("parses")
        .serve;
    let config = Config::from_serve_args(&args, lookup_from(&[]));
    assert_eq!(config.limits.inference_slots, 3);

    let zero = ServeOnly::try_parse_from(["focus-sentry", "--inference-slots", "0"])
        .expect_err("0 slots would analyse nothing");
    assert!(zero.to_string().contains("inference-slots"), "{zero}");
}
