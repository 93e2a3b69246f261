//! Typed notifier configuration, parsed from `FOCUS_SMTP_*`, `FOCUS_EMAIL_FROM`
//! and `TWILIO_*` variables.
//!
//! Parsing is pure: [`NotifyConfig::from_lookup`] takes a closure that answers
//! "what is variable X?", so `main` can merge the process environment with a
//! `.env` file and tests can pass a map. This crate never reads the
//! environment or a file itself.
//!
//! Each channel ends up in one of three states:
//! - no variable of the channel set (empty values count as unset): `None`,
//!   not configured, no problem reported;
//! - everything valid: `Some(config)`;
//! - something missing or malformed: `None` plus one [`ConfigProblem`] per
//!   variable at fault, worded for the person editing `.env`.
//!
//! Also here: the address and phone-number validators the settings form uses.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::Secret;

/// Names of the variables read by [`NotifyConfig::from_lookup`].
pub mod vars {
    /// SMTP server host name, e.g. `smtp.gmail.com`. Required for email.
    pub const SMTP_HOST: &str = "FOCUS_SMTP_HOST";
    /// SMTP port; default 587. 465 means implicit TLS.
    pub const SMTP_PORT: &str = "FOCUS_SMTP_PORT";
    /// Login name; usually the full email address.
    pub const SMTP_USERNAME: &str = "FOCUS_SMTP_USERNAME";
    /// Login password (for Gmail a 16-letter app password). Secret.
    pub const SMTP_PASSWORD: &str = "FOCUS_SMTP_PASSWORD";
    /// `true` (default): STARTTLS, or implicit TLS on port 465. `false`:
    /// plain SMTP, only for a relay on this machine.
    pub const SMTP_USE_TLS: &str = "FOCUS_SMTP_USE_TLS";
    /// Sender, `you@example.com` or `Name <you@example.com>`; defaults to
    /// the username when that is an email address.
    pub const EMAIL_FROM: &str = "FOCUS_EMAIL_FROM";
    /// Optional: path of a PEM file with an extra CA certificate to trust,
    /// for a relay with a self-signed certificate. The caller reads the file.
    pub const SMTP_CA_CERT: &str = "FOCUS_SMTP_CA_CERT";
    /// Optional: seconds one email may take in all (connect to last reply);
    /// default 20.
    pub const SMTP_TIMEOUT_SECS: &str = "FOCUS_SMTP_TIMEOUT_SECS";
    /// Twilio Account SID, `AC` + 32 hex digits. Required for SMS.
    pub const TWILIO_ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
    /// Twilio Auth Token. Secret. Required for SMS.
    pub const TWILIO_AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";
    /// The Twilio number messages come from, E.164. Required for SMS.
    pub const TWILIO_FROM_NUMBER: &str = "TWILIO_FROM_NUMBER";
    /// Base URL of the API; default `https://api.twilio.com`.
    pub const TWILIO_API_BASE: &str = "TWILIO_API_BASE";

    /// Every email variable, in the order problems are reported.
    pub const EMAIL: [&str; 8] = [
        SMTP_HOST,
        SMTP_PORT,
        SMTP_USERNAME,
        SMTP_PASSWORD,
        SMTP_USE_TLS,
        EMAIL_FROM,
        SMTP_CA_CERT,
        SMTP_TIMEOUT_SECS,
    ];
    /// Every SMS variable.
    pub const SMS: [&str; 4] = [
        TWILIO_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN,
        TWILIO_FROM_NUMBER,
        TWILIO_API_BASE,
    ];
}

/// Submission port, STARTTLS.
pub const DEFAULT_SMTP_PORT: u16 = 587;
/// The port on which TLS starts before the first SMTP byte ("SMTPS").
pub const IMPLICIT_TLS_PORT: u16 = 465;
/// Default limit for one whole email send.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Twilio's production API.
pub const DEFAULT_TWILIO_API_BASE: &str = "https://api.twilio.com";
/// Default limit for one Twilio request.
pub const DEFAULT_SMS_TIMEOUT: Duration = Duration::from_secs(20);

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmtpSecurity {
    /// Connect in plain text, then `STARTTLS`; fail if the server does not
    /// offer it (no silent downgrade). Port 587.
    StartTls,
    /// TLS from the first byte. Port 465.
    ImplicitTls,
    /// No encryption at all: only for a relay on this machine.
    Plain,
}

impl SmtpSecurity {
    /// The mode `FOCUS_SMTP_USE_TLS` and `FOCUS_SMTP_PORT` select.
    pub fn from_use_tls(use_tls: bool, port: u16) -> Self {
        match (use_tls, port) {
            (false, _) => Self::Plain,
            (true, IMPLICIT_TLS_PORT) => Self::ImplicitTls,
            (true, _) => Self::StartTls,
        }
    }
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StartTls => "STARTTLS",
            Self::ImplicitTls => "implicit TLS",
            Self::Plain => "no encryption",
        })
    }
}

/// Everything [`crate::EmailSender`] needs.
#[derive(Clone)]
pub struct EmailConfig {
    /// SMTP server host name or IP address.
    pub host: String,
    /// SMTP server port.
    pub port: u16,
    /// Encryption mode.
    pub security: SmtpSecurity,
    /// Login name; `None` sends without AUTH.
    pub username: Option<String>,
    /// Login password; set exactly when `username` is.
    pub password: Option<Secret>,
    /// Sender mailbox: `a@b.c` or `Name <a@b.c>`. A bare address is sent
    /// with the display name "Focus Sentry".
    pub from: String,
    /// Limit for one whole send: connect, TLS, every command, the data.
    pub timeout: Duration,
    /// From `FOCUS_SMTP_CA_CERT`: a PEM file the caller should read into
    /// `extra_root_cert_pem` before building the sender.
    pub ca_cert_path: Option<PathBuf>,
    /// PEM certificate(s) trusted in addition to the system's roots: a
    /// relay's self-signed certificate, or a test server's.
    pub extra_root_cert_pem: Option<Vec<u8>>,
}

impl EmailConfig {
    /// A config without login, with the security mode implied by `port`
    /// (implicit TLS on 465, STARTTLS elsewhere) and the default timeout.
    pub fn new(host: impl Into<String>, port: u16, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            security: SmtpSecurity::from_use_tls(true, port),
            username: None,
            password: None,
            from: from.into(),
            timeout: DEFAULT_SMTP_TIMEOUT,
            ca_cert_path: None,
            extra_root_cert_pem: None,
        }
    }
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("ca_cert_path", &self.ca_cert_path)
            .field(
                "extra_root_cert_pem",
                &self
                    .extra_root_cert_pem
                    .as_ref()
                    .map(|pem| format!("{} bytes of PEM", pem.len())),
            )
            .finish()
    }
}

/// Everything [`crate::SmsSender`] needs.
#[derive(Clone, Debug)]
pub struct SmsConfig {
    /// Twilio Account SID (`AC…`); also the basic-auth user name.
    pub account_sid: String,
    /// Twilio Auth Token; the basic-auth password.
    pub auth_token: Secret,
    /// The sending number, E.164.
    pub from_number: String,
    /// API base URL without a trailing slash, e.g. `https://api.twilio.com`.
    pub api_base: String,
    /// Limit for one request, connect included.
    pub timeout: Duration,
}

impl SmsConfig {
    /// A config for Twilio's production API with the default timeout.
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: impl Into<Secret>,
        from_number: impl Into<String>,
    ) -> Self {
        Self {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            from_number: from_number.into(),
            api_base: DEFAULT_TWILIO_API_BASE.to_owned(),
            timeout: DEFAULT_SMS_TIMEOUT,
        }
    }
}

/// Which notifier a [`ConfigProblem`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Email over SMTP.
    Email,
    /// SMS through Twilio.
    Sms,
}

/// One thing wrong with the configuration, e.g.
/// `FOCUS_SMTP_PORT: 'abc' is not a port number (1-65535; usually 587 or 465)`.
///
/// The text never contains a secret's value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {detail}")]
pub struct ConfigProblem {
    /// The channel that stays off because of it.
    pub channel: Channel,
    /// The variable to fix.
    pub variable: &'static str,
    /// What is wrong with it, in plain words.
    pub detail: String,
}

/// The parsed notifier configuration.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// `Some` when email is fully and correctly configured.
    pub email: Option<EmailConfig>,
    /// `Some` when SMS is fully and correctly configured.
    pub sms: Option<SmsConfig>,
    /// Why a channel that was partly configured stays off; empty when all
    /// is well. Startup should log these and the settings page show them.
    pub problems: Vec<ConfigProblem>,
}

impl NotifyConfig {
    /// Parses both channels. `lookup(name)` returns the variable's value, or
    /// `None` when it is not set; values are trimmed, and an empty value
    /// counts as not set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let email = parse_email(&get, &mut problems);
        let sms = parse_sms(&get, &mut problems);
        Self {
            email,
            sms,
            problems,
        }
    }
}

/// Collects the problems of one channel.
struct Problems<'a> {
    channel: Channel,
    out: &'a mut Vec<ConfigProblem>,
    found: bool,
}

impl<'a> Problems<'a> {
    /// The collector for one channel and the list of its variables that are set, or `None`
    /// when none is: the channel is simply not configured.
    fn for_channel(
        get: &impl Fn(&str) -> Option<String>,
        channel: Channel,
        names: &[&str],
        out: &'a mut Vec<ConfigProblem>,
    ) -> Option<(Self, String)> {
        let set: Vec<&str> = names.iter().copied().filter(|v| get(v).is_some()).collect();
        if set.is_empty() {
            return None;
        }
        let problems = Problems {
            channel,
            out,
            found: false,
        };
        Some((problems, set.join(", ")))
    }

    fn add(&mut self, variable: &'static str, detail: impl Into<String>) {
        self.found = true;
        self.out.push(ConfigProblem {
            channel: self.channel,
            variable,
            detail: detail.into(),
        });
    }
}

fn parse_email(
    get: &impl Fn(&str) -> Option<String>,
    out: &mut Vec<ConfigProblem>,
) -> Option<EmailConfig> {
    let (mut problems, others_set) = Problems::for_channel(get, Channel::Email, &vars::EMAIL, out)?;

    let host = match get(vars::SMTP_HOST) {
        None => {
            problems.add(
                vars::SMTP_HOST,
                format!(
                    "not set, but {others_set} is; set it to your provider's SMTP server, \
                     e.g. smtp.gmail.com, or remove the other FOCUS_SMTP_* variables"
                ),
            );
            None
        }
        Some(host) => match check_host(&host) {
            Ok(()) => Some(host),
            Err(detail) => {
                problems.add(vars::SMTP_HOST, detail);
                None
            }
        },
    };

    let port = match get(vars::SMTP_PORT) {
        None => Some(DEFAULT_SMTP_PORT),
        Some(raw) => match raw.parse::<u16>() {
            Ok(port) if port != 0 => Some(port),
            _ => {
                problems.add(
                    vars::SMTP_PORT,
                    format!("'{raw}' is not a port number (1-65535; usually 587 or 465)"),
                );
                None
            }
        },
    };

    let use_tls = match get(vars::SMTP_USE_TLS) {
        None => Some(true),
        Some(raw) => match parse_bool(&raw) {
            Some(b) => Some(b),
            None => {
                problems.add(vars::SMTP_USE_TLS, format!("'{raw}' is not true or false"));
                None
            }
        },
    };

    let username = get(vars::SMTP_USERNAME);
    let password = get(vars::SMTP_PASSWORD);
    match (&username, &password) {
        (Some(_), None) => problems.add(
            vars::SMTP_PASSWORD,
            "not set, but FOCUS_SMTP_USERNAME is; set the password (for Gmail, a 16-letter \
             app password), or remove the username if your server needs no login",
        ),
        (None, Some(_)) => problems.add(
            vars::SMTP_USERNAME,
            "not set, but FOCUS_SMTP_PASSWORD is; set the login name (usually your full \
             email address)",
        ),
        _ => {}
    }
    // Google shows app passwords as four groups of four letters; the spaces
    // are only for reading. Drop them so a pasted password works.
    let password = match (&host, password) {
        (Some(h), Some(p)) if is_google_host(h) && looks_like_spaced_app_password(&p) => {
            Some(p.replace(' ', ""))
        }
        (_, p) => p,
    };

    let from = match get(vars::EMAIL_FROM) {
        Some(raw) => match parse_mailbox(&raw) {
            Ok(()) => Some(raw),
            Err(detail) => {
                problems.add(vars::EMAIL_FROM, detail);
                None
            }
        },
        None => match &username {
            Some(user) if validate_email(user).is_ok() => Some(user.clone()),
            _ => {
                problems.add(
                    vars::EMAIL_FROM,
                    "not set; set the address the summaries come from, usually the same \
                     as FOCUS_SMTP_USERNAME (e.g. you@gmail.com)",
                );
                None
            }
        },
    };

    let timeout = match get(vars::SMTP_TIMEOUT_SECS) {
        None => Some(DEFAULT_SMTP_TIMEOUT),
        Some(raw) => match raw.parse::<u64>() {
            Ok(secs @ 1..=600) => Some(Duration::from_secs(secs)),
            _ => {
                problems.add(
                    vars::SMTP_TIMEOUT_SECS,
                    format!("'{raw}' is not a number of seconds between 1 and 600"),
                );
                None
            }
        },
    };

    if let (Some(host), Some(false), Some(_)) = (&host, use_tls, &username)
        && !is_loopback_host(host)
    {
        problems.add(
            vars::SMTP_USE_TLS,
            format!(
                "false would send your SMTP password unencrypted to {host}; plain SMTP \
                 is only allowed to a relay on this machine (localhost). Remove the \
                 variable or set it to true"
            ),
        );
    }

    let ca_cert_path = get(vars::SMTP_CA_CERT).map(PathBuf::from);

    if problems.found {
        return None;
    }
    let (Some(host), Some(port), Some(use_tls), Some(from), Some(timeout)) =
        (host, port, use_tls, from, timeout)
    else {
        return None;
    };
    Some(EmailConfig {
        host,
        port,
        security: SmtpSecurity::from_use_tls(use_tls, port),
        username,
        password: password.map(Secret::from),
        from,
        timeout,
        ca_cert_path,
        extra_root_cert_pem: None,
    })
}

fn parse_sms(
    get: &impl Fn(&str) -> Option<String>,
    out: &mut Vec<ConfigProblem>,
) -> Option<SmsConfig> {
    let (mut problems, others_set) = Problems::for_channel(get, Channel::Sms, &vars::SMS, out)?;
    let missing = |what: &str| {
        format!("not set, but {others_set} is; {what}, or remove the other TWILIO_* variables")
    };

    let account_sid = match get(vars::TWILIO_ACCOUNT_SID) {
        None => {
            problems.add(
                vars::TWILIO_ACCOUNT_SID,
                missing(
                    "copy the Account SID (AC followed by 32 characters) from the Twilio Console",
                ),
            );
            None
        }
        Some(sid) => match check_account_sid(&sid) {
            Ok(()) => Some(sid),
            Err(detail) => {
                problems.add(vars::TWILIO_ACCOUNT_SID, detail);
                None
            }
        },
    };

    let auth_token = match get(vars::TWILIO_AUTH_TOKEN) {
        None => {
            problems.add(
                vars::TWILIO_AUTH_TOKEN,
                missing("copy the Auth Token from the Twilio Console (Account Info)"),
            );
            None
        }
        // Never echo the value: only say what shape it should have.
        Some(token) if token.chars().any(char::is_whitespace) => {
            problems.add(
                vars::TWILIO_AUTH_TOKEN,
                "contains spaces; copy the Auth Token again from the Twilio Console",
            );
            None
        }
        Some(token) => Some(Secret::from(token)),
    };

    let from_number = match get(vars::TWILIO_FROM_NUMBER) {
        None => {
            problems.add(
                vars::TWILIO_FROM_NUMBER,
                missing("set your Twilio phone number in E.164 form, e.g. +15017122661"),
            );
            None
        }
        Some(number) => match validate_e164(&number) {
            Ok(()) => Some(number),
            Err(detail) => {
                problems.add(vars::TWILIO_FROM_NUMBER, detail);
                None
            }
        },
    };

    let api_base = match get(vars::TWILIO_API_BASE) {
        None => Some(DEFAULT_TWILIO_API_BASE.to_owned()),
        Some(raw) => match check_api_base(&raw) {
            Ok(base) => Some(base),
            Err(detail) => {
                problems.add(vars::TWILIO_API_BASE, detail);
                None
            }
        },
    };

    if problems.found {
        return None;
    }
    let (Some(account_sid), Some(auth_token), Some(from_number), Some(api_base)) =
        (account_sid, auth_token, from_number, api_base)
    else {
        return None;
    };
    Some(SmsConfig {
        account_sid,
        auth_token,
        from_number,
        api_base,
        timeout: DEFAULT_SMS_TIMEOUT,
    })
}

/// Checks an email address as typed into the settings form: a bare
/// `user@domain` (no display name, no surrounding spaces), as lettre parses
/// addresses, at most 254 characters.
pub fn validate_email(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("enter an email address, e.g. you@example.com".to_owned());
    }
    if address.trim() != address {
        return Err(format!("'{address}' has spaces at the start or end"));
    }
    if address.len() > 254 {
        return Err("that address is longer than the 254 characters email allows".to_owned());
    }
    if address.contains(['<', '>']) {
        return Err(format!(
            "'{address}': enter just the address, e.g. you@example.com, without a name or <>"
        ));
    }
    let Some((user, domain)) = address.rsplit_once('@') else {
        return Err(format!("'{address}' is not an email address: it has no @"));
    };
    if user.is_empty() || domain.is_empty() {
        return Err(format!(
            "'{address}' is not an email address: something is missing before or after the @"
        ));
    }
    lettre::Address::from_str(address).map(|_| ()).map_err(|e| {
        use lettre::address::AddressError as E;
        let why = match e {
            E::MissingParts => "something is missing before or after the @",
            E::InvalidUser => "the part before the @ has characters an address cannot have",
            E::InvalidDomain => "the part after the @ is not a valid domain",
            _ => "it is not a valid address",
        };
        format!("'{address}' is not an email address: {why}")
    })
}

/// Checks a phone number in E.164 form: `+`, then 8 to 15 digits, the first
/// one 1-9 (a country code never starts with 0). No spaces or dashes.
pub fn validate_e164(number: &str) -> Result<(), String> {
    const EXAMPLE: &str = "e.g. +14155550123 or +447700900123";
    let Some(digits) = number.strip_prefix('+') else {
        return Err(format!(
            "'{number}' must start with + and the country code, {EXAMPLE}"
        ));
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "'{number}' may only contain digits after the +, without spaces, dashes or \
             brackets, {EXAMPLE}"
        ));
    }
    if digits.starts_with('0') {
        return Err(format!(
            "'{number}': the country code after the + cannot start with 0 (drop the \
             leading 0 of the national number), {EXAMPLE}"
        ));
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(format!(
            "'{number}' has {} digits; a full international number has 8 to 15, {EXAMPLE}",
            digits.len()
        ));
    }
    Ok(())
}

/// Checks a sender: a bare address or `Name <address>`.
pub(crate) fn parse_mailbox(raw: &str) -> Result<(), String> {
    match lettre::message::Mailbox::from_str(raw) {
        Ok(mailbox) => validate_email(mailbox.email.as_ref()),
        Err(_) if !raw.contains('<') => validate_email(raw),
        Err(_) => Err(format!(
            "'{raw}' is not an email address; use you@example.com or Name <you@example.com>"
        )),
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.contains("://") {
        return Err(format!(
            "'{host}' should be a host name only, e.g. smtp.gmail.com, without a scheme like smtp://"
        ));
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if host.contains(':') {
        return Err(format!(
            "'{host}' contains a ':'; put the port in FOCUS_SMTP_PORT and only the host name here"
        ));
    }
    let valid = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if valid {
        Ok(())
    } else {
        Err(format!("'{host}' is not a host name, e.g. smtp.gmail.com"))
    }
}

fn check_account_sid(sid: &str) -> Result<(), String> {
    if sid.starts_with("SK") {
        return Err(format!(
            "'{sid}' is an API key SID; use the Account SID (starts with AC) from the \
             Twilio Console's Account Info"
        ));
    }
    let hex = sid.strip_prefix("AC").unwrap_or_default();
    if sid.starts_with("AC") && hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "'{sid}' does not look like an Account SID: that is AC followed by 32 letters \
             and digits (0-9, a-f), as shown in the Twilio Console's Account Info"
        ))
    }
}

/// Returns the base URL without its trailing slash.
fn check_api_base(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw)
        .map_err(|_| format!("'{raw}' is not a URL; the default is {DEFAULT_TWILIO_API_BASE}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "'{raw}' must be an http:// or https:// URL; the default is {DEFAULT_TWILIO_API_BASE}"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "'{raw}' must be a plain base URL without user, query or fragment, e.g. \
             {DEFAULT_TWILIO_API_BASE}"
        ));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

pub(crate) fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_google_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host.ends_with("gmail.com") || host.ends_with("googlemail.com") || host.ends_with("google.com")
}

fn looks_like_spaced_app_password(p: &str) -> bool {
    let groups: Vec<&str> = p.split(' ').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn email_validator_accepts_addresses_and_explains_rejections() {
        for ok in [
            "me@gmail.com",
            "first.last+focus@example.co.uk",
            "a@localhost",
        ] {
            assert_eq!(validate_email(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "enter an email address"),
            ("me", "has no @"),
            ("me@", "something is missing"),
            ("@example.com", "something is missing"),
            ("me @example.com", "not an email address"),
            (" me@example.com", "spaces at the start or end"),
            ("Me <me@example.com>", "without a name"),
            ("me@exa mple.com", "not a valid domain"),
        ] {
            let err = validate_email(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn e164_validator() {
        for ok in [
            "+14155550123",
            "+447700900123",
            "+12345678",
            "+123456789012345",
        ] {
            assert_eq!(validate_e164(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("14155550123", "must start with +"),
            ("+1 415 555 0123", "only contain digits"),
            ("+1-415-555-0123", "only contain digits"),
            ("+0441234567", "cannot start with 0"),
            ("+1234567", "has 7 digits"),
            ("+1234567890123456", "has 16 digits"),
            ("+", "has 0 digits"),
            ("", "must start with +"),
        ] {
            let err = validate_e164(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
