//! One frame's attention verdict ([`Attention`]) and why a user is not focused ([`Reason`]).
//!
//! These mirror the vision crate's verdict on purpose (same wire names), but this crate
//! does not depend on it: the web layer maps a `FrameAnalysis` to an [`Attention`]. The
//! clock adds one reason of its own, [`Reason::NoSignal`], for time with no frames. A focused
//! verdict may name an extra zone ([`Attention::FocusedOn`]): focused, but on "notes" rather
//! than the screen.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::zone::ZoneId;

/// Why the user is not focused.
///
/// Serialised in `snake_case` (`"no_face"`, `"eyes_closed"`, `"looking_away"`,
/// `"no_signal"`), the same text as [`Reason::as_str`] and [`fmt::Display`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No face in the frame.
    NoFace,
    /// A face is there but the eyes are closed.
    EyesClosed,
    /// The head or the gaze is turned away from the screen.
    LookingAway,
    /// No frame arrived for longer than
    /// [`ClockParams::no_signal_after_ms`](crate::ClockParams::no_signal_after_ms).
    /// Set by the clock itself; a frame verdict normally never carries it.
    NoSignal,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 4] = [
        Reason::NoFace,
        Reason::EyesClosed,
        Reason::LookingAway,
        Reason::NoSignal,
    ];

    /// The wire name, as in JSON and in the store: `no_face`, `eyes_closed`,
    /// `looking_away`, `no_signal`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::NoFace => "no_face",
            Reason::EyesClosed => "eyes_closed",
            Reason::LookingAway => "looking_away",
            Reason::NoSignal => "no_signal",
        }
    }

    /// Position in [`Reason::ALL`]; used to index per-reason tallies.
    pub(crate) const fn index(self) -> usize {
        match self {
            Reason::NoFace => 0,
            Reason::EyesClosed => 1,
            Reason::LookingAway => 2,
            Reason::NoSignal => 3,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the wire names of [`Reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownReason(pub String);

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown unfocus reason {:?}", self.0)
    }
}

impl std::error::Error for UnknownReason {}

impl FromStr for Reason {
    type Err = UnknownReason;

    /// Parses a wire name (exactly as [`Reason::as_str`] writes it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == s)
            .ok_or_else(|| UnknownReason(s.to_owned()))
    }
}

/// An attention state: one frame's verdict, or the clock's debounced state.
///
/// Serialised adjacently tagged: `{"state":"focused"}`,
/// `{"state":"focused_on","reason":0}` (the zone's number) or
/// `{"state":"unfocused","reason":"looking_away"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Attention {
    /// Looking at the screen.
    Focused,
    /// Focused, on one of the session's extra zones ("notes") rather than the screen.
    FocusedOn(ZoneId),
    /// Not looking at the screen, for this reason.
    Unfocused(Reason),
}

impl Attention {
    /// `true` for [`Attention::Focused`] and [`Attention::FocusedOn`].
    pub const fn is_focused(self) -> bool {
        matches!(self, Attention::Focused | Attention::FocusedOn(_))
    }

    /// The reason when unfocused, `None` when focused.
    pub const fn reason(self) -> Option<Reason> {
        match self {
            Attention::Focused | Attention::FocusedOn(_) => None,
            Attention::Unfocused(reason) => Some(reason),
        }
    }

    /// The zone when focused on one, `None` on the screen or unfocused.
    pub const fn zone(self) -> Option<ZoneId> {
        match self {
            Attention::FocusedOn(zone) => Some(zone),
            Attention::Focused | Attention::Unfocused(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_text_round_trips_through_as_str_and_from_str() {
        let cases = [
            (Reason::NoFace, "no_face"),
            (Reason::EyesClosed, "eyes_closed"),
            (Reason::LookingAway, "looking_away"),
            (Reason::NoSignal, "no_signal"),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.as_str(), text);
            assert_eq!(reason.to_string(), text);
            assert_eq!(text.parse::<Reason>(), Ok(reason));
            assert_eq!(Reason::ALL[reason.index()], reason);
        }
        assert_eq!(
            "NoFace".parse::<Reason>(),
            Err(UnknownReason("NoFace".to_owned()))
        );
    }

    #[test]
    fn attention_accessors() {
        assert!(Attention::Focused.is_focused());
        assert_eq!(Attention::Focused.reason(), None);
        let away = Attention::Unfocused(Reason::LookingAway);
        assert!(!away.is_focused());
        assert_eq!(away.reason(), Some(Reason::LookingAway));
        assert_eq!(away.zone(), None);
        let notes = ZoneId::new(0).map(Attention::FocusedOn);
        assert!(notes.is_some_and(Attention::is_focused));
        assert_eq!(notes.and_then(Attention::reason), None);
        assert_eq!(notes.and_then(Attention::zone), ZoneId::new(0));
    }
}
