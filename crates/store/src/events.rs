//! The timeline of a session: focused and unfocused stretches and breaks,
//! appended in batches while the session runs and read back for the summary
//! page.

use rusqlite::{TransactionBehavior, params};

use crate::model::{Event, NewEvent};
use crate::sessions::ensure_session;
use crate::{Error, Result, Store};

impl Store {
    /// Appends timeline stretches to a session, all or none (one
    /// transaction). Allowed in any session status, so the final stretch can
    /// be flushed after the session has been finished.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown session; [`Error::Invalid`] if a
    /// stretch ends before it starts (nothing of the batch is written).
    pub fn append_events(&self, session_id: i64, events: &[NewEvent]) -> Result<()> {
        if let Some((index, bad)) = events
            .iter()
            .enumerate()
            .find(|(_, e)| e.end_ms < e.start_ms)
        {
            return Err(Error::Invalid(format!(
                "event {index} ends before it starts ({} > {})",
                bad.start_ms, bad.end_ms
            )));
        }
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_session(&tx, session_id)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (session_id, kind, reason, start_ms, end_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in events {
                insert.execute(params![session_id, e.kind, e.reason, e.start_ms, e.end_ms])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The timeline of a session, ordered by start time (then by insertion).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown session.
    pub fn session_events(&self, session_id: i64) -> Result<Vec<Event>> {
        let conn = self.reader()?;
        ensure_session(&conn, session_id)?;
        let events = conn
            .prepare_cached(
                "SELECT id, session_id, kind, reason, start_ms, end_ms FROM events \
                 WHERE session_id = ?1 ORDER BY start_ms, id",
            )?
            .query_map([session_id], |row| {
                Ok(Event {
                    id: row.get(0)?,
                    session_id: row.get(1)?,
                    kind: row.get(2)?,
                    reason: row.get(3)?,
                    start_ms: row.get(4)?,
                    end_ms: row.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EndReason;
    use crate::model::{EventKind, SessionStatus, Totals};
    use crate::sessions::tests::new_session;

    fn stretch(kind: EventKind, reason: Option<&str>, start_ms: i64, end_ms: i64) -> NewEvent {
        NewEvent {
            kind,
            reason: reason.map(str::to_owned),
            start_ms,
            end_ms,
        }
    }

    #[test]
    fn events_come_back_ordered_by_start() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(0)).unwrap();
        store
            .append_events(
                s.id,
                &[
                    stretch(EventKind::Unfocused, Some("looking_away"), 5_000, 8_000),
                    stretch(EventKind::Focused, None, 0, 5_000),
                ],
            )
            .unwrap();
        store
            .append_events(s.id, &[stretch(EventKind::Break, None, 8_000, 68_000)])
            .unwrap();

        let events = store.session_events(s.id).unwrap();
        let shape: Vec<_> = events
            .iter()
            .map(|e| (e.kind, e.reason.as_deref(), e.start_ms, e.end_ms))
            .collect();
        assert_eq!(
            shape,
            vec![
                (EventKind::Focused, None, 0, 5_000),
                (EventKind::Unfocused, Some("looking_away"), 5_000, 8_000),
                (EventKind::Break, None, 8_000, 68_000),
            ]
        );
        assert!(events.iter().all(|e| e.session_id == s.id));
    }

    #[test]
    fn a_bad_event_rejects_the_whole_batch() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(0)).unwrap();
        store
            .append_events(s.id, &[stretch(EventKind::Focused, None, 0, 1_000)])
            .unwrap();
        let err = store
            .append_events(
                s.id,
                &[
                    stretch(EventKind::Focused, None, 1_000, 2_000),
                    stretch(EventKind::Unfocused, Some("no_face"), 3_000, 2_500),
                ],
            )
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid(m) if m.contains("event 1")),
            "{err:?}"
        );
        assert_eq!(store.session_events(s.id).unwrap().len(), 1);
    }

    #[test]
    fn events_of_unknown_session_are_not_found() {
        let store = Store::open_in_memory().unwrap();
        assert!(matches!(
            store.append_events(7, &[stretch(EventKind::Focused, None, 0, 1)]),
            Err(Error::NotFound)
        ));
        assert!(matches!(store.session_events(7), Err(Error::NotFound)));
    }

    #[test]
    fn the_last_stretch_can_be_flushed_after_finishing() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(0)).unwrap();
        store
            .finish_session(
                s.id,
                &Totals::default(),
                10_000,
                true,
                SessionStatus::Completed,
                EndReason::User,
            )
            .unwrap();
        store
            .append_events(s.id, &[stretch(EventKind::Focused, None, 0, 10_000)])
            .unwrap();
        assert_eq!(store.session_events(s.id).unwrap().len(), 1);
    }
}
