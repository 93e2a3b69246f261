//! Ending sessions: [`Sessions::end`] (the user's end, the planned end) and
//! [`Sessions::shutdown`].
//!
//! The end is stored or it did not happen. The final totals and the session's email/SMS are
//! written first, in one transaction; only once they are stored does the page hear that the
//! session ended and is it taken off the registry. If that write fails (a full disk,
//! a database another program keeps locked), the clock is put back as it was before the
//! end, the session keeps running and can be ended again: the caller gets
//! [`SessionError::EndNotSaved`] with the reason. The closing stretches of the timeline
//! are written after the totals: losing them (logged) never loses the summary.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use focus_store::{EndReason, Ending, SessionStatus, Totals};

use super::{EndKind, LiveSession, SessionError, SessionSummary, Sessions};
use super::{timeline_record, to_clock_ms, to_db_ms};
use crate::db::DbError;
use crate::error::error_chain;
use crate::notifier::summaries_due_ms;

impl Sessions {
    /// Ends a session and returns its summary. For a session that has already ended,
    /// returns the stored summary unchanged.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotFound`]; [`SessionError::EndNotSaved`] when the end could not be
    /// stored: the session is still running and may be ended again.
    pub async fn end(&self, id: i64, kind: EndKind) -> Result<SessionSummary, SessionError> {
        if let Some(live) = self.live(id) {
            return self.end_live(&live, kind).await;
        }
        let session = match self.inner.db.call(move |s| s.get_session(id)).await {
            Err(DbError::NotFound) => return Err(SessionError::NotFound(id)),
            other => other?,
        };
        if session.is_finished() {
            return Ok(SessionSummary::from_session(&session));
        }
        // Running in the database but not here: its clock is gone (a start that failed
        // half-way). Close it with what was saved, as crash recovery would.
        let totals = session.totals;
        let ended_at = session.updated_at_ms;
        let session = self
            .inner
            .db
            .call(move |s| {
                s.finish_session(
                    id,
                    &totals,
                    ended_at,
                    true,
                    SessionStatus::Interrupted,
                    EndReason::ServerLost,
                )
            })
            .await
            .map_err(|source| SessionError::EndNotSaved { id, source })?;
        Ok(SessionSummary::from_session(&session))
    }

    pub(super) async fn end_live(
        &self,
        live: &Arc<LiveSession>,
        kind: EndKind,
    ) -> Result<SessionSummary, SessionError> {
        let _persist = live.persist.lock().await;
        if let Some(summary) = live.ended_summary() {
            return Ok(summary);
        }
        let now = self.now_ms();
        let end_at = match kind {
            EndKind::Planned => live.ends_at_ms,
            EndKind::Requested | EndKind::Shutdown => now.min(live.ends_at_ms),
        };
        let (status, ended_early, end_reason) = match kind {
            EndKind::Planned => (SessionStatus::Completed, false, EndReason::Planned),
            EndKind::Requested => (
                SessionStatus::Completed,
                end_at < live.ends_at_ms,
                EndReason::User,
            ),
            EndKind::Shutdown => (
                SessionStatus::Interrupted,
                end_at < live.ends_at_ms,
                EndReason::ServerStopped,
            ),
        };
        // The clock as it was, to put back if the end cannot be stored.
        // `events`: the stretches not yet saved (its first `unsaved_before`) and those the
        // end closes.
        let (
            clock_before,
            unsaved_before,
            clock_summary,
            events,
            (frames_analyzed, eyes, zone_time),
        ) = {
            let mut state = live.lock_state();
            let before = state.clock.clone();
            let (summary, closing) = state.clock.finish(to_clock_ms(end_at));
            let mut events = std::mem::take(&mut state.unsaved);
            let unsaved_before = events.len();
            events.extend(closing.iter().filter_map(timeline_record));
            (
                before,
                unsaved_before,
                summary,
                events,
                (
                    state.frames_analyzed,
                    state.eyes.counts(),
                    state.zones.zone_time(&summary.zone_ms),
                ),
            )
        };
        // The clock never ends before a time it has already seen, so take its end.
        let ended_at_ms = live
            .started_at_ms
            .saturating_add(to_db_ms(clock_summary.total_ms));
        let totals = Totals {
            total_ms: clock_summary.total_ms,
            focused_ms: clock_summary.focused_ms,
            unfocused_ms: clock_summary.unfocused_ms,
            starting_ms: clock_summary.starting_ms,
            paused_ms: clock_summary.paused_ms,
            offline_ms: clock_summary.offline_ms,
            breaks: clock_summary.breaks,
            longest_focus_ms: clock_summary.longest_focus_ms,
            frames_analyzed,
            eyes,
            zone_time,
        };
        let id = live.id;
        let ending = Ending {
            totals: totals.clone(),
            ended_at_ms,
            ended_early,
            status,
            end_reason,
        };
        // The summaries are queued in the same transaction as the end: both or neither.
        let due_ms = summaries_due_ms(status, live.ends_at_ms, now);
        let finish = self
            .inner
            .db
            .call(move |s| s.finish_session_queued(id, &ending, due_ms, now))
            .await;
        let (session, queued) = match finish {
            Ok(finished) => finished,
            Err(source) if kind != EndKind::Shutdown => {
                // Nothing was stored: the session runs on as if the end had not been asked
                // for, with its clock and unsaved stretches as they were.
                let mut state = live.lock_state();
                state.clock = clock_before;
                let mut unsaved = events;
                unsaved.truncate(unsaved_before);
                unsaved.append(&mut state.unsaved);
                state.unsaved = unsaved;
                tracing::error!(session = id, ?kind, error = %error_chain(&source), "could not save the end of the session; it keeps running");
                return Err(SessionError::EndNotSaved { id, source });
            }
            Err(e) => {
                // The server is stopping: the row stays `running` with its last saved
                // totals and is closed as interrupted at the next start. The page still
                // hears that the session ended.
                tracing::error!(session = id, error = %error_chain(&e), "could not save the end of the session at shutdown");
                let summary = SessionSummary::from_totals(
                    id,
                    &totals,
                    ended_early,
                    status,
                    Some(end_reason),
                    live.profile.clone(),
                );
                live.ended.send_replace(Some(summary.clone()));
                self.live_map().remove(&id);
                return Ok(summary);
            }
        };
        if !events.is_empty() {
            let result = self
                .inner
                .db
                .call(move |s| s.append_events(id, &events))
                .await;
            // The timeline is best effort: the summary is stored already.
            if let Err(e) = result {
                tracing::error!(session = id, error = %error_chain(&e), "could not save the last stretches");
            }
        }
        // The email/SMS were queued with the end; the worker sends them in the background.
        self.inner.notifier.queued(id, &queued);
        let summary = SessionSummary::from_session(&session);
        live.ended.send_replace(Some(summary.clone()));
        self.live_map().remove(&id);
        tracing::info!(
            session = id,
            ?kind,
            total_ms = totals.total_ms,
            focus_percent = summary.focus_percent,
            "session ended"
        );
        Ok(summary)
    }

    /// Ends every open session as interrupted, saving their totals, and refuses new ones.
    /// Connected pages are told the session ended, and their sockets close.
    pub async fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        let open: Vec<Arc<LiveSession>> = self.live_map().values().cloned().collect();
        for live in open {
            if let Err(e) = self.end_live(&live, EndKind::Shutdown).await {
                tracing::error!(session = live.id, error = %error_chain(&e), "could not save the session at shutdown");
            }
        }
    }
}
