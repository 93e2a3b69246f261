//! A drift: the unfocused time since the last focused stretch, with the time held per
//! reason so that its main reason (and the break it becomes) can be told at any moment.

use std::cmp::Reverse;

use crate::attention::Reason;
use crate::events::Break;

/// The unfocused time since the last focused stretch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Drift {
    pub(super) started_ms: u64,
    /// The alert fired: this drift is a break.
    pub(super) alerted: bool,
    /// The current reason and since when.
    reason: Reason,
    reason_since_ms: u64,
    /// Closed time per reason, indexed by [`Reason::index`].
    reason_ms: [u64; 4],
    /// When each reason first appeared in this drift (for ties).
    first_seen_ms: [Option<u64>; 4],
}

impl Drift {
    pub(super) fn new(at_ms: u64, reason: Reason) -> Self {
        let mut first_seen_ms = [None; 4];
        first_seen_ms[reason.index()] = Some(at_ms);
        Drift {
            started_ms: at_ms,
            alerted: false,
            reason,
            reason_since_ms: at_ms,
            reason_ms: [0; 4],
            first_seen_ms,
        }
    }

    pub(super) fn switch_reason(&mut self, reason: Reason, at_ms: u64) {
        let held_ms = at_ms.saturating_sub(self.reason_since_ms);
        let slot = &mut self.reason_ms[self.reason.index()];
        *slot = slot.saturating_add(held_ms);
        self.reason = reason;
        self.reason_since_ms = at_ms;
        self.first_seen_ms[reason.index()].get_or_insert(at_ms);
    }

    /// The drift's reason as of `at_ms`: the one held longest in total, ties going to the
    /// one that appeared first.
    pub(super) fn main_reason(&self, at_ms: u64) -> Reason {
        let held_ms = |reason: Reason| {
            let closed = self.reason_ms[reason.index()];
            if reason == self.reason {
                closed.saturating_add(at_ms.saturating_sub(self.reason_since_ms))
            } else {
                closed
            }
        };
        Reason::ALL
            .into_iter()
            .filter_map(|reason| {
                let seen_ms = self.first_seen_ms[reason.index()]?;
                Some((reason, held_ms(reason), seen_ms))
            })
            .max_by_key(|&(_, held_ms, seen_ms)| (held_ms, Reverse(seen_ms)))
            .map_or(self.reason, |(reason, _, _)| reason)
    }

    pub(super) fn to_break(self, end_ms: u64) -> Break {
        Break {
            start_ms: self.started_ms,
            end_ms,
            reason: self.main_reason(end_ms),
        }
    }
}
