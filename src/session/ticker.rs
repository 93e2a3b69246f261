//! Each open session's ticker: ticks its clock (so "no signal" time and alerts happen with
//! no frames), saves it every [`crate::config::Timing::save_interval`], pauses it when no
//! page has streamed it for a while (see `streams`), and ends it at its planned time.

use std::sync::Arc;

use super::{EndKind, LiveSession, Sessions};

/// Ticks one session's clock until it ends; saves periodically; ends it at the planned time.
pub(super) async fn run_ticker(sessions: Sessions, live: Arc<LiveSession>) {
    let timing = sessions.inner.timing.clone();
    let mut interval = tokio::time::interval(timing.tick_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ended = live.ended.subscribe();
    // A save is due when the next tick would be past the interval: saves are then at most
    // `save_interval` apart (the most a crash can lose), where waiting for the interval to
    // have passed would make it up to one tick more (2.5 s) whenever a tick comes a
    // millisecond early.
    let tick_ms = i64::try_from(timing.tick_interval.as_millis()).unwrap_or(0);
    let save_every_ms = i64::try_from(timing.save_interval.as_millis())
        .unwrap_or(i64::MAX)
        .saturating_sub(tick_ms)
        .max(1);
    let pause_after_ms =
        i64::try_from(timing.pause_unstreamed_after.as_millis()).unwrap_or(i64::MAX);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = ended.changed() => break,
        }
        if ended.borrow().is_some() {
            break;
        }
        let now = sessions.now_ms();
        if now >= live.ends_at_ms {
            if sessions.end_live(&live, EndKind::Planned).await.is_ok() {
                break;
            }
            // Not stored (logged): the session stays open, and the end is tried again
            // after a save interval.
            tokio::select! {
                _ = tokio::time::sleep(timing.save_interval) => continue,
                _ = ended.changed() => break,
            }
        }
        let (save_due, paused_now) = {
            let mut state = live.lock_state();
            let at = state.advance(now, live.ends_at_ms);
            let paused_now = live.pause_if_unstreamed(&mut state, now, pause_after_ms, at);
            let idle = state.clock.is_paused() && !live.is_streamed();
            let due = now.saturating_sub(state.last_saved_ms) >= save_every_ms && !idle;
            (due, paused_now)
        };
        live.ticks.send_modify(|n| *n = n.wrapping_add(1));
        if paused_now {
            tracing::info!(
                session = live.id,
                after_s = timing.pause_unstreamed_after.as_secs(),
                "session paused: no page has streamed it"
            );
            live.changes.send_modify(|n| *n = n.wrapping_add(1));
        }
        if save_due || paused_now {
            sessions.save(&live).await;
        }
    }
}
