//! Sends summaries by email over SMTP with lettre's tokio transport.
//!
//! One connection per email (no pool: a session ends every 25 minutes or so,
//! and an idle pooled connection would only time out on the server).
//! Security follows [`SmtpSecurity`]: STARTTLS is *required* in
//! `StartTls` mode, so a server or a middlebox that hides the STARTTLS
//! capability makes the send fail instead of silently going out in plain
//! text. Certificates are checked against the operating system's roots
//! (rustls-platform-verifier, the same verifier reqwest uses for Twilio),
//! plus `extra_root_cert_pem` if set.
//!
//! lettre's async transport applies its timeout to the TCP connect only, so
//! the whole exchange is wrapped in [`tokio::time::timeout`] as well: a
//! server that accepts the connection and then says nothing cannot hold a
//! delivery task forever.

use std::fmt;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::address::check_mailbox;
use crate::config::is_loopback_host;
use crate::error::{certificate_problem, chain_message, has_io_kind};
use crate::secret::Scrubber;
use crate::{EmailConfig, RenderedEmail, SendError, SmtpSecurity, SummaryMessage, render_email};

/// Display name used when `from` is a bare address.
const DEFAULT_FROM_NAME: &str = "Focus Sentry";

/// Sends summary emails through one configured SMTP server.
///
/// Cheap to share: wrap it in an `Arc` and call [`EmailSender::send`] from
/// any task; each call opens its own connection.
pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// "host:port (mode)", for messages.
    server: String,
    timeout: Duration,
    /// Removes the password, in every form a server could echo it (AUTH
    /// PLAIN and LOGIN blobs included), from error messages.
    scrubber: Scrubber,
}

impl fmt::Debug for EmailSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSender")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EmailSender {
    /// Prepares a sender. Fails (with a [`crate::ErrorKind::Permanent`]
    /// error) when the sender address or the extra root certificate is
    /// invalid, or when TLS cannot be set up (e.g. the system has no CA
    /// certificates at all). Installs the rustls crypto provider if none is.
    pub fn new(config: EmailConfig) -> Result<Self, SendError> {
        crate::install_crypto_provider();

        check_mailbox(&config.from)
            .map_err(|why| SendError::permanent(format!("sender address: {why}")))?;
        let mut from: Mailbox = config.from.parse().map_err(|_| {
            SendError::permanent(format!("sender address '{}' is not valid", config.from))
        })?;
        if from.name.is_none() {
            from.name = Some(DEFAULT_FROM_NAME.to_owned());
        }

        // The same rule as the config parser, for configs built in code:
        // neither a password nor a summary (the user's own figures and
        // address) crosses the network unencrypted.
        if config.security == SmtpSecurity::Plain && !is_loopback_host(&config.host) {
            let what = if config.username.is_some() {
                "the SMTP password and the summaries"
            } else {
                "the summaries"
            };
            return Err(SendError::permanent(format!(
                "refusing to send {what} unencrypted to {}; use TLS, or plain SMTP only to a \
                 relay on this machine",
                config.host
            )));
        }

        let tls = match config.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(&config)?),
            SmtpSecurity::ImplicitTls => Tls::Wrapper(tls_parameters(&config)?),
        };

        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
                .port(config.port)
                .tls(tls)
                .timeout(Some(config.timeout));
        let mut scrubber = Scrubber::new();
        if let Some(username) = &config.username {
            let password = config
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            scrubber = scrubber.with_credential(username, &password);
            builder = builder
                .credentials(Credentials::new(username.clone(), password))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }

        Ok(Self {
            transport: builder.build(),
            from,
            server: format!("{}:{} ({})", config.host, config.port, config.security),
            timeout: config.timeout,
            scrubber,
        })
    }

    /// Sends the summary of a session to `to` (a bare address), as a
    /// multipart/alternative email with a plain-text and an HTML part.
    pub async fn send(&self, to: &str, msg: &SummaryMessage) -> Result<(), SendError> {
        self.send_rendered(to, &render_email(msg)).await
    }

    /// Sends an already rendered email, e.g. a "test settings" message.
    ///
    /// Every error is scrubbed of the password in all its forms on the way
    /// out, whichever step failed.
    pub async fn send_rendered(&self, to: &str, email: &RenderedEmail) -> Result<(), SendError> {
        self.try_send(to, email)
            .await
            .map_err(|e| e.scrubbed(&self.scrubber))
    }

    async fn try_send(&self, to: &str, email: &RenderedEmail) -> Result<(), SendError> {
        crate::validate_email(to)
            .map_err(|why| SendError::permanent(format!("recipient: {why}")))?;
        let to_mailbox: Mailbox = to.parse().map_err(|_| {
            SendError::permanent(format!("recipient '{to}' is not a valid email address"))
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to_mailbox)
            .subject(email.subject.as_str())
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("could not build the email: {e}")))?;

        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_response)) => {
                tracing::debug!(server = %self.server, "email accepted by SMTP server");
                Ok(())
            }
            Ok(Err(err)) => Err(self.classify(&err)),
            Err(_elapsed) => Err(SendError::transient(format!(
                "the mail server {} did not finish within {} s",
                self.server,
                self.timeout.as_secs_f64()
            ))),
        }
    }

    /// Maps a lettre error to retry-or-not and a sentence.
    fn classify(&self, err: &lettre::transport::smtp::Error) -> SendError {
        let server = &self.server;
        // lettre's own Display prefixes a category ("internal client
        // error", "permanent error (535)"); the cause below it reads better.
        let detail = match std::error::Error::source(err) {
            Some(source) => chain_message(source),
            None => chain_message(err),
        };
        if let Some(code) = err.status() {
            let code_num = code.to_string();
            let reply = format!("{code_num} {detail}");
            if err.is_transient() {
                return SendError::transient(format!(
                    "the mail server {server} asked to try again later: {reply}"
                ));
            }
            let hint = match code_num.as_str() {
                "535" => {
                    " Check FOCUS_SMTP_USERNAME and FOCUS_SMTP_PASSWORD; for Gmail the \
                     password must be a 16-letter app password, not your Google password."
                }
                "534" => {
                    " The provider wants an app password (Gmail: Google Account > Security > App passwords)."
                }
                "530" => {
                    " The server wants a login or STARTTLS first; check FOCUS_SMTP_USERNAME and FOCUS_SMTP_USE_TLS."
                }
                "550" | "551" | "553" => {
                    " Check the recipient address and FOCUS_EMAIL_FROM (many providers only send from your own address)."
                }
                _ => "",
            };
            let what = if code_num == "535" {
                "rejected the login"
            } else {
                "refused the email"
            };
            return SendError::permanent(format!(
                "the mail server {server} {what}: {reply}.{hint}"
            ));
        }
        if let Some(problem) = certificate_problem(err) {
            return SendError::permanent(format!(
                "the mail server {server} has a TLS certificate this computer does not trust \
                 ({problem}); check FOCUS_SMTP_HOST, or set FOCUS_SMTP_CA_CERT for a relay \
                 with its own certificate"
            ));
        }
        if err.is_timeout() || has_io_kind(err, std::io::ErrorKind::TimedOut) {
            return SendError::transient(format!(
                "connecting to the mail server {server} timed out"
            ));
        }
        if has_io_kind(err, std::io::ErrorKind::ConnectionRefused) {
            return SendError::transient(format!(
                "the mail server {server} refused the connection (is it running, and are \
                 FOCUS_SMTP_HOST and FOCUS_SMTP_PORT right?)"
            ));
        }
        if err.is_client() {
            // lettre's own checks: STARTTLS not offered, no common AUTH
            // mechanism, a bad address. Retrying changes nothing.
            let hint = if detail.contains("STARTTLS") {
                " Use port 465 for implicit TLS, or FOCUS_SMTP_USE_TLS=false for a local relay."
            } else if detail.contains("authentication mechanism") {
                " The server offers no login over this connection; check the port and FOCUS_SMTP_USE_TLS."
            } else {
                ""
            };
            return SendError::permanent(format!(
                "sending through {server} failed: {detail}.{hint}"
            ));
        }
        // Connection, network and TLS-handshake failures, unparsable
        // replies, a shut-down transport: the network or server may recover.
        SendError::transient(format!(
            "sending through the mail server {server} failed: {detail}"
        ))
    }
}

/// TLS parameters for the configured host, trusting the system's roots plus
/// any extra PEM certificates.
fn tls_parameters(config: &EmailConfig) -> Result<TlsParameters, SendError> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(pem) = &config.extra_root_cert_pem {
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            return Err(SendError::permanent(
                "the extra CA certificate (FOCUS_SMTP_CA_CERT) contains no PEM certificate",
            ));
        }
        let cert = Certificate::from_pem(pem).map_err(|e| {
            SendError::permanent(format!(
                "the extra CA certificate (FOCUS_SMTP_CA_CERT) could not be read: {e}"
            ))
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| {
        SendError::permanent(format!(
            "could not set up TLS for the mail server: {}",
            chain_message(&e)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invalid_sender_or_recipient_is_permanent() {
        let err = EmailSender::new(EmailConfig::new("localhost", 2525, "nobody"))
            .expect_err("sender without @");
        assert_eq!(err.kind, crate::ErrorKind::Permanent);
        assert!(err.message.contains("sender address"), "{err}");

        let mut config = EmailConfig::new("localhost", 2525, "me@example.com");
        config.security = SmtpSecurity::Plain;
        let sender = EmailSender::new(config).expect("valid config");
        let err = sender
            .send_rendered(
                "not an address",
                &RenderedEmail {
                    subject: "s".into(),
                    text: "t".into(),
                    html: "h".into(),
                },
            )
            .await
            .expect_err("bad recipient");
        assert_eq!(err.kind, crate::ErrorKind::Permanent);
        assert!(err.message.starts_with("recipient:"), "{err}");
    }

    #[test]
    fn plain_login_to_a_remote_host_is_refused() {
        let mut config = EmailConfig::new("smtp.example.com", 25, "me@example.com");
        config.security = SmtpSecurity::Plain;
        config.username = Some("me@example.com".into());
        config.password = Some(crate::Secret::new("pw-SECRET"));
        let err = EmailSender::new(config.clone()).expect_err("plain login to remote");
        assert_eq!(err.kind, crate::ErrorKind::Permanent);
        assert!(!err.message.contains("SECRET"), "{err}");
        config.host = "127.0.0.1".into();
        assert!(EmailSender::new(config).is_ok());
    }

    #[test]
    fn plain_smtp_to_a_remote_host_is_refused_even_without_a_login() {
        let mut config = EmailConfig::new("smtp.example.com", 25, "me@example.com");
        config.security = SmtpSecurity::Plain;
        let err = EmailSender::new(config.clone()).expect_err("plain SMTP to remote");
        assert_eq!(err.kind, crate::ErrorKind::Permanent);
        assert!(err.message.contains("unencrypted"), "{err}");
        for local in ["localhost", "127.0.0.1", "::1"] {
            config.host = local.into();
            assert!(EmailSender::new(config.clone()).is_ok(), "{local}");
        }
    }

    #[test]
    fn garbage_extra_root_cert_is_rejected_up_front() {
        let mut config = EmailConfig::new("localhost", 2525, "me@example.com");
        config.extra_root_cert_pem = Some(b"not a certificate".to_vec());
        let err = EmailSender::new(config).expect_err("bad PEM");
        assert_eq!(err.kind, crate::ErrorKind::Permanent);
        assert!(err.message.contains("no PEM certificate"), "{err}");
    }
}
