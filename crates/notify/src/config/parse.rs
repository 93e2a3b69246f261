//! Parsing the variables of each channel into an [`EmailConfig`] or [`SmsConfig`], with one
//! [`ConfigProblem`] per variable at fault.
//!
//! Every variable goes through [`ChannelVars::parse`]: unset means its default (or a problem
//! when it is required), set means its check (a failed check is a problem naming it).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    Channel, ConfigProblem, DEFAULT_SMS_TIMEOUT, DEFAULT_SMTP_PORT, DEFAULT_SMTP_TIMEOUT,
    DEFAULT_TWILIO_API_BASE, EmailConfig, SmsConfig, SmtpSecurity, vars,
};
use crate::Secret;
use crate::address::{check_mailbox, validate_e164, validate_email};

/// What an unset variable means.
enum Unset<T> {
    /// Use this value.
    Default(T),
    /// The channel needs it: a problem with this text.
    Required(String),
}

/// The variables of one channel and the problems found in them.
struct ChannelVars<'a, G> {
    get: &'a G,
    channel: Channel,
    out: &'a mut Vec<ConfigProblem>,
    found: bool,
    /// The channel's variables that are set, for "not set, but X is" messages.
    others_set: String,
}

impl<'a, G: Fn(&str) -> Option<String>> ChannelVars<'a, G> {
    /// The variables of `channel` (all named in `names`), or `None` when none of them is set:
    /// the channel is simply not configured.
    fn of(
        get: &'a G,
        channel: Channel,
        names: &[&str],
        out: &'a mut Vec<ConfigProblem>,
    ) -> Option<Self> {
        let set: Vec<&str> = names.iter().copied().filter(|v| get(v).is_some()).collect();
        if set.is_empty() {
            return None;
        }
        Some(ChannelVars {
            get,
            channel,
            out,
            found: false,
            others_set: set.join(", "),
        })
    }

    /// The value of `variable` as set (trimmed; empty counts as unset).
    fn raw(&self, variable: &str) -> Option<String> {
        (self.get)(variable)
    }

    /// `variable` read through `check` when it is set, or as `unset` says when it is not. A
    /// failed check or a missing required value is recorded as a problem naming `variable`,
    /// and gives `None`.
    fn parse<T>(
        &mut self,
        variable: &'static str,
        unset: Unset<T>,
        check: impl FnOnce(String) -> Result<T, String>,
    ) -> Option<T> {
        let result = match self.raw(variable) {
            Some(raw) => check(raw),
            None => match unset {
                Unset::Default(value) => Ok(value),
                Unset::Required(detail) => Err(detail),
            },
        };
        result.map_err(|detail| self.add(variable, detail)).ok()
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

pub(super) fn parse_email(
    get: &impl Fn(&str) -> Option<String>,
    out: &mut Vec<ConfigProblem>,
) -> Option<EmailConfig> {
    let mut fields = ChannelVars::of(get, Channel::Email, &vars::EMAIL, out)?;

    let host = fields.parse(
        vars::SMTP_HOST,
        Unset::Required(format!(
            "not set, but {} is; set it to your provider's SMTP server, \
             e.g. smtp.gmail.com, or remove the other FOCUS_SMTP_* variables",
            fields.others_set
        )),
        |host| check_host(&host).map(|()| host),
    );
    let port = fields.parse(
        vars::SMTP_PORT,
        Unset::Default(DEFAULT_SMTP_PORT),
        |raw| match raw.parse::<u16>() {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(format!(
                "'{raw}' is not a port number (1-65535; usually 587 or 465)"
            )),
        },
    );
    let use_tls = fields.parse(vars::SMTP_USE_TLS, Unset::Default(true), |raw| {
        parse_bool(&raw).ok_or_else(|| format!("'{raw}' is not true or false"))
    });

    let username = fields.raw(vars::SMTP_USERNAME);
    let password = fields.raw(vars::SMTP_PASSWORD);
    match (&username, &password) {
        (Some(_), None) => fields.add(
            vars::SMTP_PASSWORD,
            "not set, but FOCUS_SMTP_USERNAME is; set the password (for Gmail, a 16-letter \
             app password), or remove the username if your server needs no login",
        ),
        (None, Some(_)) => fields.add(
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

    // Unset, the sender is the login name when that is an address.
    let from_unset = match &username {
        Some(user) if validate_email(user).is_ok() => Unset::Default(user.clone()),
        _ => Unset::Required(
            "not set; set the address the summaries come from, usually the same \
             as FOCUS_SMTP_USERNAME (e.g. you@gmail.com)"
                .to_owned(),
        ),
    };
    let from = fields.parse(vars::EMAIL_FROM, from_unset, |raw| {
        check_mailbox(&raw).map(|()| raw)
    });
    let timeout = fields.parse(
        vars::SMTP_TIMEOUT_SECS,
        Unset::Default(DEFAULT_SMTP_TIMEOUT),
        |raw| match raw.parse::<u64>() {
            Ok(secs @ 1..=600) => Ok(Duration::from_secs(secs)),
            _ => Err(format!(
                "'{raw}' is not a number of seconds between 1 and 600"
            )),
        },
    );

    // Neither a password nor a summary (the user's own figures and address) crosses the
    // network unencrypted: plain SMTP only to a relay on this machine.
    if let (Some(host), Some(false)) = (&host, use_tls)
        && !is_loopback_host(host)
    {
        let what = if username.is_some() {
            "your SMTP password and the summaries"
        } else {
            "the summaries"
        };
        fields.add(
            vars::SMTP_USE_TLS,
            format!(
                "false would send {what} unencrypted to {host}; plain SMTP is only allowed \
                 to a relay on this machine (localhost). Remove the variable or set it to \
                 true"
            ),
        );
    }

    let ca_cert_path = fields.raw(vars::SMTP_CA_CERT).map(PathBuf::from);

    if fields.found {
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

pub(super) fn parse_sms(
    get: &impl Fn(&str) -> Option<String>,
    out: &mut Vec<ConfigProblem>,
) -> Option<SmsConfig> {
    let mut fields = ChannelVars::of(get, Channel::Sms, &vars::SMS, out)?;
    let missing = |what: &str| {
        format!(
            "not set, but {} is; {what}, or remove the other TWILIO_* variables",
            fields.others_set
        )
    };
    let sid_missing =
        missing("copy the Account SID (AC followed by 32 characters) from the Twilio Console");
    let token_missing = missing("copy the Auth Token from the Twilio Console (Account Info)");
    let number_missing = missing("set your Twilio phone number in E.164 form, e.g. +15017122661");

    let account_sid = fields.parse(
        vars::TWILIO_ACCOUNT_SID,
        Unset::Required(sid_missing),
        |sid| check_account_sid(&sid).map(|()| sid),
    );
    let auth_token = fields.parse(
        vars::TWILIO_AUTH_TOKEN,
        Unset::Required(token_missing),
        |token| {
            // Never echo the value: only say what shape it should have.
            if token.chars().any(char::is_whitespace) {
                Err("contains spaces; copy the Auth Token again from the Twilio Console".to_owned())
            } else {
                Ok(Secret::from(token))
            }
        },
    );
    let from_number = fields.parse(
        vars::TWILIO_FROM_NUMBER,
        Unset::Required(number_missing),
        |number| validate_e164(&number).map(|()| number),
    );
    let api_base = fields.parse(
        vars::TWILIO_API_BASE,
        Unset::Default(DEFAULT_TWILIO_API_BASE.to_owned()),
        |raw| check_api_base(&raw),
    );

    if fields.found {
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

/// Returns the base URL without its trailing slash. The token travels as basic auth to this
/// base, so it must be https unless the server is on this machine, and it must not hold a
/// user name or password of its own. The messages are logged: they show the value with any
/// `user:password@` part redacted.
fn check_api_base(raw: &str) -> Result<String, String> {
    let shown = crate::secret::redact_url_userinfo(raw);
    let url = reqwest::Url::parse(raw)
        .map_err(|_| format!("'{shown}' is not a URL; the default is {DEFAULT_TWILIO_API_BASE}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "'{shown}' must be an https:// URL; the default is {DEFAULT_TWILIO_API_BASE}"
        ));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(format!(
            "'{shown}' must be a plain base URL without user, password, query or fragment, \
             e.g. {DEFAULT_TWILIO_API_BASE}"
        ));
    }
    // An IPv6 host comes bracketed ("[::1]").
    let host = url.host_str().unwrap_or_default();
    if url.scheme() == "http"
        && !is_loopback_host(host.trim_start_matches('[').trim_end_matches(']'))
    {
        return Err(format!(
            "'{shown}' is plain http to another machine, so the auth token would travel \
             unencrypted; use https:// (plain http only to a server on this machine), e.g. \
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

/// `localhost` or a loopback IP address: a relay on this machine.
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
