//! The one error a send can end in, and whether trying again may help.
//!
//! The orchestrator (the app's delivery queue) only needs [`ErrorKind`]:
//! retry a [`ErrorKind::Transient`] error after [`crate::RetryPolicy`]'s delay,
//! give up on a [`ErrorKind::Permanent`] one and show its message to the user.

use std::error::Error as StdError;

use crate::secret::{Scrubber, redact_url_userinfo};

/// Whether a failed send is worth repeating unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// May succeed later without any change: connection refused or reset,
    /// timeouts, HTTP 5xx and 429, SMTP 4xx replies.
    Transient,
    /// Will fail again until someone changes the configuration or the
    /// recipient: bad credentials (SMTP 535, HTTP 401/403), a rejected
    /// address, an untrusted certificate, HTTP 400/404, SMTP 5xx replies.
    Permanent,
}

/// A send that did not go through.
///
/// `message` is a sentence for a person (it is shown on the history page and
/// logged). It never contains a password or token: the senders scrub every
/// form of their credentials from it (raw, percent-encoded, base64 of any
/// blob that holds them, see [`Scrubber`]) and the user-info of any URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Retry or give up.
    pub kind: ErrorKind,
    /// What went wrong, in plain words.
    pub message: String,
}

impl SendError {
    /// An error worth retrying.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Transient,
            message: message.into(),
        }
    }

    /// An error that needs a person to change something first.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Permanent,
            message: message.into(),
        }
    }

    /// True for [`ErrorKind::Transient`].
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    /// Replaces every form of the sender's credentials in the message with
    /// `[redacted]` (see [`Scrubber`]), and the user-info part of any URL.
    pub(crate) fn scrubbed(mut self, scrubber: &Scrubber) -> Self {
        self.message = redact_url_userinfo(&scrubber.scrub(&self.message));
        self
    }
}

/// Walks an error's `source()` chain and joins the distinct messages with
/// ": ", so "error sending request" is followed by the cause that matters
/// ("Connection refused").
pub(crate) fn chain_message(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        // Wrappers often repeat their source's text; keep each piece once.
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Finds a value of type `T` anywhere in an error's chain, looking inside
/// `std::io::Error`s too (their `source()` skips the wrapped error itself,
/// which is where tokio-rustls puts its `rustls::Error`).
pub(crate) fn find_in_chain<'a, T: StdError + 'static>(
    err: &'a (dyn StdError + 'static),
) -> Option<&'a T> {
    let mut current: Option<&'a (dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(found) = find_in_chain::<T>(inner)
        {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// True when the chain holds an `std::io::Error` of the given kind.
pub(crate) fn has_io_kind(err: &(dyn StdError + 'static), kind: std::io::ErrorKind) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == kind {
                return true;
            }
            if io.get_ref().is_some_and(|inner| has_io_kind(inner, kind)) {
                return true;
            }
        }
        current = e.source();
    }
    false
}

/// Describes a certificate problem found in the chain, if there is one: the
/// server is reachable but not trusted, which retrying will not fix.
pub(crate) fn certificate_problem(err: &(dyn StdError + 'static)) -> Option<String> {
    match find_in_chain::<rustls::Error>(err)? {
        e @ (rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType) => Some(e.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_secrets_and_url_credentials() {
        let err = SendError::permanent("535 bad: hunter22 / aHVudGVyMjI= / http://u:p@h/ / a");
        let scrubbed = err.scrubbed(&Scrubber::new().with_credential("me", "hunter22"));
        assert_eq!(
            scrubbed.message,
            "535 bad: [redacted] / [redacted] / http://[redacted]@h/ / a"
        );
        assert_eq!(scrubbed.kind, ErrorKind::Permanent);
    }

    #[test]
    fn chain_skips_repeated_text() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let outer = Outer(io);
        assert_eq!(chain_message(&outer), "outer: refused");
        assert!(has_io_kind(&outer, std::io::ErrorKind::ConnectionRefused));
        assert!(!has_io_kind(&outer, std::io::ErrorKind::TimedOut));
    }

    #[test]
    fn finds_rustls_error_inside_io_error() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        assert!(certificate_problem(&io).is_some());
        let other = std::io::Error::other("nope");
        assert!(certificate_problem(&other).is_none());
    }
}
