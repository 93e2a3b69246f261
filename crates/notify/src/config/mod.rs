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
//! This module holds the types and the variable names; its `parse` submodule reads the
//! variables of each channel. The address and phone-number checks they share
//! with the app's settings form are in [`crate::address`].

mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::Secret;
pub(crate) use parse::is_loopback_host;

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

/// Which notifier a [`ConfigProblem`] belongs to: the app's one channel type.
pub use focus_types::Channel;

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
        let email = parse::parse_email(&get, &mut problems);
        let sms = parse::parse_sms(&get, &mut problems);
        Self {
            email,
            sms,
            problems,
        }
    }
}
