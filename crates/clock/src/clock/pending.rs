//! The debounce: a run of consecutive frames agreeing on a change ([`Pending`]), and what
//! that change would be ([`Candidate`]). The clock acts on a run once it is
//! [`complete`](Pending::complete).

use crate::attention::Reason;
use crate::params::MIN_FLIP_FRAMES;
use crate::zone::ZoneId;

/// What a run of frames is trying to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Candidate {
    /// Unfocused -> focused.
    Focus,
    /// Focused -> unfocused, whatever the reasons in the run (the last one wins).
    Unfocus,
    /// Unfocused with another reason -> unfocused with this one.
    Reason(Reason),
    /// Focused -> focused on another zone (`None`: the screen).
    Zone(Option<ZoneId>),
    /// Waiting for the signal -> the verdict of the frame that completes the run, whatever
    /// the verdicts in it.
    Settle,
}

/// A run of consecutive frames agreeing on a [`Candidate`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    pub(super) candidate: Candidate,
    /// Effective time of the first frame of the run.
    pub(super) first_ms: u64,
    /// Effective time of the latest frame of the run.
    pub(super) last_ms: u64,
    pub(super) frames: u32,
}

impl Pending {
    pub(super) fn new(candidate: Candidate, at_ms: u64) -> Self {
        Pending {
            candidate,
            first_ms: at_ms,
            last_ms: at_ms,
            frames: 1,
        }
    }

    pub(super) fn extend(self, at_ms: u64) -> Self {
        Pending {
            last_ms: at_ms,
            frames: self.frames.saturating_add(1),
            ..self
        }
    }

    pub(super) fn complete(&self, debounce_ms: u64) -> bool {
        self.frames >= MIN_FLIP_FRAMES && self.last_ms.saturating_sub(self.first_ms) >= debounce_ms
    }
}
