//! The hook called once when a session ends: it queues the summary for email and/or SMS and
//! wakes the delivery worker.
//!
//! Queuing is a row per channel in the store's delivery table (idempotent per session and
//! channel, so ending twice never sends twice). A live session's end queues them in the same
//! transaction as its final totals (`Store::finish_session_queued`, then [`Notifier::queued`]
//! wakes the worker), so no crash can keep the end and lose its email or SMS; sessions a
//! crash cut off are queued at the next start ([`Notifier::session_ended`]). Either way it
//! happens before the end is announced, so a page that sees the summary also sees its
//! deliveries as `pending`. Sending, with retries, is the job of the background worker in
//! [`crate::delivery`]: ending a session never waits for a mail or SMS server.

use focus_store::{Delivery, Session, SessionStatus};

use crate::db::Db;
use crate::delivery::DeliveryHandle;
use crate::error::error_chain;

/// Called by the session registry when a session has ended and its final totals are saved
/// (and at start-up for the sessions a crash cut off).
#[derive(Debug, Clone)]
pub struct Notifier {
    db: Db,
    delivery: DeliveryHandle,
}

impl Notifier {
    pub fn new(db: Db, delivery: DeliveryHandle) -> Self {
        Notifier { db, delivery }
    }

    /// Queues the summaries the session asked for and wakes the worker. Failures are
    /// logged, not returned: the session has ended either way, and the user's page shows
    /// the summary regardless.
    ///
    /// A session the server's stop interrupted before its planned end can still be
    /// continued until then (`POST /api/sessions/{id}/resume`), so its summaries are due at
    /// its planned end, not now; continuing it withdraws them, and its real end queues them
    /// again.
    pub async fn session_ended(&self, session: &Session, now_ms: i64) {
        let due_ms = summaries_due_ms(session.status, session.ends_at_ms, now_ms);
        let wanted = session.summary_destinations();
        if wanted.is_empty() {
            return;
        }
        let id = session.id;
        let result = self
            .db
            .call(move |store| {
                wanted
                    .iter()
                    .map(|(channel, to)| {
                        store.enqueue_delivery_due(id, *channel, to, due_ms, now_ms)
                    })
                    .collect::<focus_store::Result<Vec<_>>>()
            })
            .await;
        match result {
            Ok(queued) => self.queued(id, &queued),
            Err(e) => {
                tracing::error!(session = id, error = %error_chain(&e), "could not queue the summary")
            }
        }
    }
}

impl Notifier {
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
