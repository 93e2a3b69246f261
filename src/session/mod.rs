//! Live sessions: each open session's focus clock, its ticker, periodic saving and its end.
//!
//! [`Sessions`] is the registry of open sessions (the server's source of truth while they
//! run; the database has their last saved state). For each one:
//!
//! - frames observed by the WebSocket handler go through [`LiveSession::observe`], which
//!   feeds the verdict to the [`FocusClock`] at the server's time;
//! - a ticker task ticks the clock every [`Timing::tick_interval`] (so "no signal" time and
//!   alerts happen with no frames), saves the totals and the closed stretches every
//!   [`Timing::save_interval`], and ends the session at its planned time;
//! - a session that no page streams for [`Timing::pause_unstreamed_after`] (10 min) is
//!   paused by the ticker, and a paused session nobody streams is no longer saved every
//!   [`Timing::save_interval`] (its paused time counts for nothing): a forgotten tab or a
//!   script that starts sessions costs a timer tick, not a write every 2 s. The page that
//!   comes back finds it paused and resumes it; its planned end ends it as usual;
//! - [`Sessions::end`] (module `end`) finishes the clock, writes the final totals and
//!   timeline, hands the session to the [`Notifier`] (which queues its email/SMS and
//!   returns; sending happens in the background), tells the connected page (`ended` watch
//!   channel) and removes it from the registry. Ending is idempotent: later calls return the
//!   same summary. An end that cannot be stored is refused and the session runs on.
//!
//! Writes of one session are serialised by its `persist` lock, so a periodic save can never
//! land after the final one.

mod end;
mod error;
mod eyes;
mod profile;
mod records;
mod streams;
pub mod summary;
mod ticker;
mod zones;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use focus_clock::{FocusClock, FocusEvent, Snapshot};
use focus_store::{EyeCounts, NewEvent, NewSession, Session, SessionStatus, ZoneTime};
use focus_vision::{FrameAnalysis, Profile};
use serde::Serialize;
use tokio::sync::watch;

use crate::config::Timing;
use crate::db::{Db, DbError};
use crate::error::error_chain;
use crate::notifier::Notifier;
use crate::profiles::SavedProfile;
use crate::time::TimeSource;
use crate::vision::{SessionTracker, Vision};

pub use error::SessionError;
pub use eyes::LiveFatigue;
use eyes::SessionEyes;
pub use records::attention_of;
use records::{
    clock_params, open_stretch, summary_of, timeline_record, to_clock_ms, to_db_ms, totals_of,
};
pub use streams::StreamGuard;
use streams::Streams;
pub use summary::{SessionProfile, SessionSummary, ZoneSeconds};
use zones::SessionZones;

/// Why a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// The planned time ran out (the ticker ends it at exactly its planned end).
    Planned,
    /// The user ended it (`POST /api/sessions/{id}/end`).
    Requested,
    /// The server is shutting down: saved as interrupted.
    Shutdown,
}

/// The registry of open sessions. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    live: Mutex<HashMap<i64, Arc<LiveSession>>>,
    db: Db,
    vision: Vision,
    time: Arc<dyn TimeSource>,
    notifier: Notifier,
    timing: Timing,
    closing: AtomicBool,
    /// Sessions that may run at once.
    max_running: usize,
}

impl Sessions {
    pub fn new(
        db: Db,
        vision: Vision,
        time: Arc<dyn TimeSource>,
        notifier: Notifier,
        timing: Timing,
    ) -> Self {
        Sessions {
            inner: Arc::new(Inner {
                live: Mutex::new(HashMap::new()),
                db,
                vision,
                time,
                notifier,
                timing,
                closing: AtomicBool::new(false),
                max_running: usize::MAX,
            }),
        }
    }

    /// Refuses to start or continue a session while `max` are running
    /// ([`SessionError::TooMany`]). Call before the registry is shared.
    #[must_use]
    pub fn with_max_running(mut self, max: usize) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.max_running = max.max(1);
        }
        self
    }

    /// [`SessionError::TooMany`] when as many sessions run as allowed.
    fn check_room(&self) -> Result<(), SessionError> {
        let max = self.inner.max_running;
        if self.live_count() >= max {
            return Err(SessionError::TooMany(max));
        }
        Ok(())
    }

    /// The server's current time, ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.inner.time.now_ms()
    }

    /// The shared vision pipeline.
    pub fn vision(&self) -> &Vision {
        &self.inner.vision
    }

    fn live_map(&self) -> MutexGuard<'_, HashMap<i64, Arc<LiveSession>>> {
        // The map is only ever inserted into or removed from; a panic elsewhere cannot
        // leave it half-updated.
        self.inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session: saves it, starts its clock and its ticker.
    pub async fn start(&self, new: NewSession) -> Result<Session, SessionError> {
        if self.inner.closing.load(Ordering::SeqCst) {
            return Err(SessionError::ShuttingDown);
        }
        self.check_room()?;
        let saved = self.profile_to_start(new.profile_id).await?;
        // The session keeps what it is judged with as it is now: for its history, and to
        // judge with the same numbers if it is continued after a restart.
        let new = NewSession {
            profile_used: saved.as_ref().map(SavedProfile::used),
            profile_data: saved.as_ref().map(|saved| saved.profile.to_json()),
            ..new
        };
        let profile = saved.map(|saved| Arc::new(saved.profile));
        let session = self.inner.db.call(move |s| s.create_session(&new)).await?;
        let clock = FocusClock::new(clock_params(&session), to_clock_ms(session.started_at_ms));
        let zones = SessionZones::new(profile_zones(&session), &[]);
        self.open_live(
            &session,
            (clock, Vec::new(), zones),
            profile,
            EyeCounts::default(),
        )
        .await?;
        tracing::info!(
            session = session.id,
            planned_s = session.planned_duration_s,
            "session started"
        );
        Ok(session)
    }

    /// Registers a running session with its clock (with the stretches not yet saved and its
    /// zones' names), the profile its frames are judged with and the eye counts it had
    /// before a restart, and starts its ticker.
    async fn open_live(
        &self,
        session: &Session,
        (clock, unsaved, zones): (FocusClock, Vec<NewEvent>, SessionZones),
        profile: Option<Arc<Profile>>,
        eyes_before: EyeCounts,
    ) -> Result<Arc<LiveSession>, SessionError> {
        let vision = &self.inner.vision;
        let eyes = SessionEyes::new(vision.fatigue_params(profile.is_some()), eyes_before);
        let tracker = vision.tracker();
        tracker.set_profile(profile);
        let live = Arc::new(LiveSession::new(
            session,
            (clock, unsaved, eyes, zones),
            tracker,
            Arc::clone(&self.inner.time),
        ));
        self.live_map().insert(session.id, Arc::clone(&live));
        tokio::spawn(ticker::run_ticker(self.clone(), Arc::clone(&live)));
        // Shutdown may have begun between the caller's check and the insert: then it may
        // have missed this session, so end it here (ending twice is harmless).
        if self.inner.closing.load(Ordering::SeqCst) {
            self.end_live(&live, EndKind::Shutdown).await?;
            return Err(SessionError::ShuttingDown);
        }
        Ok(live)
    }

    /// Pauses a running session: the time from now is paused, neither focused nor
    /// unfocused; frames do not count until it is resumed. Pausing a paused session
    /// changes nothing. The planned end does not move.
    pub async fn pause(&self, id: i64) -> Result<LiveState, SessionError> {
        let live = self.running(id).await?;
        let state = live.pause().map_err(|_| SessionError::NotRunning(id))?;
        tracing::info!(session = id, "session paused");
        Ok(state)
    }

    /// Resumes a session: a paused one carries on (starting again: the next frames must
    /// settle before a verdict counts); one that is running and not paused is left as it
    /// is; one that the server's stop interrupted before its planned end is continued as
    /// the same session, with the time the server was down counted as offline.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotFound`]; [`SessionError::NotRunning`] for a completed session
    /// or an interrupted one whose planned end has passed.
    pub async fn resume(&self, id: i64) -> Result<(Session, LiveState), SessionError> {
        if let Some(live) = self.live(id) {
            let state = live.resume().map_err(|_| SessionError::NotRunning(id))?;
            let session = self.load(id).await?;
            tracing::info!(session = id, "session resumed");
            return Ok((session, state));
        }
        if self.inner.closing.load(Ordering::SeqCst) {
            return Err(SessionError::ShuttingDown);
        }
        let now = self.now_ms();
        let stored = self.load(id).await?;
        if stored.status != SessionStatus::Interrupted || now >= stored.ends_at_ms {
            return Err(SessionError::NotRunning(id));
        }
        self.check_room()?;
        let (before, session) = match self.inner.db.call(move |s| s.reopen_session(id, now)).await {
            Ok(reopened) => reopened,
            // Another request continued it first.
            Err(DbError::Store(focus_store::Error::Conflict(_))) => {
                return Err(SessionError::NotRunning(id));
            }
            Err(e) => return Err(e.into()),
        };
        let stored_zones = &before.totals.zone_time;
        let mut zones = SessionZones::new(profile_zones(&session), stored_zones);
        let (clock, events) = FocusClock::restore(
            clock_params(&session),
            to_clock_ms(session.started_at_ms),
            &summary_of(&before.totals, zones.clock_times(stored_zones)),
            to_clock_ms(now),
        );
        let unsaved = events.iter().filter_map(timeline_record).collect();
        let profile = self.profile_to_continue(&session).await;
        let live = self
            .open_live(
                &session,
                (clock, unsaved, zones),
                profile,
                before.totals.eyes,
            )
            .await?;
        live.lock_state().frames_analyzed = before.totals.frames_analyzed;
        // Save at once: the offline stretch and the totals that now include it.
        self.save(&live).await;
        let state = live.current().map_err(|_| SessionError::NotRunning(id))?;
        tracing::info!(
            session = id,
            offline_ms = state.clock.offline_ms,
            "interrupted session continued"
        );
        let session = self.load(id).await?;
        Ok((session, state))
    }

    /// The open session with this id, or why there is none.
    async fn running(&self, id: i64) -> Result<Arc<LiveSession>, SessionError> {
        match self.live(id) {
            Some(live) => Ok(live),
            None => {
                self.load(id).await?;
                Err(SessionError::NotRunning(id))
            }
        }
    }

    async fn load(&self, id: i64) -> Result<Session, SessionError> {
        match self.inner.db.call(move |s| s.get_session(id)).await {
            Err(DbError::NotFound) => Err(SessionError::NotFound(id)),
            other => Ok(other?),
        }
    }

    /// The open session with this id, if it is running.
    pub fn live(&self, id: i64) -> Option<Arc<LiveSession>> {
        self.live_map().get(&id).cloned()
    }

    /// Number of open sessions.
    pub fn live_count(&self) -> usize {
        self.live_map().len()
    }

    /// Saves the running totals and the stretches closed since the last save.
    async fn save(&self, live: &LiveSession) {
        let _persist = live.persist.lock().await;
        let now = self.now_ms();
        let (totals, events, open) = {
            let mut state = live.lock_state();
            if live.ended.borrow().is_some() {
                return;
            }
            let at = state.advance(now, live.ends_at_ms);
            let snapshot = state.clock.snapshot(at);
            state.last_saved_ms = now;
            (
                totals_of(
                    &snapshot,
                    state.frames_analyzed,
                    state.eyes.counts(),
                    state.zones.zone_time(&snapshot.zone_ms),
                ),
                std::mem::take(&mut state.unsaved),
                open_stretch(&state.clock),
            )
        };
        let id = live.id;
        let batch = events.clone();
        let result = self
            .inner
            .db
            .call(move |s| {
                s.save_totals(id, &totals, now)?;
                if !batch.is_empty() {
                    s.append_events(id, &batch)?;
                }
                // Only for crash recovery's timeline: a failure here must not make the
                // stretches above be written again.
                if let Err(e) = s.save_open_stretch(id, open.as_ref()) {
                    tracing::warn!(session = id, error = %error_chain(&e), "could not save the open stretch");
                }
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(session = id, error = %error_chain(&e), "could not save the session; will retry");
            // Keep the unsaved stretches for the next try (the totals are recomputed).
            let mut state = live.lock_state();
            let later = std::mem::replace(&mut state.unsaved, events);
            state.unsaved.extend(later);
        }
    }
}

/// One open session.
#[derive(Debug)]
pub struct LiveSession {
    pub id: i64,
    pub started_at_ms: i64,
    pub ends_at_ms: i64,
    /// The calibration profile it is judged with, as it was at the start.
    pub profile: Option<SessionProfile>,
    state: Mutex<SessionClock>,
    /// Serialises this session's database writes (periodic saves and the final one).
    persist: tokio::sync::Mutex<()>,
    tracker: SessionTracker,
    time: Arc<dyn TimeSource>,
    /// `Some(summary)` once the session has ended.
    ended: watch::Sender<Option<SessionSummary>>,
    /// Bumped on every clock tick, so idle sockets can push the state.
    ticks: watch::Sender<u64>,
    /// Bumped when the user pauses or resumes, so the socket pushes the state at once (and
    /// stops or starts asking for frames).
    changes: watch::Sender<u64>,
    /// Bumped when a page connects: an older connection of the same session stops, so
    /// there is only ever one stream (and one frame in flight) per session.
    connections: watch::Sender<u64>,
    /// Live connections open now, and since when there has been none.
    streams: Arc<Mutex<Streams>>,
}

#[derive(Debug)]
struct SessionClock {
    clock: FocusClock,
    /// Latest time given to the clock; the clock never goes back.
    clock_ms: u64,
    /// Closed stretches and breaks not yet written.
    unsaved: Vec<NewEvent>,
    last_saved_ms: i64,
    /// Frames whose verdict was fed to the clock.
    frames_analyzed: u64,
    /// Blinks and PERCLOS of those frames.
    eyes: SessionEyes,
    /// The names of the zones the clock keeps time for.
    zones: SessionZones,
}

impl SessionClock {
    /// The clock's time for the server time `now_ms`: capped at the planned end, and never
    /// before a time the clock has already been given (the clock never goes back).
    fn clock_time(&self, now_ms: i64, ends_at_ms: i64) -> u64 {
        to_clock_ms(now_ms.min(ends_at_ms)).max(self.clock_ms)
    }

    /// Ticks the clock to `now` (capped at the planned end) and queues what it closed.
    /// Returns the time used.
    fn advance(&mut self, now_ms: i64, ends_at_ms: i64) -> u64 {
        let at = self.clock_time(now_ms, ends_at_ms);
        self.clock_ms = at;
        let events = self.clock.tick(at);
        self.unsaved
            .extend(events.iter().filter_map(timeline_record));
        at
    }
}

impl LiveSession {
    fn new(
        session: &Session,
        (clock, unsaved, eyes, zones): (FocusClock, Vec<NewEvent>, SessionEyes, SessionZones),
        tracker: SessionTracker,
        time: Arc<dyn TimeSource>,
    ) -> Self {
        let clock_ms = clock.now_ms();
        LiveSession {
            id: session.id,
            started_at_ms: session.started_at_ms,
            ends_at_ms: session.ends_at_ms,
            profile: SessionProfile::of(session),
            state: Mutex::new(SessionClock {
                clock,
                clock_ms,
                unsaved,
                last_saved_ms: session.updated_at_ms,
                frames_analyzed: 0,
                eyes,
                zones,
            }),
            persist: tokio::sync::Mutex::new(()),
            tracker,
            time: Arc::clone(&time),
            ended: watch::Sender::new(None),
            ticks: watch::Sender::new(0),
            changes: watch::Sender::new(0),
            connections: watch::Sender::new(0),
            streams: Arc::new(Mutex::new(Streams {
                open: 0,
                none_since_ms: time.now_ms(),
            })),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, SessionClock> {
        // Every update of the state is a few field writes after the clock call returns; a
        // panic inside the clock would leave the previous consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This session's face tracker.
    pub fn tracker(&self) -> &SessionTracker {
        &self.tracker
    }

    /// The summary, once the session has ended.
    pub fn ended_summary(&self) -> Option<SessionSummary> {
        self.ended.borrow().clone()
    }

    /// Resolves when the session ends (at once if it has).
    pub fn subscribe_ended(&self) -> watch::Receiver<Option<SessionSummary>> {
        self.ended.subscribe()
    }

    /// Changes on every clock tick.
    pub fn subscribe_ticks(&self) -> watch::Receiver<u64> {
        self.ticks.subscribe()
    }

    /// Changes when the user pauses or resumes.
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Whether the session is paused (the socket asks for no frames meanwhile).
    pub fn is_paused(&self) -> bool {
        self.lock_state().clock.is_paused()
    }

    /// Pauses the clock now; the live state, or the summary if the session has ended.
    fn pause(&self) -> Result<LiveState, Box<SessionSummary>> {
        self.apply(|state, at| state.clock.pause(at))
    }

    /// Resumes the clock now (starting again); a no-op unless paused.
    fn resume(&self) -> Result<LiveState, Box<SessionSummary>> {
        self.apply(|state, at| state.clock.resume(at))
    }

    /// Applies a user's action to the clock at the server's time, queues what it closed
    /// and tells the socket.
    fn apply(
        &self,
        action: impl FnOnce(&mut SessionClock, u64) -> Vec<FocusEvent>,
    ) -> Result<LiveState, Box<SessionSummary>> {
        let live = self.update(action)?;
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        Ok(live)
    }

    /// Runs `action` on the clock at the server's current time (capped at the planned end,
    /// never going back), queues the stretches it closed and returns the live state, or the
    /// summary if the session has ended.
    fn update(
        &self,
        action: impl FnOnce(&mut SessionClock, u64) -> Vec<FocusEvent>,
    ) -> Result<LiveState, Box<SessionSummary>> {
        let mut state = self.lock_state();
        if let Some(summary) = self.ended_summary() {
            return Err(Box::new(summary));
        }
        let now = self.time.now_ms();
        let at = state.clock_time(now, self.ends_at_ms);
        state.clock_ms = at;
        let events = action(&mut state, at);
        state
            .unsaved
            .extend(events.iter().filter_map(timeline_record));
        Ok(self.to_live_state(&state, at, now))
    }

    /// Registers a new connection of the page and returns its number and a receiver that
    /// changes when a newer connection replaces it.
    pub fn connect(&self) -> (u64, watch::Receiver<u64>) {
        let mut generation = 0;
        self.connections.send_modify(|n| {
            *n = n.wrapping_add(1);
            generation = *n;
        });
        (generation, self.connections.subscribe())
    }

    /// Feeds one frame's verdict to the clock at the server's current time and returns the
    /// live state, or the summary if the session has ended.
    pub fn observe(&self, analysis: &FrameAnalysis) -> Result<LiveState, Box<SessionSummary>> {
        self.update(|state, at| {
            let attention =
                (state.zones).attention(attention_of(analysis), analysis.zone.as_deref());
            let events = state.clock.observe(attention, at);
            if !state.clock.is_paused() {
                state.frames_analyzed = state.frames_analyzed.saturating_add(1);
                state.eyes.observe(at, analysis);
            }
            events
        })
    }

    /// Frames whose verdict counted on the clock so far.
    pub fn frames_analyzed(&self) -> u64 {
        self.lock_state().frames_analyzed
    }

    /// The live state now, without a frame.
    pub fn current(&self) -> Result<LiveState, Box<SessionSummary>> {
        let state = self.lock_state();
        if let Some(summary) = self.ended_summary() {
            return Err(Box::new(summary));
        }
        let now = self.time.now_ms();
        let at = state.clock_time(now, self.ends_at_ms);
        Ok(self.to_live_state(&state, at, now))
    }

    /// The live state of `state` at the clock's time `at` (server time `now_ms`).
    fn to_live_state(&self, state: &SessionClock, at: u64, now_ms: i64) -> LiveState {
        let clock = state.clock.snapshot(at);
        LiveState {
            zone_name: clock
                .zone
                .and_then(|zone| state.zones.name(zone))
                .map(str::to_owned),
            zone_time: state.zones.zone_time(&clock.zone_ms),
            clock,
            remaining_ms: u64::try_from(self.ends_at_ms.saturating_sub(now_ms)).unwrap_or(0),
            frames_analyzed: state.frames_analyzed,
            fatigue: state.eyes.live(),
        }
    }
}

/// The clock's numbers as the live page gets them (the `live` WebSocket reply, less the
/// per-frame fields): the clock's [`Snapshot`] fields, flattened, plus the time left.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveState {
    #[serde(flatten)]
    pub clock: Snapshot,
    /// Time to the planned end.
    pub remaining_ms: u64,
    /// Frames whose verdict counted on the clock so far.
    pub frames_analyzed: u64,
    /// Blinks so far, and the last minute's blink rate and PERCLOS.
    pub fatigue: LiveFatigue,
    /// The extra zone the clock counts the user as focused on ("notes"; debounced like the
    /// state, so it follows the frame's own verdict by about the debounce); `null` on the
    /// screen or when not focused.
    pub zone_name: Option<String>,
    /// Focused time so far on each of the session's extra zones, in the profile's order
    /// (every zone, 0 for those not looked at; `[]` without zones): a part of
    /// `focused_ms`.
    pub zone_time: Vec<ZoneTime>,
}

/// The zones of the profile a session was judged with, as they were at its start.
fn profile_zones(session: &Session) -> &[String] {
    session
        .profile_used
        .as_ref()
        .map_or(&[], |used| used.zones.as_slice())
}
