//! The delivery queue: email and SMS summaries sent in the background with
//! retries, one row per session and channel.
//!
//! Lifecycle: [`Store::enqueue_delivery`] creates a `pending` row due now; the
//! sender picks up [`Store::due_deliveries`] and reports each try with
//! [`Store::record_attempt`]: `sent` (done), `pending` again with a later
//! `next_attempt_at_ms` (retry), or `failed` (gave up). Enqueueing a failed
//! delivery again puts it back to `pending` for a fresh series of tries.
//! After a restart, [`Store::pending_deliveries`] lists what is left to do.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::model::{Channel, Delivery, DeliveryStatus, Outcome};
use crate::sessions::ensure_session;
use crate::{Error, Result, Store};

const DELIVERY_COLUMNS: &str = "id, session_id, channel, destination, status, attempts, \
    last_error, next_attempt_at_ms, updated_at_ms";

fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: row.get("id")?,
        session_id: row.get("session_id")?,
        channel: channel_column(row)?,
        destination: row.get("destination")?,
        status: row.get("status")?,
        attempts: row.get("attempts")?,
        last_error: row.get("last_error")?,
        next_attempt_at_ms: row.get("next_attempt_at_ms")?,
        updated_at_ms: row.get("updated_at_ms")?,
    })
}

/// The `channel` column, stored as [`Channel::as_str`]'s text. Unknown text is a
/// conversion error, never a panic.
fn channel_column(row: &Row<'_>) -> rusqlite::Result<Channel> {
    let text: String = row.get("channel")?;
    text.parse().map_err(|e| {
        let index = row.as_ref().column_index("channel").unwrap_or_default();
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn load_delivery(conn: &Connection, id: i64) -> Result<Delivery> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1"
    ))?
    .query_row([id], delivery_from_row)
    .optional()?
    .ok_or(Error::NotFound)
}

fn query_deliveries(
    conn: &Connection,
    filter_and_order: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Delivery>> {
    let deliveries = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries {filter_and_order}"
        ))?
        .query_map(params, delivery_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(deliveries)
}

/// Queues `channel`'s summary of a session that exists, inside the caller's transaction (see
/// [`Store::enqueue_delivery_due`] for what happens to an existing row).
pub(crate) fn upsert_delivery(
    conn: &Connection,
    session_id: i64,
    channel: Channel,
    destination: &str,
    due_ms: i64,
    now_ms: i64,
) -> Result<Delivery> {
    // Inserts a new row, or revives a failed one; pending and sent rows
    // are left as they are (the WHERE of the upsert).
    conn.prepare_cached(
        "INSERT INTO deliveries (session_id, channel, destination, status, attempts, \
         next_attempt_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5) \
         ON CONFLICT (session_id, channel) DO UPDATE SET status = 'pending', \
         attempts = 0, destination = excluded.destination, \
         next_attempt_at_ms = excluded.next_attempt_at_ms, \
         updated_at_ms = excluded.updated_at_ms \
         WHERE deliveries.status = 'failed'",
    )?
    .execute(params![
        session_id,
        channel.as_str(),
        destination,
        due_ms,
        now_ms
    ])?;
    let id: i64 = conn
        .prepare_cached("SELECT id FROM deliveries WHERE session_id = ?1 AND channel = ?2")?
        .query_row(params![session_id, channel.as_str()], |row| row.get(0))?;
    load_delivery(conn, id)
}

impl Store {
    /// Queues the summary of a session for `channel`, due at `now_ms`, and
    /// returns the delivery.
    ///
    /// Idempotent per session and channel: a delivery that is already
    /// pending or sent is returned unchanged (a summary is never sent
    /// twice). A failed one is reset for a re-send: `pending`, due now,
    /// attempts back to 0, with the new `destination` (the user may have
    /// corrected it); its `last_error` is kept until the next attempt.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown session; [`Error::Invalid`] for a
    /// blank destination.
    pub fn enqueue_delivery(
        &self,
        session_id: i64,
        channel: Channel,
        destination: &str,
        now_ms: i64,
    ) -> Result<Delivery> {
        self.enqueue_delivery_due(session_id, channel, destination, now_ms, now_ms)
    }

    /// As [`Store::enqueue_delivery`], but the first attempt is due at `due_ms`
    /// rather than now: the summary of a session that may still be continued
    /// (interrupted before its planned end) waits until that end.
    ///
    /// # Errors
    ///
    /// As [`Store::enqueue_delivery`].
    pub fn enqueue_delivery_due(
        &self,
        session_id: i64,
        channel: Channel,
        destination: &str,
        due_ms: i64,
        now_ms: i64,
    ) -> Result<Delivery> {
        let destination = destination.trim();
        if destination.is_empty() {
            return Err(Error::Invalid(format!(
                "the {channel} destination is empty"
            )));
        }
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_session(&tx, session_id)?;
        let delivery = upsert_delivery(&tx, session_id, channel, destination, due_ms, now_ms)?;
        tx.commit()?;
        Ok(delivery)
    }

    /// Pending deliveries whose next attempt is due (`next_attempt_at_ms <=
    /// now_ms`), oldest due first.
    pub fn due_deliveries(&self, now_ms: i64) -> Result<Vec<Delivery>> {
        query_deliveries(
            &*self.reader()?,
            "WHERE status = 'pending' AND next_attempt_at_ms <= ?1 \
             ORDER BY next_attempt_at_ms, id",
            [now_ms],
        )
    }

    /// Every pending delivery, due or not, soonest first: what the sender
    /// must pick up again after a restart.
    pub fn pending_deliveries(&self) -> Result<Vec<Delivery>> {
        query_deliveries(
            &*self.reader()?,
            "WHERE status = 'pending' ORDER BY next_attempt_at_ms, id",
            [],
        )
    }

    /// Records the result of one attempt to send a pending delivery and
    /// returns the updated delivery. Counts the attempt; see [`Outcome`] for
    /// the new status. `Sent` clears `last_error`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown delivery (or one deleted with its
    /// session meanwhile); [`Error::Conflict`] if it is not pending (already
    /// sent or failed), so a stale report cannot overwrite a newer state.
    pub fn record_attempt(
        &self,
        delivery_id: i64,
        outcome: Outcome,
        now_ms: i64,
    ) -> Result<Delivery> {
        let (status, last_error, next_attempt_at_ms) = match outcome {
            Outcome::Sent => (DeliveryStatus::Sent, None, None),
            Outcome::RetryAt(at_ms, error) => (DeliveryStatus::Pending, Some(error), Some(at_ms)),
            Outcome::Failed(error) => (DeliveryStatus::Failed, Some(error), None),
        };
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx
            .prepare_cached(
                "UPDATE deliveries SET status = ?2, attempts = attempts + 1, last_error = ?3, \
                 next_attempt_at_ms = ?4, updated_at_ms = ?5 \
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute(params![
                delivery_id,
                status,
                last_error,
                next_attempt_at_ms,
                now_ms
            ])?;
        let delivery = load_delivery(&tx, delivery_id)?;
        if changed == 0 {
            return Err(Error::Conflict(format!(
                "delivery {delivery_id} is already {}",
                delivery.status
            )));
        }
        tx.commit()?;
        Ok(delivery)
    }

    /// The deliveries of every session started at or after `since_ms` (all
    /// sessions when `None`; the same filter as
    /// [`Store::list_sessions`]), by id: one query for a whole history page.
    pub fn deliveries_since(&self, since_ms: Option<i64>) -> Result<Vec<Delivery>> {
        query_deliveries(
            &*self.reader()?,
            "WHERE session_id IN (SELECT id FROM sessions \
             WHERE ?1 IS NULL OR started_at_ms >= ?1) ORDER BY id",
            [since_ms],
        )
    }

    /// The deliveries of a session (at most one per channel), by id.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown session.
    pub fn deliveries_for(&self, session_id: i64) -> Result<Vec<Delivery>> {
        let conn = self.reader()?;
        ensure_session(&conn, session_id)?;
        query_deliveries(&conn, "WHERE session_id = ?1 ORDER BY id", [session_id])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::tests::new_session;

    const T0: i64 = 1_700_000_000_000;

    fn store_with_session() -> (Store, i64) {
        let store = Store::open_in_memory().unwrap();
        let id = store.create_session(&new_session(T0)).unwrap().id;
        (store, id)
    }

    #[test]
    fn channel_text_reads_back_and_unknown_text_is_an_error() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.writer();
        let read = |sql: &str| conn.query_row(sql, [], channel_column);
        assert_eq!(read("SELECT 'sms' AS channel").unwrap(), Channel::Sms);
        let err = read("SELECT 'fax' AS channel").unwrap_err();
        assert!(err.to_string().contains("\"fax\""), "{err}");
    }

    #[test]
    fn lifecycle_pending_retry_sent() {
        let (store, sid) = store_with_session();
        let d = store
            .enqueue_delivery(sid, Channel::Email, " ada@example.com ", T0)
            .unwrap();
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.destination, "ada@example.com");
        assert_eq!((d.attempts, d.next_attempt_at_ms), (0, Some(T0)));

        assert_eq!(store.due_deliveries(T0).unwrap(), vec![d.clone()]);

        let retry = store
            .record_attempt(
                d.id,
                Outcome::RetryAt(T0 + 30_000, "timeout".into()),
                T0 + 1,
            )
            .unwrap();
        assert_eq!(retry.status, DeliveryStatus::Pending);
        assert_eq!(retry.attempts, 1);
        assert_eq!(retry.last_error.as_deref(), Some("timeout"));
        assert_eq!(retry.next_attempt_at_ms, Some(T0 + 30_000));
        assert!(store.due_deliveries(T0 + 29_999).unwrap().is_empty());
        assert_eq!(store.pending_deliveries().unwrap(), vec![retry.clone()]);
        assert_eq!(store.due_deliveries(T0 + 30_000).unwrap(), vec![retry]);

        let sent = store
            .record_attempt(d.id, Outcome::Sent, T0 + 30_500)
            .unwrap();
        assert_eq!(sent.status, DeliveryStatus::Sent);
        assert_eq!(sent.attempts, 2);
        assert_eq!(sent.last_error, None);
        assert_eq!(sent.next_attempt_at_ms, None);
        assert_eq!(sent.updated_at_ms, T0 + 30_500);
        assert!(store.pending_deliveries().unwrap().is_empty());
        assert_eq!(store.deliveries_for(sid).unwrap(), vec![sent]);
    }

    #[test]
    fn enqueue_is_idempotent_and_never_resends_a_sent_summary() {
        let (store, sid) = store_with_session();
        let first = store
            .enqueue_delivery(sid, Channel::Sms, "+15551234567", T0)
            .unwrap();
        let again = store
            .enqueue_delivery(sid, Channel::Sms, "+15550000000", T0 + 5)
            .unwrap();
        assert_eq!(again, first);

        store
            .record_attempt(first.id, Outcome::Sent, T0 + 10)
            .unwrap();
        let after_sent = store
            .enqueue_delivery(sid, Channel::Sms, "+15551234567", T0 + 20)
            .unwrap();
        assert_eq!(after_sent.status, DeliveryStatus::Sent);
        assert_eq!(after_sent.updated_at_ms, T0 + 10);
        assert_eq!(store.deliveries_for(sid).unwrap().len(), 1);
    }

    #[test]
    fn a_failed_delivery_can_be_re_enqueued() {
        let (store, sid) = store_with_session();
        let d = store
            .enqueue_delivery(sid, Channel::Email, "ada@exmaple.com", T0)
            .unwrap();
        let failed = store
            .record_attempt(d.id, Outcome::Failed("550 no such user".into()), T0 + 1)
            .unwrap();
        assert_eq!(failed.status, DeliveryStatus::Failed);
        assert_eq!(failed.next_attempt_at_ms, None);
        assert!(store.due_deliveries(i64::MAX).unwrap().is_empty());

        let again = store
            .enqueue_delivery(sid, Channel::Email, "ada@example.com", T0 + 100)
            .unwrap();
        assert_eq!(again.id, d.id);
        assert_eq!(again.status, DeliveryStatus::Pending);
        assert_eq!(again.attempts, 0);
        assert_eq!(again.destination, "ada@example.com");
        assert_eq!(again.next_attempt_at_ms, Some(T0 + 100));
        assert_eq!(again.last_error.as_deref(), Some("550 no such user"));
    }

    #[test]
    fn attempts_on_a_finished_delivery_conflict_and_change_nothing() {
        let (store, sid) = store_with_session();
        let d = store
            .enqueue_delivery(sid, Channel::Email, "ada@example.com", T0)
            .unwrap();
        let sent = store.record_attempt(d.id, Outcome::Sent, T0 + 1).unwrap();
        let err = store
            .record_attempt(d.id, Outcome::Failed("late report".into()), T0 + 2)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(m) if m.contains("sent")),
            "{err:?}"
        );
        assert_eq!(store.deliveries_for(sid).unwrap(), vec![sent]);
        assert!(matches!(
            store.record_attempt(9_999, Outcome::Sent, T0),
            Err(Error::NotFound)
        ));
    }

    #[test]
    fn enqueue_checks_session_and_destination() {
        let (store, sid) = store_with_session();
        assert!(matches!(
            store.enqueue_delivery(sid + 1, Channel::Email, "a@b.c", T0),
            Err(Error::NotFound)
        ));
        assert!(matches!(
            store.enqueue_delivery(sid, Channel::Sms, "  ", T0),
            Err(Error::Invalid(_))
        ));
        assert!(store.deliveries_for(sid).unwrap().is_empty());
        assert!(matches!(
            store.deliveries_for(sid + 1),
            Err(Error::NotFound)
        ));
    }

    #[test]
    fn deliveries_since_filters_by_session_start() {
        let store = Store::open_in_memory().unwrap();
        let old = store.create_session(&new_session(T0)).unwrap().id;
        let new = store.create_session(&new_session(T0 + 1_000)).unwrap().id;
        let a = store
            .enqueue_delivery(old, Channel::Email, "x@y.z", T0)
            .unwrap();
        let b = store
            .enqueue_delivery(new, Channel::Sms, "+15551234567", T0)
            .unwrap();
        let c = store
            .enqueue_delivery(new, Channel::Email, "x@y.z", T0)
            .unwrap();
        let ids = |v: Vec<Delivery>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.deliveries_since(None).unwrap()),
            vec![a.id, b.id, c.id]
        );
        assert_eq!(
            ids(store.deliveries_since(Some(T0 + 1)).unwrap()),
            vec![b.id, c.id]
        );
        assert!(store.deliveries_since(Some(T0 + 5_000)).unwrap().is_empty());
    }

    #[test]
    fn due_lists_only_due_pending_deliveries_oldest_first() {
        let store = Store::open_in_memory().unwrap();
        let a = store.create_session(&new_session(T0)).unwrap().id;
        let b = store.create_session(&new_session(T0 + 1)).unwrap().id;
        let late = store
            .enqueue_delivery(a, Channel::Email, "x@y.z", T0 + 50)
            .unwrap();
        let early = store
            .enqueue_delivery(b, Channel::Sms, "+1555", T0 + 10)
            .unwrap();
        let future = store
            .enqueue_delivery(b, Channel::Email, "x@y.z", T0 + 500)
            .unwrap();

        let due: Vec<_> = store
            .due_deliveries(T0 + 100)
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(due, vec![early.id, late.id]);
        let pending: Vec<_> = store
            .pending_deliveries()
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(pending, vec![early.id, late.id, future.id]);
    }
}
