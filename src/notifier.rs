//! The hook called once when a session ends: it queues the summary for email and/or SMS and
//! wakes the delivery worker.
//!
//! Queuing is a row per channel in the store's delivery table (idempotent per session and
//! channel, so ending twice never sends twice). It is one small write, awaited before the
//! end of the session is announced, so a page that sees the summary also sees its
//! deliveries as `pending`. Sending, with retries, is the job of the background worker in
//! [`crate::delivery`]: ending a session never waits for a mail or SMS server.

use focus_store::{Session, SessionStatus};
use focus_types::Channel;

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
        let due_ms = if session.status == SessionStatus::Interrupted {
            session.ends_at_ms.max(now_ms)
        } else {
            now_ms
        };
        let mut wanted = Vec::new();
        if session.send_email
            && let Some(email) = &session.email
        {
            wanted.push((Channel::Email, email.clone()));
        }
        if session.send_sms
            && let Some(phone) = &session.phone
        {
            wanted.push((Channel::Sms, phone.clone()));
        }
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
            Ok(queued) => {
                tracing::info!(
                    session = id,
                    deliveries = queued.len(),
                    "summary queued for delivery"
                );
                self.delivery.wake();
            }
            Err(e) => {
                tracing::error!(session = id, error = %error_chain(&e), "could not queue the summary")
            }
        }
    }
}
