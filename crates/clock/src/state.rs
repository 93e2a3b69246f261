//! What the clock counts a stretch of time as: [`ClockState`].
//!
//! A frame's verdict is an [`Attention`] (focused, or unfocused with a reason). The clock
//! knows three more states in which no verdict applies: [`ClockState::Starting`] (no verdict
//! yet), [`ClockState::Paused`] (the user paused the session) and [`ClockState::Offline`]
//! (the server was down). Time in those is neither focused nor unfocused; each has its own
//! total.

use serde::{Deserialize, Serialize};

use crate::attention::{Attention, Reason};

/// The state of the clock over a stretch of time.
///
/// Serialised adjacently tagged, like [`Attention`] for the two judged states:
/// `{"state":"starting"}`, `{"state":"focused"}`,
/// `{"state":"unfocused","reason":"looking_away"}`, `{"state":"paused"}`,
/// `{"state":"offline"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum ClockState {
    /// No verdict yet: from the session start, and from each resume, until the frames
    /// have settled on one (see `docs/focus-clock.md`, rule 2).
    Starting,
    /// Looking at the screen.
    Focused,
    /// Not looking at the screen, for this reason (`no_signal` when frames stopped).
    Unfocused(Reason),
    /// The user paused the session.
    Paused,
    /// The server was not running (between an interruption and the session's resume).
    /// Only ever a closed stretch: a running clock is never offline.
    Offline,
}

impl ClockState {
    /// The wire name of the state, without the reason: `starting`, `focused`,
    /// `unfocused`, `paused`, `offline`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClockState::Starting => "starting",
            ClockState::Focused => "focused",
            ClockState::Unfocused(_) => "unfocused",
            ClockState::Paused => "paused",
            ClockState::Offline => "offline",
        }
    }

    /// `true` for [`ClockState::Focused`].
    pub const fn is_focused(self) -> bool {
        matches!(self, ClockState::Focused)
    }

    /// The reason when unfocused, `None` otherwise.
    pub const fn reason(self) -> Option<Reason> {
        match self {
            ClockState::Unfocused(reason) => Some(reason),
            _ => None,
        }
    }

    /// The attention this state judges (on the screen when focused), `None` for the states
    /// without a verdict.
    pub const fn attention(self) -> Option<Attention> {
        match self {
            ClockState::Focused => Some(Attention::Focused),
            ClockState::Unfocused(reason) => Some(Attention::Unfocused(reason)),
            ClockState::Starting | ClockState::Paused | ClockState::Offline => None,
        }
    }
}

impl From<Attention> for ClockState {
    fn from(attention: Attention) -> Self {
        match attention {
            // The zone is a part of the focused state the clock keeps beside it.
            Attention::Focused | Attention::FocusedOn(_) => ClockState::Focused,
            Attention::Unfocused(reason) => ClockState::Unfocused(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_and_conversion() {
        let away = ClockState::Unfocused(Reason::LookingAway);
        assert_eq!(ClockState::from(Attention::Focused), ClockState::Focused);
        assert_eq!(
            ClockState::from(Attention::Unfocused(Reason::LookingAway)),
            away
        );
        assert_eq!(away.reason(), Some(Reason::LookingAway));
        assert_eq!(
            away.attention(),
            Some(Attention::Unfocused(Reason::LookingAway))
        );
        assert!(ClockState::Focused.is_focused());
        for state in [
            ClockState::Starting,
            ClockState::Paused,
            ClockState::Offline,
        ] {
            assert!(!state.is_focused());
            assert_eq!(state.reason(), None);
            assert_eq!(state.attention(), None);
        }
        assert_eq!(
            [
                ClockState::Starting,
                ClockState::Focused,
                away,
                ClockState::Paused,
                ClockState::Offline
            ]
            .map(ClockState::as_str),
            ["starting", "focused", "unfocused", "paused", "offline"]
        );
    }
}
