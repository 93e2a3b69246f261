//! Session summaries by email and SMS.
//!
//! When a focus session ends, the app renders its [`SummaryMessage`] and
//! hands it to an [`EmailSender`] (SMTP, via lettre) and/or an [`SmsSender`]
//! (Twilio's REST API, via reqwest). Every endpoint (SMTP host and port,
//! Twilio base URL) comes from configuration, so tests point the senders at
//! servers on loopback.
//!
//! A failed send is a [`SendError`] whose [`ErrorKind`] says whether trying
//! again can help; [`RetryPolicy`] says when. Queueing and the background
//! task belong to the app.
//!
//! # Layout
//!
//! - [`config`]: [`NotifyConfig::from_lookup`] parses `FOCUS_SMTP_*`,
//!   `FOCUS_EMAIL_FROM` and `TWILIO_*` through a lookup closure (this crate
//!   never reads the environment).
//! - [`address`]: [`validate_email`] and [`validate_e164`], shared by the
//!   configuration and the app's settings form.
//! - [`message`]: [`render_email`] and [`render_sms`], pure.
//! - [`email`]: [`EmailSender`], SMTP with STARTTLS / implicit TLS / plain.
//! - [`sms`]: [`SmsSender`], `POST …/Accounts/{sid}/Messages.json`.
//! - [`error`]: [`SendError`] and its transient/permanent classification.
//! - [`retry`]: [`RetryPolicy`], exponential backoff.
//! - [`secret`]: [`Secret`], a string that formats as `[redacted]`;
//!   [`Scrubber`], which removes every form of a credential from error
//!   messages; [`redact_url_userinfo`] for URLs that are logged.
//! - [`tls`]: [`install_crypto_provider`], one rustls provider (`ring`) for
//!   lettre and reqwest.
//!
//! Test servers (an ESMTP server with STARTTLS and AUTH, a Twilio-shaped
//! HTTP server) live in the `focus-test-support` dev-dependency
//! (crates/test-support), shared with the app's tests.

#![forbid(unsafe_code)]

pub mod address;
pub mod config;
pub mod email;
pub mod error;
pub mod message;
pub mod retry;
pub mod secret;
pub mod sms;
pub mod tls;

pub use address::{validate_e164, validate_email};
pub use config::{Channel, ConfigProblem, EmailConfig, NotifyConfig, SmsConfig, SmtpSecurity};
pub use email::EmailSender;
pub use error::{ErrorKind, SendError};
pub use message::{
    RenderedEmail, SummaryMessage, ZoneFocus, format_duration, render_email, render_sms,
};
pub use retry::RetryPolicy;
pub use secret::{REDACTED, Scrubber, Secret, redact_url_userinfo};
pub use sms::SmsSender;
pub use tls::install_crypto_provider;
