//! Small types that more than one Focus Sentry crate speaks of, each with one home: the store
//! keeps them, the notifier sends on them, the web layer shows them (as atuin keeps its
//! shared types in `atuin-common`).
//!
//! No dependencies beyond serde, so every crate can use it without pulling in another's.
//!
//! # Layout
//! - [`Channel`]: where a session summary is sent (email or SMS), with the names people read
//!   and the path of its setup guide.
//! - [`fatigue`]: eye counts ([`EyeCounts`]) and the one rule for blink rate and PERCLOS.
//! - [`time`]: the one RFC 3339 formatter for Unix-millisecond timestamps (the API, the
//!   summaries and the CSV export).

#![forbid(unsafe_code)]

pub mod fatigue;
pub mod time;

pub use fatigue::EyeCounts;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a session's summary is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An email, over SMTP.
    Email,
    /// A text message, through Twilio.
    Sms,
}

impl Channel {
    /// Every channel, in the order pages and logs list them.
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    /// `email` or `sms`: the text stored in the database, used in URLs and in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// The channel as a sentence names it: "email", "SMS".
    pub const fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "SMS",
        }
    }

    /// The channel at the start of a sentence or as a label: "Email", "SMS".
    pub const fn title(self) -> &'static str {
        match self {
            Channel::Email => "Email",
            Channel::Sms => "SMS",
        }
    }

    /// Where the server serves this channel's setup guide: `/help/email`, `/help/sms`.
    pub const fn help_path(self) -> &'static str {
        match self {
            Channel::Email => "/help/email",
            Channel::Sms => "/help/sms",
        }
    }
}

impl fmt::Display for Channel {
    /// As [`Channel::as_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that names no channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownChannel(pub String);

impl fmt::Display for UnknownChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown channel {:?} (email or sms)", self.0)
    }
}

impl std::error::Error for UnknownChannel {}

impl FromStr for Channel {
    type Err = UnknownChannel;

    /// Reads [`Channel::as_str`]'s text back, exactly (lower case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| UnknownChannel(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_other_text_is_refused() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(channel));
            assert_eq!(channel.to_string(), channel.as_str());
            let json = serde_json::to_string(&channel).expect("serializes");
            assert_eq!(json, format!("\"{}\"", channel.as_str()));
            assert_eq!(serde_json::from_str::<Channel>(&json).ok(), Some(channel));
        }
        for other in ["Email", "SMS", "text", ""] {
            assert_eq!(
                other.parse::<Channel>(),
                Err(UnknownChannel(other.to_owned()))
            );
        }
    }

    #[test]
    fn names_and_guides() {
        assert_eq!(
            Channel::ALL.map(|c| (c.name(), c.title(), c.help_path())),
            [
                ("email", "Email", "/help/email"),
                ("SMS", "SMS", "/help/sms")
            ]
        );
    }
}
