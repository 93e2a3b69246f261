//! Sends summaries by SMS through Twilio's Messages API.
//!
//! One request per message:
//! `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with the
//! form fields `To`, `From` and `Body`, authenticated with HTTP basic auth
//! (Account SID, Auth Token). Twilio answers 201 with the message resource;
//! errors come as JSON `{"code": 21608, "message": "...", "more_info": "..."}`,
//! which is turned into the error message.
//!
//! Redirects are not followed (a redirect would mean a wrong
//! `TWILIO_API_BASE`, and credentials must not be replayed elsewhere).

use std::fmt;
use std::time::Duration;

use reqwest::{StatusCode, Url};

use crate::config::is_loopback_host;
use crate::error::{certificate_problem, chain_message};
use crate::secret::{Scrubber, redact_url_userinfo};
use crate::{Secret, SendError, SmsConfig, SummaryMessage, render_sms, validate_e164};

/// Sends summary SMS through one Twilio account.
///
/// Cheap to share: wrap it in an `Arc`; the inner HTTP client keeps
/// connections alive between sends.
pub struct SmsSender {
    client: reqwest::Client,
    url: Url,
    account_sid: String,
    auth_token: Secret,
    from_number: String,
    timeout: Duration,
    /// Removes the token, in every form, from error messages.
    scrubber: Scrubber,
}

impl fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsSender")
            .field("url", &redact_url_userinfo(self.url.as_str()))
            .field("auth_token", &self.auth_token)
            .field("from_number", &self.from_number)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The parts of Twilio's error body we show.
#[derive(serde::Deserialize)]
struct TwilioError {
    code: Option<u64>,
    message: Option<String>,
}

impl SmsSender {
    /// Prepares a sender. Fails (with a [`crate::ErrorKind::Permanent`]
    /// error) when `api_base` is not an http(s) URL or the HTTP client cannot
    /// be built (e.g. the system has no CA certificates). Installs the rustls
    /// crypto provider if none is.
    pub fn new(config: SmsConfig) -> Result<Self, SendError> {
        crate::install_crypto_provider();

        // The base as it may be shown: never with a user name or password.
        let shown = redact_url_userinfo(&config.api_base);
        let mut url = Url::parse(&config.api_base).map_err(|_| {
            SendError::permanent(format!("the Twilio API base '{shown}' is not a URL"))
        })?;
        check_api_base(&url, &shown)?;
        // Pushing segments percent-encodes the SID and keeps any path prefix
        // of the base URL.
        url.path_segments_mut()
            .map_err(|()| {
                SendError::permanent(format!("the Twilio API base '{shown}' cannot have a path"))
            })?
            .pop_if_empty()
            .extend([
                "2010-04-01",
                "Accounts",
                config.account_sid.as_str(),
                "Messages.json",
            ]);

        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("focus-sentry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                SendError::permanent(format!(
                    "could not set up the HTTP client for Twilio: {}",
                    chain_message(&e)
                ))
            })?;

        let scrubber =
            Scrubber::new().with_credential(&config.account_sid, config.auth_token.expose());
        Ok(Self {
            client,
            url,
            scrubber,
            account_sid: config.account_sid,
            auth_token: config.auth_token,
            from_number: config.from_number,
            timeout: config.timeout,
        })
    }

    /// Sends the summary of a session to `to` (E.164).
    pub async fn send(&self, to: &str, msg: &SummaryMessage) -> Result<(), SendError> {
        self.send_text(to, &render_sms(msg)).await
    }

    /// Sends any text, e.g. a "test settings" message.
    ///
    /// Every error is scrubbed of the token in all its forms (an endpoint
    /// that echoes the `Authorization` header sends back base64 of
    /// `SID:token`) on the way out, whichever step failed.
    pub async fn send_text(&self, to: &str, body: &str) -> Result<(), SendError> {
        self.try_send(to, body)
            .await
            .map_err(|e| e.scrubbed(&self.scrubber))
    }

    async fn try_send(&self, to: &str, body: &str) -> Result<(), SendError> {
        validate_e164(to).map_err(|why| SendError::permanent(format!("recipient: {why}")))?;
        let response = self
            .client
            .post(self.url.clone())
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&[
                ("To", to),
                ("From", self.from_number.as_str()),
                ("Body", body),
            ])
            .send()
            .await
            .map_err(|e| self.classify_transport(&e))?;

        let status = response.status();
        if status.is_success() {
            tracing::debug!(%status, "Twilio accepted the SMS");
            return Ok(());
        }
        // The body only improves the message; a failure to read it is not
        // the error to report.
        let body = response.text().await.unwrap_or_default();
        Err(classify_status(status, &body))
    }

    fn classify_transport(&self, err: &reqwest::Error) -> SendError {
        let host = self.url.host_str().unwrap_or("Twilio");
        let origin = self.url.origin().ascii_serialization();
        if let Some(problem) = certificate_problem(err) {
            return SendError::permanent(format!(
                "{origin} has a TLS certificate this computer does not trust ({problem}); \
                 check TWILIO_API_BASE"
            ));
        }
        if err.is_timeout() {
            return SendError::transient(format!(
                "{host} did not answer within {} s",
                self.timeout.as_secs_f64()
            ));
        }
        if err.is_connect() {
            return SendError::transient(format!("could not connect to {origin}: {}", cause(err)));
        }
        if err.is_builder() {
            return SendError::permanent(format!(
                "could not build the request to {origin}: {}",
                cause(err)
            ));
        }
        SendError::transient(format!("the request to {origin} failed: {}", cause(err)))
    }
}

/// The same rules as the config parser, for configs built in code: an
/// http(s) URL without a user name or password (the credentials are the SID
/// and the token, sent as basic auth), and https unless the server is on
/// this machine, so the token never crosses the network in clear.
fn check_api_base(url: &Url, shown: &str) -> Result<(), SendError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SendError::permanent(format!(
            "the Twilio API base '{shown}' must be an https:// URL"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SendError::permanent(format!(
            "the Twilio API base '{shown}' must not hold a user name or password; the \
             account is given by TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        )));
    }
    // An IPv6 host comes bracketed ("[::1]").
    let host = url.host_str().unwrap_or_default();
    let loopback = is_loopback_host(host.trim_start_matches('[').trim_end_matches(']'));
    if url.scheme() == "http" && !loopback {
        return Err(SendError::permanent(format!(
            "the Twilio API base '{shown}' is plain http to another machine, so the auth \
             token would travel unencrypted; use https:// (plain http is only allowed to a \
             server on this machine)"
        )));
    }
    Ok(())
}

/// The cause behind a reqwest error, without reqwest's own "error sending
/// request for url (...)" prefix, which repeats the URL.
fn cause(err: &reqwest::Error) -> String {
    match std::error::Error::source(err) {
        Some(source) => chain_message(source),
        None => err.to_string(),
    }
}

/// Maps a non-2xx Twilio answer to retry-or-not and a sentence.
fn classify_status(status: StatusCode, body: &str) -> SendError {
    let twilio: Option<TwilioError> = serde_json::from_str(body).ok();
    let code = twilio.as_ref().and_then(|t| t.code);
    let said = match (&twilio, code) {
        (
            Some(TwilioError {
                message: Some(m), ..
            }),
            Some(c),
        ) => format!(" (error {c}: {m})"),
        (
            Some(TwilioError {
                message: Some(m), ..
            }),
            None,
        ) => format!(" ({m})"),
        _ => String::new(),
    };
    let hint = match (status.as_u16(), code) {
        (401, _) | (_, Some(20003)) => {
            " Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (Twilio Console > Account Info)."
        }
        (_, Some(21608)) => {
            " Trial accounts can only text verified numbers: add it under Phone Numbers > \
             Verified Caller IDs, or upgrade the account."
        }
        (_, Some(21211)) => " Check the recipient number (E.164, e.g. +14155550123).",
        (_, Some(21606 | 21659 | 21212)) => {
            " Check TWILIO_FROM_NUMBER: it must be a number of your Twilio account."
        }
        (404, _) => " Check TWILIO_ACCOUNT_SID and TWILIO_API_BASE.",
        _ => "",
    };
    let text = format!("Twilio answered HTTP {status}{said}.{hint}");
    let transient = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    if transient {
        SendError::transient(text)
    } else {
        SendError::permanent(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn statuses_are_classified() {
        let cases = [
            (400, ErrorKind::Permanent),
            (401, ErrorKind::Permanent),
            (403, ErrorKind::Permanent),
            (404, ErrorKind::Permanent),
            (302, ErrorKind::Permanent),
            (408, ErrorKind::Transient),
            (429, ErrorKind::Transient),
            (500, ErrorKind::Transient),
            (503, ErrorKind::Transient),
        ];
        for (code, kind) in cases {
            let status = StatusCode::from_u16(code).expect("valid status");
            assert_eq!(classify_status(status, "").kind, kind, "HTTP {code}");
        }
    }

    #[test]
    fn twilio_error_body_becomes_the_message() {
        let body = r#"{"code": 21608, "message": "The number +15558675310 is unverified.",
                      "more_info": "https://www.twilio.com/docs/errors/21608", "status": 400}"#;
        let err = classify_status(StatusCode::BAD_REQUEST, body);
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(
            err.message.starts_with(
                "Twilio answered HTTP 400 Bad Request (error 21608: The number +15558675310 is unverified.)."
            ),
            "{err}"
        );
        assert!(err.message.contains("Verified Caller IDs"), "{err}");
        let err = classify_status(StatusCode::UNAUTHORIZED, "not json");
        assert!(err.message.contains("TWILIO_AUTH_TOKEN"), "{err}");
    }

    #[test]
    fn url_is_built_under_the_base() {
        let mut config =
            SmsConfig::new("AC0123456789abcdef0123456789abcdef", "tok", "+15017122661");
        config.api_base = "http://127.0.0.1:9/prefix/".into();
        let sender = SmsSender::new(config).expect("sender");
        assert_eq!(
            sender.url.as_str(),
            "http://127.0.0.1:9/prefix/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        );
        assert!(!format!("{sender:?}").contains("tok\""));
    }

    #[test]
    fn the_api_base_must_be_https_unless_local_and_hold_no_credentials() {
        let build = |base: &str| {
            let mut config = SmsConfig::new(
                "AC0123456789abcdef0123456789abcdef",
                "tok-secret",
                "+15017122661",
            );
            config.api_base = base.into();
            SmsSender::new(config)
        };
        for local in [
            "http://127.0.0.1:9",
            "http://localhost:9/x",
            "http://[::1]:9",
            "https://api.twilio.com",
            "https://proxy.example.com/twilio",
        ] {
            assert!(build(local).is_ok(), "{local}");
        }
        for (remote, says) in [
            ("http://api.twilio.com", "unencrypted"),
            ("http://192.168.1.20:8080", "unencrypted"),
            ("ftp://api.twilio.com", "https://"),
            (
                "https://user:hunter22@proxy.example.com",
                "user name or password",
            ),
        ] {
            let err = build(remote).expect_err(remote);
            assert_eq!(err.kind, ErrorKind::Permanent);
            assert!(err.message.contains(says), "{remote}: {err}");
            assert!(!err.message.contains("hunter22"), "{err}");
        }
    }
}
