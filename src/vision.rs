//! The vision pipeline as the server uses it: one shared [`FaceAnalyzer`] (models loaded once
//! at start-up), one [`FaceTracker`] per live session, and a bounded number of inference
//! slots so that frames from many sessions never oversubscribe the CPU.
//!
//! Inference is CPU-bound (~20 ms a frame): it runs on tokio's blocking pool, never on an
//! async worker. Frames are analysed in memory and dropped; they are never stored or logged.
//!
//! The camera preview's framing check ([`Vision::check_framing`]) runs one frame at a time for
//! the whole server (a second check while one runs is refused, not queued) and takes an
//! inference slot like any session's frame.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use focus_vision::framing::{Framing, FramingParams, assess_framing};
use focus_vision::{DecodeLimits, FaceAnalyzer, FaceTracker, FrameAnalysis};
use tokio::sync::Semaphore;

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

/// The shared analyser plus the inference slots. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Vision {
    analyzer: Arc<FaceAnalyzer>,
    slots: Arc<Semaphore>,
    limits: DecodeLimits,
    /// One framing check at a time, server-wide.
    check_slot: Arc<Semaphore>,
}

impl Vision {
    /// Loads the models compiled into the binary (about half a second) and allows
    /// `max_concurrent` frames to be analysed at once.
    ///
    /// Decoding is limited to 4 megapixels and 4096 px a side: webcam frames are far
    /// smaller, and the limit keeps a small but hostile JPEG from allocating gigabytes.
    pub fn load_embedded(max_concurrent: usize) -> Result<Vision, focus_vision::Error> {
        let limits = DecodeLimits {
            max_pixels: 4 * 1024 * 1024,
            max_side: 4096,
            ..DecodeLimits::default()
        };
        // rten's global pool, shared by the `max_concurrent` frames in flight. Measured with
        // the load benchmark, this sustains more sessions on 2 cores (16 at p99 < 200 ms)
        // than one single-threaded pool per frame (12).
        let analyzer = FaceAnalyzer::embedded()?.with_limits(limits);
        Ok(Vision {
            analyzer: Arc::new(analyzer),
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            limits,
            check_slot: Arc::new(Semaphore::new(1)),
        })
    }

    /// A tracker for one live session's stream.
    pub fn tracker(&self) -> SessionTracker {
        SessionTracker(Arc::new(Mutex::new(FaceTracker::new(Arc::clone(
            &self.analyzer,
        )))))
    }

    /// Analyses one frame of a session's stream on the blocking pool, waiting for a free
    /// inference slot first. The caller keeps at most one frame per session in flight.
    ///
    /// `frame` is the encoded image as received (a WebSocket message's payload is a
    /// [`Bytes`] too, so it moves here without a copy).
    pub async fn analyze(
        &self,
        tracker: &SessionTracker,
        frame: Bytes,
    ) -> Result<FrameAnalysis, AnalyzeError> {
        // The semaphore is never closed, so acquiring only fails if it were; treat that as
        // "run anyway" rather than refusing frames.
        let _slot = self.slots.acquire().await.ok();
        let tracker = Arc::clone(&tracker.0);
        let result = tokio::task::spawn_blocking(move || {
            // A panic inside the tracker leaves at worst a stale previous crop, which the
            // next frame's detector replaces: keep using a poisoned lock.
            let mut tracker = tracker.lock().unwrap_or_else(PoisonError::into_inner);
            tracker.analyze_bytes(&frame)
        })
        .await?;
        Ok(result?)
    }
}

impl Vision {
    /// Checks the framing of one camera frame (no session, no tracker: each frame on its
    /// own), waiting for an inference slot. Refused with [`CheckError::Busy`] while another
    /// check runs, so a page polling its preview can never queue work up.
    pub async fn check_framing(&self, frame: Bytes) -> Result<FrameCheck, CheckError> {
        let _check = Arc::clone(&self.check_slot)
            .try_acquire_owned()
            .map_err(|_| CheckError::Busy)?;
        let _slot = self.slots.acquire().await.ok();
        let analyzer = Arc::clone(&self.analyzer);
        let limits = self.limits;
        let result = tokio::task::spawn_blocking(move || {
            let image = focus_vision::decode::decode_image(&frame, &limits)?;
            let analysis = analyzer.analyze_image(&image)?;
            let framing = assess_framing(&image, &analysis, &FramingParams::default());
            Ok::<_, focus_vision::Error>(FrameCheck { analysis, framing })
        })
        .await
        .map_err(AnalyzeError::from)?;
        Ok(result.map_err(AnalyzeError::from)?)
    }
}

/// One session's tracker (it remembers the previous frame's face to crop the next one).
#[derive(Debug, Clone)]
pub struct SessionTracker(Arc<Mutex<FaceTracker>>);
