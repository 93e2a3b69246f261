//! What happens to a session's summaries once they are queued: the delivery worker is woken.
//!
//! Queuing is a row per channel in the store's delivery table (idempotent per session and
//! channel, so ending twice never sends twice), written in the same transaction as the end:
//! a live session's by `Store::finish_session_queued`, those a crash cut off by
//! `Store::close_interrupted` at the next start. No crash can keep an end and lose its email
//! or SMS, and a page that sees the summary also sees its deliveries as `pending`. Sending,
//! with retries, is the job of the background worker in [`crate::delivery`]: ending a session
//! never waits for a mail or SMS server.

use focus_store::{Delivery, SessionStatus};

use crate::delivery::DeliveryHandle;

/// Wakes the delivery worker when a session's end has queued its summaries.
#[derive(Debug, Clone)]
pub struct Notifier {
    delivery: DeliveryHandle,
}

impl Notifier {
    pub fn new(delivery: DeliveryHandle) -> Self {
        Notifier { delivery }
    }

    /// Says that summaries were queued (by the store, with the session's end) and wakes the
    /// worker to send them.
    pub fn queued(&self, session: i64, deliveries: &[Delivery]) {
        if deliveries.is_empty() {
            return;
        }
        tracing::info!(
            session,
            deliveries = deliveries.len(),
            "summary queued for delivery"
        );
        self.delivery.wake();
    }
}

/// When a session's summaries are first due: now, except for a session the server's stop
/// interrupted, which can be continued until its planned end and so is summed up then.
pub fn summaries_due_ms(status: SessionStatus, ends_at_ms: i64, now_ms: i64) -> i64 {
    if status == SessionStatus::Interrupted {
        ends_at_ms.max(now_ms)
    } else {
        now_ms
    }
}
