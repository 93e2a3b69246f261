//! Sessions: create, save running totals, finish, recover after a crash,
//! read, list and delete.
//!
//! A session is `running` from [`Store::create_session`] until
//! [`Store::finish_session`] marks it `completed` or `interrupted`; a session
//! still `running` when the app starts again was cut off by a crash and is
//! closed by [`Store::close_interrupted`] with the totals it last saved.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::model::{EndReason, NewSession, OpenStretch, Session, SessionStatus, Totals};
use crate::{Error, Result, Store};

/// Columns read by [`session_from_row`], in a form usable after `SELECT`.
pub(crate) const SESSION_COLUMNS: &str = "id, started_at_ms, planned_duration_s, \
    alert_threshold_ms, alert_mode, email, phone, send_email, send_sms, ends_at_ms, status, \
    ended_at_ms, ended_early, end_reason, updated_at_ms, total_ms, focused_ms, unfocused_ms, \
    starting_ms, paused_ms, offline_ms, breaks, longest_focus_ms, frames_analyzed";

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
        end_reason: row.get("end_reason")?,
        updated_at_ms: row.get("updated_at_ms")?,
        totals: Totals {
            total_ms: row.get("total_ms")?,
            focused_ms: row.get("focused_ms")?,
            unfocused_ms: row.get("unfocused_ms")?,
            starting_ms: row.get("starting_ms")?,
            paused_ms: row.get("paused_ms")?,
            offline_ms: row.get("offline_ms")?,
            breaks: row.get("breaks")?,
            longest_focus_ms: row.get("longest_focus_ms")?,
            frames_analyzed: row.get("frames_analyzed")?,
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
                 starting_ms = ?5, paused_ms = ?6, offline_ms = ?7, breaks = ?8, \
                 longest_focus_ms = ?9, frames_analyzed = ?10, updated_at_ms = ?11 \
                 WHERE id = ?1 AND status = 'running'",
            )?
            .execute(params![
                id,
                totals.total_ms,
                totals.focused_ms,
                totals.unfocused_ms,
                totals.starting_ms,
                totals.paused_ms,
                totals.offline_ms,
                totals.breaks,
                totals.longest_focus_ms,
                totals.frames_analyzed,
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

    /// Records the stretch open at this save of a running session (or that none is,
    /// with `None`). If the server dies before the session ends, crash recovery
    /// ([`Store::close_interrupted`]) closes it at the session's last save, so the
    /// timeline has no hole up to the interruption. Call it with each totals save.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id. A session that is no longer running is
    /// left as it is (its timeline is already closed).
    pub fn save_open_stretch(&self, id: i64, open: Option<&OpenStretch>) -> Result<()> {
        let conn = self.conn();
        ensure_session(&conn, id)?;
        conn.prepare_cached(
            "UPDATE sessions SET open_kind = ?2, open_reason = ?3, open_since_ms = ?4 \
             WHERE id = ?1 AND status = 'running'",
        )?
        .execute(params![
            id,
            open.map(|o| o.kind),
            open.and_then(|o| o.reason.as_deref()),
            open.map(|o| o.since_ms),
        ])?;
        Ok(())
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
        end_reason: EndReason,
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
             end_reason = ?5, total_ms = ?6, focused_ms = ?7, unfocused_ms = ?8, \
             starting_ms = ?9, paused_ms = ?10, offline_ms = ?11, breaks = ?12, \
             longest_focus_ms = ?13, frames_analyzed = ?14, updated_at_ms = ?3, \
             open_kind = NULL, open_reason = NULL, open_since_ms = NULL WHERE id = ?1",
        )?
        .execute(params![
            id,
            status,
            ended_at_ms,
            ended_early,
            end_reason,
            totals.total_ms,
            totals.focused_ms,
            totals.unfocused_ms,
            totals.starting_ms,
            totals.paused_ms,
            totals.offline_ms,
            totals.breaks,
            totals.longest_focus_ms,
            totals.frames_analyzed,
        ])?;
        let finished = load_session(&tx, id)?;
        tx.commit()?;
        Ok(finished)
    }

    /// Crash recovery, to call once at start-up before any session begins:
    /// every session still `running` becomes `interrupted`, keeping the
    /// totals it last saved, with `ended_at_ms` = its last save time,
    /// `ended_early` = whether that was before its planned end and
    /// `end_reason` = `server_lost`. The stretch that was open at the last save
    /// (see [`Store::save_open_stretch`]) is closed there, so the timeline
    /// reaches the interruption. Returns the ids closed, ascending.
    pub fn close_interrupted(&self, now_ms: i64) -> Result<Vec<i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO events (session_id, kind, reason, start_ms, end_ms) \
             SELECT id, open_kind, open_reason, open_since_ms, updated_at_ms FROM sessions \
             WHERE status = 'running' AND open_kind IS NOT NULL \
             AND updated_at_ms > open_since_ms",
        )?
        .execute([])?;
        // In an UPDATE, every right-hand side sees the row's old values, so
        // ended_at_ms takes the last save time before updated_at_ms moves on.
        let mut ids = tx
            .prepare_cached(
                "UPDATE sessions SET status = 'interrupted', ended_at_ms = updated_at_ms, \
                 ended_early = (updated_at_ms < ends_at_ms), end_reason = 'server_lost', \
                 open_kind = NULL, open_reason = NULL, open_since_ms = NULL, \
                 updated_at_ms = ?1 WHERE status = 'running' RETURNING id",
            )?
            .query_map([now_ms], |row| row.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.commit()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Opens an interrupted session again, to continue it after the server came back:
    /// status `running`, no end time, no end reason. Its totals stay as saved; the
    /// caller accounts for the time it was down (see `focus_clock::FocusClock::restore`)
    /// with its next save. Summaries still waiting to be sent are withdrawn: they are
    /// queued again when the session ends. Returns the session as it was before
    /// reopening it (with its end time and totals, which the caller needs) and as
    /// reopened.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Conflict`] unless the session
    /// is interrupted.
    pub fn reopen_session(&self, id: i64, now_ms: i64) -> Result<(Session, Session)> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = load_session(&tx, id)?;
        if before.status != SessionStatus::Interrupted {
            return Err(Error::Conflict(format!(
                "session {id} is {}; only an interrupted session can be continued",
                before.status
            )));
        }
        tx.prepare_cached(
            "UPDATE sessions SET status = 'running', ended_at_ms = NULL, ended_early = 0, \
             end_reason = NULL, updated_at_ms = ?2 WHERE id = ?1",
        )?
        .execute(params![id, now_ms])?;
        tx.prepare_cached("DELETE FROM deliveries WHERE session_id = ?1 AND status = 'pending'")?
            .execute([id])?;
        let reopened = load_session(&tx, id)?;
        tx.commit()?;
        Ok((before, reopened))
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
    use crate::model::{Channel, EventKind, NewEvent};

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
            ..Totals::default()
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
            store.finish_session(
                42,
                &Totals::default(),
                T0,
                false,
                SessionStatus::Completed,
                EndReason::User
            ),
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
                EndReason::User,
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
                EndReason::User,
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
                EndReason::ServerStopped,
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
            store.finish_session(
                s.id,
                &Totals::default(),
                T0,
                false,
                SessionStatus::Running,
                EndReason::User
            ),
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
                EndReason::User,
            )
            .unwrap();

        let closed = store.close_interrupted(T0 + 3_600_000).unwrap();
        assert_eq!(closed, vec![cut.id, never_saved.id]);

        let cut = store.get_session(cut.id).unwrap();
        assert_eq!(cut.status, SessionStatus::Interrupted);
        assert_eq!(cut.totals, totals(30_000, 20_000));
        assert_eq!(cut.ended_at_ms, Some(T0 + 30_000));
        assert!(cut.ended_early);
        assert_eq!(cut.end_reason, Some(EndReason::ServerLost));
        assert_eq!(cut.updated_at_ms, T0 + 3_600_000);

        let never_saved = store.get_session(never_saved.id).unwrap();
        assert_eq!(never_saved.ended_at_ms, Some(T0 + 1));
        assert_eq!(never_saved.totals, Totals::default());

        assert_eq!(store.get_session(done.id).unwrap(), done);
        assert_eq!(done.end_reason, Some(EndReason::User));
        assert!(store.close_interrupted(T0 + 3_700_000).unwrap().is_empty());
    }

    #[test]
    fn crash_recovery_closes_the_open_stretch_at_the_last_save() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(T0)).unwrap();
        store
            .append_events(
                s.id,
                &[NewEvent {
                    kind: EventKind::Starting,
                    reason: None,
                    start_ms: T0,
                    end_ms: T0 + 700,
                }],
            )
            .unwrap();
        let open = OpenStretch {
            kind: EventKind::Unfocused,
            reason: Some("eyes_closed".into()),
            since_ms: T0 + 700,
        };
        store.save_open_stretch(s.id, Some(&open)).unwrap();
        store
            .save_totals(s.id, &totals(30_000, 0), T0 + 30_000)
            .unwrap();
        // A session whose open stretch began at its last save adds no empty row.
        let other = store.create_session(&new_session(T0 + 1)).unwrap();
        store
            .save_open_stretch(
                other.id,
                Some(&OpenStretch {
                    kind: EventKind::Starting,
                    reason: None,
                    since_ms: T0 + 1,
                }),
            )
            .unwrap();

        store.close_interrupted(T0 + 60_000).unwrap();
        let timeline: Vec<(EventKind, Option<String>, i64, i64)> = store
            .session_events(s.id)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.reason, e.start_ms, e.end_ms))
            .collect();
        assert_eq!(
            timeline,
            vec![
                (EventKind::Starting, None, T0, T0 + 700),
                (
                    EventKind::Unfocused,
                    Some("eyes_closed".into()),
                    T0 + 700,
                    T0 + 30_000
                ),
            ]
        );
        assert!(store.session_events(other.id).unwrap().is_empty());
        // Once ended, the open stretch is gone and a late save of it is ignored.
        store.save_open_stretch(s.id, Some(&open)).unwrap();
        store.close_interrupted(T0 + 70_000).unwrap();
        assert_eq!(store.session_events(s.id).unwrap().len(), 2);
    }

    #[test]
    fn an_interrupted_session_can_be_reopened_once() {
        let store = Store::open_in_memory().unwrap();
        let s = store.create_session(&new_session(T0)).unwrap();
        let saved = Totals {
            starting_ms: 1_000,
            frames_analyzed: 140,
            ..totals(30_000, 20_000)
        };
        let saved = Totals {
            unfocused_ms: 9_000,
            ..saved
        };
        store.save_totals(s.id, &saved, T0 + 30_000).unwrap();
        store.close_interrupted(T0 + 90_000).unwrap();
        let waiting = store
            .enqueue_delivery_due(
                s.id,
                Channel::Email,
                "a@example.com",
                T0 + 1_500_000,
                T0 + 90_000,
            )
            .unwrap();
        assert_eq!(waiting.next_attempt_at_ms, Some(T0 + 1_500_000));
        assert!(store.due_deliveries(T0 + 1_000_000).unwrap().is_empty());

        let (before, reopened) = store.reopen_session(s.id, T0 + 95_000).unwrap();
        assert_eq!(before.status, SessionStatus::Interrupted);
        assert_eq!(before.ended_at_ms, Some(T0 + 30_000));
        assert_eq!(before.totals, saved);
        assert_eq!(reopened.status, SessionStatus::Running);
        assert_eq!((reopened.ended_at_ms, reopened.end_reason), (None, None));
        assert!(!reopened.ended_early);
        assert_eq!(reopened.totals, saved);
        assert_eq!(reopened.updated_at_ms, T0 + 95_000);
        // Summaries still waiting (they would have gone out at the planned end) are
        // withdrawn: the session will queue them again when it ends.
        assert!(store.deliveries_for(s.id).unwrap().is_empty());

        // Running, completed or unknown sessions cannot be reopened.
        assert!(matches!(
            store.reopen_session(s.id, T0 + 96_000),
            Err(Error::Conflict(_))
        ));
        store
            .finish_session(
                s.id,
                &saved,
                T0 + 100_000,
                true,
                SessionStatus::Completed,
                EndReason::User,
            )
            .unwrap();
        assert!(matches!(
            store.reopen_session(s.id, T0 + 101_000),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            store.reopen_session(999, T0),
            Err(Error::NotFound)
        ));
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
