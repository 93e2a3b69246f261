//! The vision pipeline as the server uses it: one shared [`FaceAnalyzer`] (models loaded once
//! at start-up), one [`FaceTracker`] per live session, and a bounded number of inference
//! slots: frames of different sessions analysed at the same moment, all sessions together
//! ([`FrameBounds::inference_slots`], `FOCUS_INFERENCE_SLOTS`, one per core by default).
//!
//! Inference is CPU-bound (~10 ms of CPU a frame on the 2-core test machine). Each slot has
//! an inference thread of its own ([`InferenceThread`], started when the slot is first
//! used): a frame in a slot runs there from start to end, decoded, cropped, its networks run
//! and judged, on that one thread, never on an async worker (a tokio blocking thread waits
//! for it). So with one slot per core every core analyses a frame of its own, whole. That
//! measured better than the frames' networks sharing rten's pool of one thread per core
//! (README, Load): splitting one frame's layers over the cores buys nothing when every core
//! already has a frame, and it cost ~5% more CPU a frame (rayon's splitting, stealing and
//! idle spinning), left gaps while a frame was decoded and cropped (which needed a second
//! slot per core to fill), and a frame alone was no faster for it (p50 ~12 ms at one
//! session either way, since decoding and cropping do not split). Frames are analysed in
//! memory and dropped; they are never stored or logged.
//!
//! Frames held in memory are bounded twice. Each session has one frame permit, so at most
//! one of its frames waits or runs at a time, whichever connection sent it (a page that
//! reconnects in a loop cannot pile frames up). And the server as a whole holds at most
//! [`Vision::max_held_frames`] frames for analysis (see [`FrameBounds`]): room for one frame
//! of every session the server lets run plus a framing check, up to a ceiling that keeps
//! memory bounded when the session cap is raised. Beyond that a frame is refused at once
//! ([`AnalyzeError::Busy`]) rather than queued. Permits are held by the inference itself,
//! so a frame whose connection went away frees its place when its inference ends (a
//! waiting frame is freed at once: the caller aborts its task).
//!
//! The camera preview's framing check ([`Vision::check_framing`]) runs one frame at a time for
//! the whole server (a second check while one runs is refused, not queued) and takes an
//! inference slot like any session's frame.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use focus_vision::engine::InferenceThread;
use focus_vision::fatigue::FatigueParams;
use focus_vision::framing::{Framing, FramingParams, assess_framing};
use focus_vision::{DecodeLimits, FaceAnalyzer, FaceTracker, FrameAnalysis};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a frame got no verdict.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The frame itself is unusable (not an image, corrupt, too small or too large). The
    /// message is fit to show the user.
    #[error("{0}")]
    Frame(focus_vision::Error),
    /// The models failed; not the client's fault.
    #[error("the frame could not be analysed")]
    Internal(#[source] focus_vision::Error),
    /// The inference task panicked.
    #[error("the frame could not be analysed")]
    Task(#[from] tokio::task::JoinError),
    /// The server holds as many frames as it allows (or this session's previous frame is
    /// still being analysed); this one was dropped unanalysed. Send another in a moment.
    #[error("the server is busy analysing other frames; this one was skipped")]
    Busy,
}

impl From<focus_vision::Error> for AnalyzeError {
    fn from(error: focus_vision::Error) -> Self {
        match error {
            focus_vision::Error::Model(_) => AnalyzeError::Internal(error),
            other => AnalyzeError::Frame(other),
        }
    }
}

/// Why a framing check got no answer.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Another framing check is running; try again in a moment.
    #[error("another framing check is running")]
    Busy,
    /// The frame could not be analysed.
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
}

/// A frame's framing check: its verdict and where the face sits.
#[derive(Debug, Clone)]
pub struct FrameCheck {
    pub analysis: FrameAnalysis,
    pub framing: Framing,
}

/// How many frames the server analyses at once and how many it holds (waiting or running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameBounds {
    /// Frames analysed at once, all sessions together (at least 1).
    pub inference_slots: usize,
    /// Frames held for analysis at once, waiting for a slot or running.
    pub held_frames: usize,
}

impl FrameBounds {
    /// The most frames held whatever the session cap: a waiting frame keeps its JPEG (at
    /// most 2 MB), so 48 of them stay under ~100 MB and a server stormed with frames stays
    /// under issue 9's 200 MB.
    pub const HELD_FRAMES_CEILING: usize = 48;

    /// `inference_slots` frames analysed at once; room held for one frame of each of
    /// `max_sessions` running sessions plus one framing check (so no session that is allowed
    /// to run is ever refused as busy for another session's frame), at most
    /// [`FrameBounds::HELD_FRAMES_CEILING`].
    pub fn new(inference_slots: usize, max_sessions: usize) -> FrameBounds {
        FrameBounds {
            inference_slots: inference_slots.max(1),
            held_frames: max_sessions
                .saturating_add(1)
                .min(Self::HELD_FRAMES_CEILING),
        }
    }
}

/// The shared analyser plus the inference slots. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Vision {
    analyzer: Arc<FaceAnalyzer>,
    slots: Arc<Slots>,
    /// One framing check at a time, server-wide.
    check_slot: Arc<Semaphore>,
    /// Frames waiting for a slot or being analysed, all sessions and checks together.
    held: Arc<Semaphore>,
    max_held: usize,
    /// Frames being analysed this moment (inside an inference slot, on a blocking thread),
    /// and the most at once since [`Vision::take_peak_analysing`] last asked.
    analysing: Arc<Gauge>,
}

/// The inference slots: a permit each, and the threads of the slots used so far.
#[derive(Debug)]
struct Slots {
    permits: Arc<Semaphore>,
    total: usize,
    /// Threads of slots not in use now; a slot whose permit finds none starts one, so there
    /// are never more than `total`.
    idle: Mutex<Vec<InferenceThread>>,
}

impl Slots {
    fn new(total: usize) -> Slots {
        Slots {
            permits: Arc::new(Semaphore::new(total)),
            total,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Waits for a free slot (first come, first served).
    async fn acquire(self: &Arc<Self>) -> Slot {
        // The semaphore is never closed, so acquiring only fails if it were; treat that as
        // "run anyway" (on a thread of its own) rather than refusing frames.
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok();
        Slot {
            slots: Arc::clone(self),
            thread: None,
            _permit: permit,
        }
    }
}

/// A slot held: its permit, and its thread once [`Slot::run`] has taken one.
struct Slot {
    slots: Arc<Slots>,
    thread: Option<InferenceThread>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Slot {
    /// Runs `op` on the slot's inference thread, networks included, and waits for it.
    fn run<R: Send>(&mut self, op: impl FnOnce() -> R + Send) -> R {
        let slots = &self.slots;
        self.thread
            .get_or_insert_with(|| {
                let idle = slots
                    .idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop();
                idle.unwrap_or_default()
            })
            .run(op)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Runs before the permit is released (fields drop after this), so the next holder
        // of the permit finds the thread idle.
        if let Some(thread) = self.thread.take() {
            self.slots
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(thread);
        }
    }
}

/// A count of frames being analysed and its high-water mark.
#[derive(Debug, Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    /// One more frame is being analysed until the guard drops.
    fn enter(self: &Arc<Self>) -> GaugeGuard {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        GaugeGuard(Arc::clone(self))
    }
}

struct GaugeGuard(Arc<Gauge>);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Vision {
    /// Loads the models compiled into the binary (about half a second), to analyse and hold
    /// frames within `bounds`.
    ///
    /// Decoding is limited to 4 megapixels and 4096 px a side: webcam frames are far
    /// smaller, and the limit keeps a small but hostile JPEG from allocating gigabytes.
    pub fn load_embedded(bounds: FrameBounds) -> Result<Vision, focus_vision::Error> {
        let limits = DecodeLimits {
            max_pixels: 4 * 1024 * 1024,
            max_side: 4096,
            ..DecodeLimits::default()
        };
        // The networks run on each slot's own thread (see the module docs); rten's global
        // pool, which `embedded` names, only serves the models' loading.
        let analyzer = FaceAnalyzer::embedded()?.with_limits(limits);
        Ok(Vision::with_analyzer(Arc::new(analyzer), bounds))
    }

    /// The same models (nothing is loaded again) with bounds of their own: fresh slots and
    /// places for frames, shared with nobody. Tests load the models once and give each app
    /// the bounds its configuration asks for.
    pub fn with_bounds(&self, bounds: FrameBounds) -> Vision {
        Vision::with_analyzer(Arc::clone(&self.analyzer), bounds)
    }

    fn with_analyzer(analyzer: Arc<FaceAnalyzer>, bounds: FrameBounds) -> Vision {
        // A semaphore cannot hold more than `Semaphore::MAX_PERMITS`; zero would refuse all.
        let slots = bounds.inference_slots.clamp(1, Semaphore::MAX_PERMITS);
        let max_held = bounds.held_frames.clamp(1, Semaphore::MAX_PERMITS);
        Vision {
            analyzer,
            slots: Arc::new(Slots::new(slots)),
            check_slot: Arc::new(Semaphore::new(1)),
            held: Arc::new(Semaphore::new(max_held)),
            max_held,
            analysing: Arc::default(),
        }
    }

    /// Frames analysed at once at most, all sessions and framing checks together.
    pub fn inference_slots(&self) -> usize {
        self.slots.total
    }

    /// The most frames analysed at the same moment since the last call (or since the
    /// start), then starts counting afresh from the frames being analysed now. The load
    /// test reports it per step; a test checks that frames of different sessions do run
    /// side by side, and never more than [`Vision::inference_slots`].
    pub fn take_peak_analysing(&self) -> usize {
        let now = self.analysing.now.load(Ordering::SeqCst);
        self.analysing.peak.swap(now, Ordering::SeqCst)
    }

    /// The most frames the server holds for analysis at once (waiting or running).
    pub fn max_held_frames(&self) -> usize {
        self.max_held
    }

    /// Frames held for analysis now (waiting for a slot or running).
    pub fn held_frames(&self) -> usize {
        self.max_held - self.held.available_permits()
    }

    /// The fatigue rules for a session's stream: a blink is a closure the verdict itself
    /// reads as closed (relative to the person's open eyes with a calibration profile), and
    /// the figures need the shared minimum of eyes seen.
    pub fn fatigue_params(&self, profiled: bool) -> FatigueParams {
        let params = self.analyzer.params();
        FatigueParams {
            closed_closure: if profiled {
                params.closed_closure_profiled
            } else {
                params.closed_closure
            },
            min_observed_ms: focus_types::fatigue::MIN_EYES_SEEN_MS,
            ..FatigueParams::default()
        }
    }

    /// A tracker for one live session's stream.
    pub fn tracker(&self) -> SessionTracker {
        SessionTracker {
            tracker: Arc::new(Mutex::new(FaceTracker::new(Arc::clone(&self.analyzer)))),
            frame: Arc::new(Semaphore::new(1)),
        }
    }

    /// Analyses one frame of a session's stream on the blocking pool, waiting for a free
    /// inference slot first.
    ///
    /// `frame` is the encoded image as received (a WebSocket message's payload is a
    /// [`Bytes`] too, so it moves here without a copy). Dropping the returned future (or
    /// aborting its task) before inference starts drops the frame at once.
    ///
    /// # Errors
    ///
    /// [`AnalyzeError::Busy`], at once and without waiting, when the session already has a
    /// frame waiting or running (sent by a connection that is gone) or the server holds
    /// [`Vision::max_held_frames`].
    pub async fn analyze(
        &self,
        tracker: &SessionTracker,
        frame: Bytes,
    ) -> Result<FrameAnalysis, AnalyzeError> {
        let own = Arc::clone(&tracker.frame)
            .try_acquire_owned()
            .map_err(|_| AnalyzeError::Busy)?;
        let held = self.hold()?;
        let mut slot = self.slots.acquire().await;
        let tracker = Arc::clone(&tracker.tracker);
        let analysing = Arc::clone(&self.analysing);
        let result = tokio::task::spawn_blocking(move || {
            // The permits go with the inference: they are released when it ends, even if
            // the caller has gone by then.
            let _permits = (own, held);
            let _analysing = analysing.enter();
            slot.run(|| {
                // A panic inside the tracker leaves at worst a stale previous crop, which the
                // next frame's detector replaces: keep using a poisoned lock.
                let mut tracker = tracker.lock().unwrap_or_else(PoisonError::into_inner);
                tracker.analyze_bytes(&frame)
            })
        })
        .await?;
        Ok(result?)
    }

    /// A place among the frames the server holds, or [`AnalyzeError::Busy`].
    fn hold(&self) -> Result<OwnedSemaphorePermit, AnalyzeError> {
        Arc::clone(&self.held)
            .try_acquire_owned()
            .map_err(|_| AnalyzeError::Busy)
    }
}

impl Vision {
    /// Checks the framing of one camera frame (no session, no tracker: each frame on its
    /// own), waiting for an inference slot. Refused with [`CheckError::Busy`] while another
    /// check runs, so a page polling its preview can never queue work up.
    pub async fn check_framing(&self, frame: Bytes) -> Result<FrameCheck, CheckError> {
        let check = Arc::clone(&self.check_slot)
            .try_acquire_owned()
            .map_err(|_| CheckError::Busy)?;
        let held = self.hold()?;
        let mut slot = self.slots.acquire().await;
        let analyzer = Arc::clone(&self.analyzer);
        let analysing = Arc::clone(&self.analysing);
        let result = tokio::task::spawn_blocking(move || {
            let _permits = (check, held);
            let _analysing = analysing.enter();
            slot.run(|| {
                // Decoded into the analyser's kept buffers, within its limits (see
                // `load_embedded`), as a session's frames are.
                analyzer.with_decoded(&frame, |image| {
                    let analysis = analyzer.analyze_image(image)?;
                    let framing = assess_framing(image, &analysis, &FramingParams::default());
                    Ok(FrameCheck { analysis, framing })
                })
            })
        })
        .await
        .map_err(AnalyzeError::from)?;
        Ok(result.map_err(AnalyzeError::from)?)
    }
}

/// One session's tracker (it remembers the previous frame's face to crop the next one) and
/// its one frame permit.
#[derive(Debug, Clone)]
pub struct SessionTracker {
    tracker: Arc<Mutex<FaceTracker>>,
    frame: Arc<Semaphore>,
}

impl SessionTracker {
    /// Judges the following frames relative to `profile` (`None`: the default rules).
    pub fn set_profile(&self, profile: Option<Arc<focus_vision::Profile>>) {
        self.tracker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_profile(profile);
    }
}

#[cfg(test)]
mod tests {
    use super::FrameBounds;

    #[test]
    fn every_running_session_and_a_framing_check_have_room_for_a_frame() {
        // The default cap of 32 sessions on 2 cores: 33 places, where 4 per slot gave 8.
        assert_eq!(FrameBounds::new(2, 32).held_frames, 33);
        assert_eq!(FrameBounds::new(2, 32).inference_slots, 2);
        assert_eq!(FrameBounds::new(8, 1).held_frames, 2);
        assert_eq!(FrameBounds::new(0, 0).inference_slots, 1);
    }

    #[test]
    fn a_raised_session_cap_still_bounds_the_frames_held() {
        let ceiling = FrameBounds::HELD_FRAMES_CEILING;
        assert_eq!(FrameBounds::new(2, ceiling - 1).held_frames, ceiling);
        assert_eq!(FrameBounds::new(2, 10_000).held_frames, ceiling);
        assert_eq!(FrameBounds::new(2, usize::MAX).held_frames, ceiling);
        // 2 MB of JPEG each at most: the storm target of 200 MB RSS keeps its margin.
        assert!(ceiling * 2 <= 100);
    }
}
