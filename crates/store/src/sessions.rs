//! Sessions: create, save running totals, finish, recover after a crash,
//! read, list and delete.
//!
//! A session is `running` from [`Store::create_session`] until
//! [`Store::finish_session`] marks it `completed` or `interrupted`; a session
//! still `running` when the app starts again was cut off by a crash and is
//! closed by [`Store::close_interrupted`] with the totals it last saved.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::model::{NewSession, Session, SessionStatus, Totals};
use crate::{Error, Result, Store};

/// Columns read by [`session_from_row`], in a form usable after `SELECT`.
pub(crate) const SESSION_COLUMNS: &str = "id, started_at_ms, planned_duration_s, \
    alert_threshold_ms, alert_mode, email, phone, send_email, send_sms, ends_at_ms, status, \
    ended_at_ms, ended_early, updated_at_ms, total_ms, focused_ms, unfocused_ms, breaks, \
    longest_focus_ms";

/// Maps a row selected with [`SESSION_COLUMNS`]. Values that do not fit the
/// domain types (an unknown status, a negative duration) become an error.
pub(crate) fn session_from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get("id")?,
        started_at_ms: row.get("started_at_ms")?,
        planned_duration_s: row.get("planned_duration_s")?,
        alert_threshold_ms: row.get("alert_threshold_ms")?,
        alert_mode: row.get("alert_mode")?,
        email: row.get("email")?,
        phone: row.get("phone")?,
        send_email: row.get("send_email")?,
        send_sms: row.get("send_sms")?,
        ends_at_ms: row.get("ends_at_ms")?,
        status: row.get("status")?,
        ended_at_ms: row.get("ended_at_ms")?,
        ended_early: row.get("ended_early")?,
        updated_at_ms: row.get("updated_at_ms")?,
        totals: Totals {
            total_ms: row.get("total_ms")?,
            focused_ms: row.get("focused_ms")?,
            unfocused_ms: row.get("unfocused_ms")?,
            breaks: row.get("breaks")?,
            longest_focus_ms: row.get("longest_focus_ms")?,
        },
    })
}

/// Reads one session, or [`Error::NotFound`].
pub(crate) fn load_session(conn: &Connection, id: i64) -> Result<Session> {
    conn.prepare_cached(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"
    ))?
    .query_row([id], session_from_row)
    .optional()?
    .ok_or(Error::NotFound)
}

/// [`Error::NotFound`] unless the session exists.
pub(crate) fn ensure_session(conn: &Connection, id: i64) -> Result<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1")?
        .exists([id])?;
    if found { Ok(()) } else { Err(Error::NotFound) }
}

impl Store {
    /// Starts a session with the given settings: status `running`, zero
    /// totals, `ends_at_ms = started_at_ms + planned_duration_s * 1000`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] if the planned end does not fit in an `i64`.
    pub fn create_session(&self, new: &NewSession) -> Result<Session> {
        let ends_at_ms = i64::from(new.planned_duration_s)
            .checked_mul(1000)
            .and_then(|planned_ms| new.started_at_ms.checked_add(planned_ms))
            .ok_or_else(|| Error::Invalid("the planned end time is out of range".into()))?;
        let conn = self.conn();
        let id = conn
            .prepare_cached(
                "INSERT INTO sessions (started_at_ms, planned_duration_s, alert_threshold_ms, \
                 alert_mode, email, phone, send_email, send_sms, ends_at_ms, updated_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?1) RETURNING id",
            )?
            .query_row(
                params![
                    new.started_at_ms,
                    new.planned_duration_s,
                    new.alert_threshold_ms,
                    new.alert_mode,
                    new.email,
                    new.phone,
                    new.send_email,
                    new.send_sms,
                    ends_at_ms,
                ],
                |row| row.get::<_, i64>(0),
            )?;
        load_session(&conn, id)
    }

    /// Reads a session.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no session with this id.
    pub fn get_session(&self, id: i64) -> Result<Session> {
        load_session(&self.conn(), id)
    }

    /// Saves the running totals of a session: one `UPDATE`, cheap enough to
    /// call every few seconds. `now_ms` becomes the session's
    /// `updated_at_ms`, which is its end time if the app dies before
    /// finishing it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Conflict`] if the
    /// session has already finished (its final totals are not overwritten).
    pub fn save_totals(&self, id: i64, totals: &Totals, now_ms: i64) -> Result<()> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(
                "UPDATE sessions SET total_ms = ?2, focused_ms = ?3, unfocused_ms = ?4, \
                 breaks = ?5, longest_focus_ms = ?6, updated_at_ms = ?7 \
                 WHERE id = ?1 AND status = 'running'",
            )?
            .execute(params![
                id,
                totals.total_ms,
                totals.focused_ms,
                totals.unfocused_ms,
                totals.breaks,
                totals.longest_focus_ms,
                now_ms,
            ])?;
        if changed == 1 {
            return Ok(());
        }
        // Nothing matched: say why.
        let status: Option<SessionStatus> = conn
            .prepare_cached("SELECT status FROM sessions WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?;
        match status {
            None => Err(Error::NotFound),
            Some(status) => Err(Error::Conflict(format!(
                "session {id} is {status}; totals can only be saved while it runs"
            ))),
        }
    }

    /// Ends a running session with its final totals and returns it.
    ///
    /// Idempotent: if the session has already finished, nothing is written
    /// and the stored session is returned unchanged, so ending twice (a
    /// double click, a retry after a lost response) yields the same summary.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Invalid`] if `status`
    /// is [`SessionStatus::Running`].
    pub fn finish_session(
        &self,
        id: i64,
        totals: &Totals,
        ended_at_ms: i64,
        ended_early: bool,
        status: SessionStatus,
    ) -> Result<Session> {
        if status == SessionStatus::Running {
            return Err(Error::Invalid(
                "a session must finish as completed or interrupted".into(),
            ));
        }
        let mut conn = self.conn();
        // IMMEDIATE: take the write lock before reading, so the check and the
        // update cannot be split by another writer.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = load_session(&tx, id)?;
        if current.is_finished() {
            return Ok(current);
        }
        tx.prepare_cached(
            "UPDATE sessions SET status = ?2, ended_at_ms = ?3, ended_early = ?4, \
             total_ms = ?5, focused_ms = ?6, unfocused_ms = ?7, breaks = ?8, \
             longest_focus_ms = ?9, updated_at_ms = ?3 WHERE id = ?1",
        )?
        .execute(params![
            id,
            status,
            ended_at_ms,
            ended_early,
            totals.total_ms,
            totals.focused_ms,
            totals.unfocused_ms,
            totals.breaks,
            totals.longest_focus_ms,
        ])?;
        let finished = load_session(&tx, id)?;
        tx.commit()?;
        Ok(finished)
    }

    /// Crash recovery, to call once at start-up before any session begins:
    /// every session still `running` becomes `interrupted`, keeping the
    /// totals it last saved, with `ended_at_ms` = its last save time and
    /// `ended_early` = whether that was before its planned end. Returns the
    /// ids closed, ascending.
    pub fn close_interrupted(&self, now_ms: i64) -> Result<Vec<i64>> {
        let conn = self.conn();
        // In an UPDATE, every right-hand side sees the row's old values, so
        // ended_at_ms takes the last save time before updated_at_ms moves on.
        let mut ids = conn
            .prepare_cached(
                "UPDATE sessions SET status = 'interrupted', ended_at_ms = updated_at_ms, \
                 ended_early = (updated_at_ms < ends_at_ms), updated_at_ms = ?1 \
                 WHERE status = 'running' RETURNING id",
            )?
            .query_map([now_ms], |row| row.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Sessions started at or after `since_ms` (all when `None`), newest
    /// first (by start time, then id).
    pub fn list_sessions(&self, since_ms: Option<i64>) -> Result<Vec<Session>> {
        let conn = self.conn();
        let sessions = conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions \
                 WHERE ?1 IS NULL OR started_at_ms >= ?1 \
                 ORDER BY started_at_ms DESC, id DESC"
            ))?
            .query_map([since_ms], session_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(sessions)
    }

    /// Deletes a session with its timeline and deliveries (foreign keys
    /// cascade, in the same statement).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no session with this id.
    pub fn delete_session(&self, id: i64) -> Result<()> {
        let changed = self
            .conn()
            .prepare_cached("DELETE FROM sessions WHERE id = ?1")?
            .execute([id])?;
        if changed == 0 {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::AlertMode;

    /// A 25-minute session with email and SMS requested.
    pub(crate) fn new_session(started_at_ms: i64) -> NewSession {
        NewSession {
            started_at_ms,
            planned_duration_s: 25 * 60,
            alert_threshold_ms: 3_000,
            alert_mode: AlertMode::Both,
            email: Some("ada@example.com".into()),
            phone: Some("+15551234567".into()),
            send_email: true,
            send_sms: false,
        }
    }

    pub(crate) fn totals(total_ms: u64, focused_ms: u64) -> Totals {
        Totals {
            total_ms,
            focused_ms,
            unfocused_ms: total_ms - focused_ms,
            breaks: 1,
            longest_focus_ms: focused_ms / 2,
        }
    }

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn create_then_get_returns_the_settings() {
        let store = Store::open_in_memory().unwrap();
        let created = store.create_session(&new_session(T0)).unwrap();
        assert_eq!(created.status, SessionStatus::Running);
        assert_eq!(created.ends_at_ms, T0 + 25 * 60 * 1000);
        assert_eq!(created.updated_at_ms, T0);
        assert_eq!(created.ended_at_ms, None);
        assert_eq!(created.totals, Totals::default());
        assert_eq!(created.alert_mode, AlertMode::Both);
        assert_eq!(created.email.as_deref(), Some("ada@example.com"));
        assert!(created.send_email && !created.send_sms);
        assert_eq!(store.get_session(created.id).unwrap(), created);
    }

    #[test]
    fn unknown_session_is_not_found() {
        let store = Store::open_in_memory().unwrap();
        assert!(matches!(store.get_session(42), Err(Error::NotFound)));
        assert!(matches!(store.delete_session(42), Err(Error::NotFound)));
        assert!(matches!(
            store.save_totals(42, &Totals::default(), T0),
            Err(Error::NotFound)
        ));
        assert!(matches!(
            store.finish_session(42, &Totals::default(), T0, false, SessionStatus::Completed),
            Err(Error::NotFound)
        ));
    }

    #[test]
    fn planned_end_overflow_is_invalid_not_a_panic() {
        let store = Store::open_in_memory().unwrap();
        let err = store
            .create_session(&new_session(i64::MAX - 10))
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        assert!(store.list_sessions(None).unwrap().is_empty());
    }

    #[test]
    fn save_totals_updates_running_sessions_only() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(T0)).unwrap();
        store
            .save_totals(s.id, &totals(10_000, 8_000), T0 + 10_000)
            .unwrap();
        let saved = store.get_session(s.id).unwrap();
        assert_eq!(saved.totals, totals(10_000, 8_000));
        assert_eq!(saved.updated_at_ms, T0 + 10_000);

        let done = store
            .finish_session(
                s.id,
                &totals(20_000, 15_000),
                T0 + 20_000,
                true,
                SessionStatus::Completed,
            )
            .unwrap();
        let err = store
            .save_totals(s.id, &totals(99_000, 1_000), T0 + 30_000)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(m) if m.contains("completed")),
            "{err:?}"
        );
        assert_eq!(store.get_session(s.id).unwrap(), done);
    }

    #[test]
    fn out_of_range_totals_fail_without_touching_the_row() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(T0)).unwrap();
        store
            .save_totals(s.id, &totals(10_000, 8_000), T0 + 10_000)
            .unwrap();
        let huge = Totals {
            total_ms: u64::MAX,
            ..Totals::default()
        };
        assert!(matches!(
            store.save_totals(s.id, &huge, T0 + 11_000),
            Err(Error::Sqlite(_))
        ));
        assert_eq!(
            store.get_session(s.id).unwrap().totals,
            totals(10_000, 8_000)
        );
    }

    #[test]
    fn finishing_twice_returns_the_same_session() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(T0)).unwrap();
        let first = store
            .finish_session(
                s.id,
                &totals(60_000, 45_000),
                T0 + 60_000,
                true,
                SessionStatus::Completed,
            )
            .unwrap();
        assert_eq!(first.status, SessionStatus::Completed);
        assert_eq!(first.ended_at_ms, Some(T0 + 60_000));
        assert!(first.ended_early);
        assert_eq!(first.totals, totals(60_000, 45_000));

        let second = store
            .finish_session(
                s.id,
                &totals(90_000, 10_000),
                T0 + 90_000,
                false,
                SessionStatus::Interrupted,
            )
            .unwrap();
        assert_eq!(second, first);
        assert_eq!(store.get_session(s.id).unwrap(), first);
    }

    #[test]
    fn finishing_as_running_is_invalid() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(T0)).unwrap();
        assert!(matches!(
            store.finish_session(s.id, &Totals::default(), T0, false, SessionStatus::Running),
            Err(Error::Invalid(_))
        ));
        assert_eq!(
            store.get_session(s.id).unwrap().status,
            SessionStatus::Running
        );
    }

    #[test]
    fn close_interrupted_keeps_saved_totals_and_last_save_time() {
        let store = Store::open_in_memory().unwrap();
        let cut = store.create_session(&new_session(T0)).unwrap();
        store
            .save_totals(cut.id, &totals(30_000, 20_000), T0 + 30_000)
            .unwrap();
        let never_saved = store.create_session(&new_session(T0 + 1)).unwrap();
        let done = store.create_session(&new_session(T0 + 2)).unwrap();
        let done = store
            .finish_session(
                done.id,
                &totals(5_000, 5_000),
                T0 + 5_000,
                true,
                SessionStatus::Completed,
            )
            .unwrap();

        let closed = store.close_interrupted(T0 + 3_600_000).unwrap();
        assert_eq!(closed, vec![cut.id, never_saved.id]);

        let cut = store.get_session(cut.id).unwrap();
        assert_eq!(cut.status, SessionStatus::Interrupted);
        assert_eq!(cut.totals, totals(30_000, 20_000));
        assert_eq!(cut.ended_at_ms, Some(T0 + 30_000));
        assert!(cut.ended_early);
        assert_eq!(cut.updated_at_ms, T0 + 3_600_000);

        let never_saved = store.get_session(never_saved.id).unwrap();
        assert_eq!(never_saved.ended_at_ms, Some(T0 + 1));
        assert_eq!(never_saved.totals, Totals::default());

        assert_eq!(store.get_session(done.id).unwrap(), done);
        assert!(store.close_interrupted(T0 + 3_700_000).unwrap().is_empty());
    }

    #[test]
    fn interrupted_after_the_planned_end_is_not_early() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(T0)).unwrap();
        store
            .save_totals(s.id, &totals(1_500_000, 1_000_000), s.ends_at_ms)
            .unwrap();
        store.close_interrupted(s.ends_at_ms + 60_000).unwrap();
        assert!(!store.get_session(s.id).unwrap().ended_early);
    }

    #[test]
    fn list_is_newest_first_and_since_filters_by_start() {
        let store = Store::open_in_memory().unwrap();
        // Created out of order on purpose: the list sorts by start time.
        let b = store.create_session(&new_session(T0 + 2_000)).unwrap();
        let a = store.create_session(&new_session(T0 + 1_000)).unwrap();
        let c = store.create_session(&new_session(T0 + 3_000)).unwrap();

        let ids = |v: Vec<Session>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.list_sessions(None).unwrap()),
            vec![c.id, b.id, a.id]
        );
        assert_eq!(
            ids(store.list_sessions(Some(T0 + 2_000)).unwrap()),
            vec![c.id, b.id]
        );
        assert!(store.list_sessions(Some(T0 + 3_001)).unwrap().is_empty());
    }

    #[test]
    fn deleted_ids_are_not_reused() {
        let store = Store::open_in_memory().unwrap();
        let first = store.create_session(&new_session(T0)).unwrap();
        store.delete_session(first.id).unwrap();
        let second = store.create_session(&new_session(T0)).unwrap();
        assert!(second.id > first.id);
        assert!(matches!(store.get_session(first.id), Err(Error::NotFound)));
    }

    #[test]
    fn store_is_clone_send_sync_and_clones_share_data() {
        fn assert_send_sync<T: Clone + Send + Sync + 'static>() {}
        assert_send_sync::<Store>();

        let store = Store::open_in_memory().unwrap();
        let other = store.clone();
        let id = std::thread::spawn(move || other.create_session(&new_session(T0)).unwrap().id)
            .join()
            .unwrap();
        assert_eq!(store.get_session(id).unwrap().started_at_ms, T0);
    }
}
