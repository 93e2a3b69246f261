//! Each session's eyes (issue 12, fatigue): a [`FatigueMeter`] fed every frame that counts on
//! the clock, at the clock's own time, plus the counts saved before a restart.
//!
//! The live page gets the last minute's blink rate and PERCLOS ([`LiveFatigue`]); the totals
//! saved every few seconds carry the whole session's counts ([`EyeCounts`]), from which the
//! summary, history, the CSV and the email/SMS compute theirs by one rule
//! (`focus_types::fatigue`). A session continued after a restart keeps its counts; its
//! last-minute figures start again (the minute before the outage is gone).

use focus_store::EyeCounts;
use focus_types::fatigue::perclos_percent;
use focus_vision::FrameAnalysis;
use focus_vision::fatigue::{EyeSample, FatigueMeter, FatigueParams};
use serde::Serialize;

/// One session's fatigue meter and the counts it carries over from before a restart.
#[derive(Debug, Clone)]
pub(super) struct SessionEyes {
    meter: FatigueMeter,
    before: EyeCounts,
}

impl SessionEyes {
    pub(super) fn new(params: FatigueParams, before: EyeCounts) -> Self {
        SessionEyes {
            meter: FatigueMeter::new(params),
            before,
        }
    }

    /// Takes a counted frame's eyes at the clock's time `at_ms`.
    pub(super) fn observe(&mut self, at_ms: u64, analysis: &FrameAnalysis) {
        self.meter.observe(at_ms, EyeSample::of(analysis));
    }

    /// The whole session's counts so far.
    pub(super) fn counts(&self) -> EyeCounts {
        let t = self.meter.totals();
        self.before.plus(EyeCounts {
            blinks: t.blinks,
            long_closures: t.long_closures,
            eyes_seen_ms: t.observed_ms,
            eyes_shut_ms: t.shut_ms,
        })
    }

    /// The live figures: the last minute's, with the session's blink count.
    pub(super) fn live(&self) -> LiveFatigue {
        let window = self.meter.live();
        LiveFatigue {
            blinks: self.counts().blinks,
            blink_rate_per_min: window.blink_rate_per_min.map(|r| tenths(f64::from(r))),
            perclos_percent: perclos_percent(window.shut_ms, window.observed_ms),
            eyes_seen_ms: window.observed_ms,
        }
    }
}

fn tenths(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Fatigue on the live page: the `fatigue` object of every state message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveFatigue {
    /// Blinks (closures of 50-500 ms) since the session started.
    pub blinks: u32,
    /// Blinks per minute over the last minute's time with the eyes seen, one decimal;
    /// `null` until 10 s of it.
    pub blink_rate_per_min: Option<f64>,
    /// PERCLOS over the last minute: the share of its time with the eyes seen during which
    /// they were at least 80% closed, 0-100, one decimal; `null` until 10 s of it.
    pub perclos_percent: Option<f64>,
    /// Time in the last minute with the eyes seen, ms.
    pub eyes_seen_ms: u64,
}
