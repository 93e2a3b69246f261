//! Sessions: create, save running totals, finish, recover after a crash,
//! read, list and delete.
//!
//! A session is `running` from [`Store::create_session`] until
//! [`Store::finish_session`] marks it `completed` or `interrupted`; a session
//! still `running` when the app starts again was cut off by a crash and is
//! closed by [`Store::close_interrupted`] with the totals it last saved.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, ToSql, TransactionBehavior, params};

use crate::deliveries::upsert_delivery;
use crate::model::{
    Delivery, EndReason, Ending, EyeCounts, NewSession, OpenStretch, ProfileUsed, Session,
    SessionStatus, Totals, ZoneTime,
};
use crate::{Error, Result, Store};

/// Columns read by [`session_from_row`], in a form usable after `SELECT`.
pub(crate) const SESSION_COLUMNS: &str = "id, started_at_ms, planned_duration_s, \
    alert_threshold_ms, alert_mode, email, phone, send_email, send_sms, ends_at_ms, status, \
    ended_at_ms, ended_early, end_reason, updated_at_ms, total_ms, focused_ms, unfocused_ms, \
    starting_ms, paused_ms, offline_ms, breaks, longest_focus_ms, frames_analyzed, profile_id, \
    blinks, long_closures, eyes_seen_ms, eyes_shut_ms, profile_name, profile_mode, profile_zones";

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
        profile_id: row.get("profile_id")?,
        profile_used: profile_used_from_row(row)?,
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
            eyes: EyeCounts {
                blinks: row.get("blinks")?,
                long_closures: row.get("long_closures")?,
                eyes_seen_ms: row.get("eyes_seen_ms")?,
                eyes_shut_ms: row.get("eyes_shut_ms")?,
            },
            // Another table: filled in by the callers (`load_session`, `with_zone_time`).
            zone_time: Vec::new(),
        },
    })
}

/// The profile a session was judged with, as kept at its start (`None`: no profile).
fn profile_used_from_row(row: &Row<'_>) -> rusqlite::Result<Option<ProfileUsed>> {
    let Some(name) = row.get::<_, Option<String>>("profile_name")? else {
        return Ok(None);
    };
    let zones = match row.get::<_, Option<String>>("profile_zones")? {
        None => Vec::new(),
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("profile_zones is not a list of names: {e}").into(),
            )
        })?,
    };
    Ok(Some(ProfileUsed {
        name,
        mode: row
            .get::<_, Option<String>>("profile_mode")?
            .unwrap_or_default(),
        zones,
    }))
}

/// Reads one session, or [`Error::NotFound`].
pub(crate) fn load_session(conn: &Connection, id: i64) -> Result<Session> {
    let mut session = conn
        .prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"
        ))?
        .query_row([id], session_from_row)
        .optional()?
        .ok_or(Error::NotFound)?;
    session.totals.zone_time = conn
        .prepare_cached(
            "SELECT zone, ms FROM session_zone_time WHERE session_id = ?1 ORDER BY rowid",
        )?
        .query_map([id], zone_time_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(session)
}

fn zone_time_from_row(row: &Row<'_>) -> rusqlite::Result<ZoneTime> {
    Ok(ZoneTime {
        zone: row.get("zone")?,
        ms: row.get("ms")?,
    })
}

/// Fills in the zone time of `sessions` (read with [`session_from_row`]) with one query over
/// the sessions started at or after `since_ms` (all when `None`), which must include them.
pub(crate) fn with_zone_time<'a>(
    conn: &Connection,
    since_ms: Option<i64>,
    sessions: impl IntoIterator<Item = &'a mut Session>,
) -> Result<()> {
    let mut by_session: HashMap<i64, Vec<ZoneTime>> = HashMap::new();
    let mut statement = conn.prepare_cached(
        "SELECT z.session_id, z.zone, z.ms FROM session_zone_time z \
         JOIN sessions s ON s.id = z.session_id \
         WHERE ?1 IS NULL OR s.started_at_ms >= ?1 \
         ORDER BY z.session_id, z.rowid",
    )?;
    let rows = statement.query_map([since_ms], |row| {
        Ok((row.get::<_, i64>("session_id")?, zone_time_from_row(row)?))
    })?;
    for row in rows {
        let (id, zone_time) = row?;
        by_session.entry(id).or_default().push(zone_time);
    }
    for session in sessions {
        if let Some(zone_time) = by_session.remove(&session.id) {
            session.totals.zone_time = zone_time;
        }
    }
    Ok(())
}

/// Writes a session's zone time (rows are added for new zones, never removed: a session's
/// zones only grow).
fn save_zone_time(conn: &Connection, id: i64, zone_time: &[ZoneTime]) -> Result<()> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO session_zone_time (session_id, zone, ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (session_id, zone) DO UPDATE SET ms = excluded.ms",
    )?;
    for z in zone_time {
        upsert.execute(params![id, z.zone, z.ms])?;
    }
    Ok(())
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
        let used = new.profile_used.as_ref();
        let zones = used
            .map(|p| serde_json::to_string(&p.zones))
            .transpose()
            .map_err(|e| Error::Invalid(format!("the profile's zones cannot be kept: {e}")))?;
        let mut conn = self.writer();
        // One explicit transaction: the row is read back before the commit, and only a
        // commit that went through returns it. (An autocommit `INSERT ... RETURNING` hands
        // out the new id before its commit, whose failure on a full disk would go unseen.)
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = tx
            .prepare_cached(
                "INSERT INTO sessions (started_at_ms, planned_duration_s, alert_threshold_ms, \
                 alert_mode, email, phone, send_email, send_sms, ends_at_ms, updated_at_ms, \
                 profile_id, profile_name, profile_mode, profile_zones, profile_data) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?1, ?10, ?11, ?12, ?13, ?14) \
                 RETURNING id",
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
                    new.profile_id,
                    used.map(|p| &p.name),
                    used.map(|p| &p.mode),
                    zones,
                    new.profile_data,
                ],
                |row| row.get::<_, i64>(0),
            )?;
        let session = load_session(&tx, id)?;
        tx.commit()?;
        Ok(session)
    }

    /// Reads a session.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no session with this id.
    pub fn get_session(&self, id: i64) -> Result<Session> {
        load_session(&*self.reader()?, id)
    }

    /// The numbers of the profile a session was judged with, as they were at its start (the
    /// vision crate's profile JSON); `None` for the default rules, and for a session from
    /// before schema version 8 whose profile was deleted before it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no session with this id.
    pub fn session_profile_data(&self, id: i64) -> Result<Option<String>> {
        self.reader()?
            .prepare_cached("SELECT profile_data FROM sessions WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?
            .ok_or(Error::NotFound)
    }

    /// Saves the running totals of a session: one `UPDATE` (and an upsert per
    /// extra zone, in the same transaction), cheap enough to
    /// call every few seconds. `now_ms` becomes the session's
    /// `updated_at_ms`, which is its end time if the app dies before
    /// finishing it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Conflict`] if the
    /// session has already finished (its final totals are not overwritten).
    pub fn save_totals(&self, id: i64, totals: &Totals, now_ms: i64) -> Result<()> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let changed = tx
            .prepare_cached(&format!(
                "UPDATE sessions SET {TOTALS_SET}, updated_at_ms = :now \
                 WHERE id = :id AND status = 'running'"
            ))?
            .execute(&*with_totals(totals, &[(":id", &id), (":now", &now_ms)]))?;
        if changed == 1 {
            save_zone_time(&tx, id, &totals.zone_time)?;
            tx.commit()?;
            return Ok(());
        }
        drop(tx);
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
        let conn = self.writer();
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
        let ending = Ending {
            totals: totals.clone(),
            ended_at_ms,
            ended_early,
            status,
            end_reason,
        };
        let mut conn = self.writer();
        // IMMEDIATE: take the write lock before reading, so the check and the
        // update cannot be split by another writer.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let finished = finish_in(&tx, id, &ending)?;
        tx.commit()?;
        Ok(finished.unwrap_or_else(|current| current))
    }

    /// [`Store::finish_session`], and in the same transaction the session's
    /// summaries queued ([`Session::summary_destinations`], first try due at
    /// `summaries_due_ms`): an end is never stored without its email and SMS,
    /// whatever becomes of the process between the two. Returns the session
    /// and the deliveries queued now; none if it had already finished (they
    /// were queued then).
    ///
    /// # Errors
    ///
    /// As [`Store::finish_session`]; nothing is written when any part fails.
    pub fn finish_session_queued(
        &self,
        id: i64,
        ending: &Ending,
        summaries_due_ms: i64,
        now_ms: i64,
    ) -> Result<(Session, Vec<Delivery>)> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let finished = match finish_in(&tx, id, ending)? {
            Ok(finished) => finished,
            Err(current) => return Ok((current, Vec::new())),
        };
        let queued = finished
            .summary_destinations()
            .iter()
            .map(|(channel, to)| upsert_delivery(&tx, id, *channel, to, summaries_due_ms, now_ms))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok((finished, queued))
    }

    /// Crash recovery, to call once at start-up before any session begins:
    /// every session still `running` becomes `interrupted`, keeping the
    /// totals it last saved, with `ended_at_ms` = its last save time,
    /// `ended_early` = whether that was before its planned end and
    /// `end_reason` = `server_lost`. The stretch that was open at the last save
    /// (see [`Store::save_open_stretch`]) is closed there, so the timeline
    /// reaches the interruption. The summaries they asked for are queued in the
    /// same transaction, due at their planned end (until then they can be
    /// continued). Returns the ids closed, ascending.
    pub fn close_interrupted(&self, now_ms: i64) -> Result<Vec<i64>> {
        let mut conn = self.writer();
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
        // Their summaries, in the same transaction: a crash right after this start-up
        // step must not leave them closed and never summed up. An interrupted session can
        // be continued until its planned end, so they are due then.
        for &id in &ids {
            let closed = load_session(&tx, id)?;
            let due_ms = closed.ends_at_ms.max(now_ms);
            for (channel, to) in closed.summary_destinations() {
                upsert_delivery(&tx, id, channel, &to, due_ms, now_ms)?;
            }
        }
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
        let mut conn = self.writer();
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
        let conn = self.reader()?;
        let mut sessions = conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions \
                 WHERE ?1 IS NULL OR started_at_ms >= ?1 \
                 ORDER BY started_at_ms DESC, id DESC"
            ))?
            .query_map([since_ms], session_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        with_zone_time(&conn, since_ms, &mut sessions)?;
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
            .writer()
            .prepare_cached("DELETE FROM sessions WHERE id = ?1")?
            .execute([id])?;
        if changed == 0 {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}

/// Marks a running session finished with `ending`, inside the caller's
/// transaction: `Ok(finished)`, or `Err(current)` untouched if it had already
/// finished.
fn finish_in(
    conn: &Connection,
    id: i64,
    ending: &Ending,
) -> Result<std::result::Result<Session, Session>> {
    if ending.status == SessionStatus::Running {
        return Err(Error::Invalid(
            "a session must finish as completed or interrupted".into(),
        ));
    }
    let totals = &ending.totals;
    let current = load_session(conn, id)?;
    if current.is_finished() {
        return Ok(Err(current));
    }
    conn.prepare_cached(&format!(
        "UPDATE sessions SET status = :status, ended_at_ms = :ended_at, \
         ended_early = :ended_early, end_reason = :end_reason, {TOTALS_SET}, \
         updated_at_ms = :ended_at, open_kind = NULL, open_reason = NULL, \
         open_since_ms = NULL WHERE id = :id"
    ))?
    .execute(&*with_totals(
        totals,
        &[
            (":id", &id),
            (":status", &ending.status),
            (":ended_at", &ending.ended_at_ms),
            (":ended_early", &ending.ended_early),
            (":end_reason", &ending.end_reason),
        ],
    ))?;
    save_zone_time(conn, id, &totals.zone_time)?;
    Ok(Ok(load_session(conn, id)?))
}

/// The `SET` assignments of a session's totals, with the named parameters
/// [`with_totals`] binds: the one place the columns and the fields are paired.
const TOTALS_SET: &str = "total_ms = :total_ms, focused_ms = :focused_ms, \
     unfocused_ms = :unfocused_ms, starting_ms = :starting_ms, paused_ms = :paused_ms, \
     offline_ms = :offline_ms, breaks = :breaks, longest_focus_ms = :longest_focus_ms, \
     frames_analyzed = :frames_analyzed, blinks = :blinks, long_closures = :long_closures, \
     eyes_seen_ms = :eyes_seen_ms, eyes_shut_ms = :eyes_shut_ms";

/// `others` followed by the parameters of [`TOTALS_SET`] for `totals`.
fn with_totals<'a>(
    totals: &'a Totals,
    others: &[(&'a str, &'a dyn ToSql)],
) -> Vec<(&'a str, &'a dyn ToSql)> {
    let mut all = others.to_vec();
    all.extend([
        (":total_ms", &totals.total_ms as &dyn ToSql),
        (":focused_ms", &totals.focused_ms),
        (":unfocused_ms", &totals.unfocused_ms),
        (":starting_ms", &totals.starting_ms),
        (":paused_ms", &totals.paused_ms),
        (":offline_ms", &totals.offline_ms),
        (":breaks", &totals.breaks),
        (":longest_focus_ms", &totals.longest_focus_ms),
        (":frames_analyzed", &totals.frames_analyzed),
        (":blinks", &totals.eyes.blinks),
        (":long_closures", &totals.eyes.long_closures),
        (":eyes_seen_ms", &totals.eyes.eyes_seen_ms),
        (":eyes_shut_ms", &totals.eyes.eyes_shut_ms),
    ]);
    all
}

#[cfg(test)]
pub(crate) mod tests;
