//! Who streams a session, and pausing the sessions nobody streams.
//!
//! Each live connection holds a [`StreamGuard`] while it is open. When none has been open
//! for [`crate::config::Timing::pause_unstreamed_after`], the ticker pauses the session
//! ([`LiveSession::pause_if_unstreamed`]) and stops saving it while nobody streams it: a
//! forgotten or scripted session then costs a timer tick, not a write every 2 s. Pausing
//! rather than ending keeps the session for its owner: a laptop that slept through lunch
//! comes back to a paused session to resume, not to a summary.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{LiveSession, SessionClock, timeline_record};
use crate::time::TimeSource;

/// Who streams a session: the number of live connections open, and the server time the
/// last one closed (or the session opened).
#[derive(Debug)]
pub(super) struct Streams {
    pub(super) open: usize,
    pub(super) none_since_ms: i64,
}

/// Held by a live connection while it is open ([`LiveSession::stream_opened`]).
#[derive(Debug)]
pub struct StreamGuard {
    streams: Arc<Mutex<Streams>>,
    time: Arc<dyn TimeSource>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        streams.open = streams.open.saturating_sub(1);
        if streams.open == 0 {
            streams.none_since_ms = self.time.now_ms();
        }
    }
}

impl LiveSession {
    /// Counts a live connection as streaming this session until the guard is dropped.
    pub fn stream_opened(&self) -> StreamGuard {
        self.lock_streams().open += 1;
        StreamGuard {
            streams: Arc::clone(&self.streams),
            time: Arc::clone(&self.time),
        }
    }

    /// Whether a live connection is open.
    pub(super) fn is_streamed(&self) -> bool {
        self.lock_streams().open > 0
    }

    fn lock_streams(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pauses the clock at `at` when no connection has streamed the session for
    /// `after_ms` (and it is not paused already). Returns whether it did.
    pub(super) fn pause_if_unstreamed(
        &self,
        state: &mut SessionClock,
        now_ms: i64,
        after_ms: i64,
        at: u64,
    ) -> bool {
        if state.clock.is_paused() {
            return false;
        }
        let streams = self.lock_streams();
        if streams.open > 0 || now_ms.saturating_sub(streams.none_since_ms) < after_ms {
            return false;
        }
        drop(streams);
        let events = state.clock.pause(at);
        state
            .unsaved
            .extend(events.iter().filter_map(timeline_record));
        true
    }
}
