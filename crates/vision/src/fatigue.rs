//! Fatigue over a stream of frames: blinks, blink rate and PERCLOS, with time passed in.
//!
//! Each frame says how closed the eyes are ([`EyeSample`], from a [`FrameAnalysis`]); a frame's
//! state holds from its own time until the next frame's, for at most
//! [`FatigueParams::max_hold_ms`] (a longer gap is time with the eyes unseen).
//!
//! - A **closure** is a run of frames with the eyes closed (closure at least
//!   [`FatigueParams::closed_closure`]). Frames only bound its length: it lasted at least
//!   from its first closed frame to its last, and at most from the last frame with the eyes
//!   open before it to the first one after it. Its length is taken as the middle of the two,
//!   the estimate with the least error whatever the frames' phase. A closure of 50-500 ms is
//!   a **blink**: one whose estimate is over 500 ms is a long closure (the frames read
//!   `eyes_closed`), and one too short for a blink is one that cannot have lasted 50 ms (the
//!   longest it can have lasted is under 50 ms: a reading's flicker between frames more than
//!   40 a second). At 5 frames a second a blink seen on one frame is 200 ms (0-400), on two
//!   400 ms (200-600); a closure on three is 600 ms (400-800), a long one. At 24 frames a
//!   second a blink whose lids pass the threshold on a single frame is 42 ms (0-83), and a
//!   blink: quick blinks on video read so (checked by hand on pyfeat_WolfgangLanger_Pexels,
//!   docs/vision.md). A closure cut by frames where the eyes are unseen counts as neither.
//! - **Blink rate**: blinks per minute of time with the eyes seen.
//! - **PERCLOS**: the share of time the eyes are at least 80% closed ([`FatigueParams::
//!   perclos_closure`]), over the last minute ([`FatigueParams::window_ms`]) and over the
//!   whole stream. Time with the eyes unseen counts in neither part of the share.
//!
//! Eyes are unseen without a face, behind dark glasses, and while looking down with lowered
//! lids: the lids follow the eyes down, which is not closing them.
//!
//! No clock inside: `at_ms` is any monotonic millisecond count (the session's).

use std::collections::VecDeque;

use crate::{Away, FrameAnalysis};

/// The rules, with documented defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FatigueParams {
    /// Eyes at least this closed (0 open, 1 shut) count as closed for blinks: the same
    /// threshold the verdict uses (see [`crate::Params`]).
    pub closed_closure: f32,
    /// PERCLOS counts time with the eyes at least this closed: 80% (P80, the usual measure).
    pub perclos_closure: f32,
    /// Shortest blink, ms.
    pub blink_min_ms: u64,
    /// Longest blink, ms; longer closures are long closures.
    pub blink_max_ms: u64,
    /// PERCLOS and the live blink rate look back this far, ms.
    pub window_ms: u64,
    /// A frame's state holds until the next frame, but no longer than this, ms.
    pub max_hold_ms: u64,
    /// Rates need at least this much time with the eyes seen, ms.
    pub min_observed_ms: u64,
}

impl Default for FatigueParams {
    fn default() -> Self {
        Self {
            closed_closure: 0.65,
            perclos_closure: 0.8,
            blink_min_ms: 50,
            blink_max_ms: 500,
            window_ms: 60_000,
            max_hold_ms: 1_000,
            min_observed_ms: 10_000,
        }
    }
}

/// One frame's eyes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EyeSample {
    /// Not measurable: no face, dark glasses, or lids lowered over eyes looking down.
    Unseen,
    /// How closed, 0 (the open baseline) to 1 (shut).
    Closure(f32),
}

impl EyeSample {
    /// The eyes of an analysed frame.
    pub fn of(analysis: &FrameAnalysis) -> EyeSample {
        if analysis.away == Some(Away::LookingDown) {
            return EyeSample::Unseen;
        }
        analysis
            .eye_closure
            .map_or(EyeSample::Unseen, EyeSample::Closure)
    }
}

/// What happened at a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closure {
    /// A blink ended at this frame, lasting `ms`.
    Blink { ms: u64 },
    /// A closure longer than a blink ended at this frame.
    Long { ms: u64 },
}

/// The fatigue figures at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Fatigue {
    /// Blinks since the start.
    pub blinks: u32,
    /// Closures longer than a blink since the start.
    pub long_closures: u32,
    /// Blinks per minute of time with the eyes seen: over the last window (live) or the
    /// whole stream ([`FatigueMeter::totals`]). `None` until enough time was seen.
    pub blink_rate_per_min: Option<f32>,
    /// Share of the seen time with the eyes at least 80% closed, 0-1; `None` as above.
    pub perclos: Option<f32>,
    /// Time with the eyes seen, ms (in the window, or in all).
    pub observed_ms: u64,
    /// Of that, time with the eyes at least 80% closed, ms.
    pub shut_ms: u64,
}

/// A stretch of time with one eye state.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u64,
    end: u64,
    shut: bool,
}

/// Counts blinks and measures PERCLOS over a stream. Feed it every frame in time order.
#[derive(Debug, Clone)]
pub struct FatigueMeter {
    params: FatigueParams,
    /// The previous frame: its time and whether the eyes were seen and how closed.
    last: Option<(u64, EyeSample)>,
    /// Time of the last frame with the eyes seen open (the start of a closure's bracket).
    open_at: Option<u64>,
    /// Times of the first and the latest closed frame of the closure under way.
    closed_since: Option<(u64, u64)>,
    blinks: u32,
    long_closures: u32,
    /// Blink end times within the window.
    recent_blinks: VecDeque<u64>,
    /// Seen spans within the window.
    spans: VecDeque<Span>,
    observed_ms: u64,
    shut_ms: u64,
}

impl FatigueMeter {
    pub fn new(params: FatigueParams) -> Self {
        Self {
            params,
            last: None,
            open_at: None,
            closed_since: None,
            blinks: 0,
            long_closures: 0,
            recent_blinks: VecDeque::new(),
            spans: VecDeque::new(),
            observed_ms: 0,
            shut_ms: 0,
        }
    }

    pub fn params(&self) -> &FatigueParams {
        &self.params
    }

    /// Takes the next frame's eyes at `at_ms` (not before the previous frame's time).
    /// Returns the closure that ended at this frame, if one did.
    pub fn observe(&mut self, at_ms: u64, eyes: EyeSample) -> Option<Closure> {
        let p = self.params;
        let at_ms = self.last.map_or(at_ms, |(t, _)| at_ms.max(t));
        // The previous frame's state up to now (or up to its hold limit).
        if let Some((t, EyeSample::Closure(c))) = self.last {
            let end = at_ms.min(t + p.max_hold_ms);
            if end > t {
                let shut = c >= p.perclos_closure;
                self.observed_ms += end - t;
                if shut {
                    self.shut_ms += end - t;
                }
                self.spans.push_back(Span {
                    start: t,
                    end,
                    shut,
                });
            }
        }
        let gap = self.last.is_some_and(|(t, _)| at_ms - t > p.max_hold_ms);
        self.last = Some((at_ms, eyes));
        self.forget_before(at_ms.saturating_sub(p.window_ms));
        let closure = match eyes {
            EyeSample::Unseen => None,
            EyeSample::Closure(c) => Some(c),
        };
        if gap || closure.is_none() {
            // A closure cut by unseen time is neither a blink nor a long closure.
            self.open_at = None;
            self.closed_since = None;
            if let Some(c) = closure {
                if c >= p.closed_closure {
                    self.closed_since = Some((at_ms, at_ms));
                } else {
                    self.open_at = Some(at_ms);
                }
            }
            return None;
        }
        let closed = closure.is_some_and(|c| c >= p.closed_closure);
        if closed {
            self.closed_since.get_or_insert((at_ms, at_ms)).1 = at_ms;
            return None;
        }
        // The middle of the shortest (first to last closed frame) and the longest (open
        // frame to open frame) the closure can have lasted.
        let ended = self.closed_since.take().map(|(since, last)| {
            let longest = at_ms - self.open_at.unwrap_or(since);
            (longest, (longest + (last - since)) / 2)
        });
        self.open_at = Some(at_ms);
        let (longest, ms) = ended?;
        if ms > p.blink_max_ms {
            self.long_closures += 1;
            Some(Closure::Long { ms })
        } else if longest >= p.blink_min_ms {
            self.blinks += 1;
            self.recent_blinks.push_back(at_ms);
            Some(Closure::Blink { ms })
        } else {
            None
        }
    }

    fn forget_before(&mut self, from: u64) {
        while self.recent_blinks.front().is_some_and(|&t| t < from) {
            self.recent_blinks.pop_front();
        }
        while self.spans.front().is_some_and(|s| s.end <= from) {
            self.spans.pop_front();
        }
    }

    fn rates(&self, blinks: usize, observed_ms: u64, shut_ms: u64) -> (Option<f32>, Option<f32>) {
        if observed_ms < self.params.min_observed_ms || observed_ms == 0 {
            return (None, None);
        }
        let minutes = observed_ms as f32 / 60_000.0;
        (
            Some(blinks as f32 / minutes),
            Some(shut_ms as f32 / observed_ms as f32),
        )
    }

    /// The figures over the last window (PERCLOS and blink rate over the last minute) as of
    /// the latest frame.
    pub fn live(&self) -> Fatigue {
        let now = self.last.map_or(0, |(t, _)| t);
        let from = now.saturating_sub(self.params.window_ms);
        let (mut observed, mut shut) = (0u64, 0u64);
        for s in &self.spans {
            let len = s.end.saturating_sub(s.start.max(from));
            observed += len;
            if s.shut {
                shut += len;
            }
        }
        let blinks = self.recent_blinks.iter().filter(|&&t| t >= from).count();
        let (blink_rate_per_min, perclos) = self.rates(blinks, observed, shut);
        Fatigue {
            blinks: self.blinks,
            long_closures: self.long_closures,
            blink_rate_per_min,
            perclos,
            observed_ms: observed,
            shut_ms: shut,
        }
    }

    /// The figures over the whole stream.
    pub fn totals(&self) -> Fatigue {
        let (blink_rate_per_min, perclos) =
            self.rates(self.blinks as usize, self.observed_ms, self.shut_ms);
        Fatigue {
            blinks: self.blinks,
            long_closures: self.long_closures,
            blink_rate_per_min,
            perclos,
            observed_ms: self.observed_ms,
            shut_ms: self.shut_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: EyeSample = EyeSample::Closure(0.05);
    const SHUT: EyeSample = EyeSample::Closure(0.95);
    const HALF: EyeSample = EyeSample::Closure(0.7);

    /// Feeds `states` at a fixed frame interval from time 0; returns the closures seen.
    fn feed(meter: &mut FatigueMeter, start: u64, step: u64, states: &[EyeSample]) -> Vec<Closure> {
        states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| meter.observe(start + i as u64 * step, *s))
            .collect()
    }

    #[test]
    fn blinks_are_closures_of_50_to_500_ms() {
        let mut m = FatigueMeter::new(FatigueParams::default());
        // 24 frames a second (42 ms): one closed frame lasted 0-84 ms (42), three 84-168
        // (126), twelve 462-546 (504: longer than a blink).
        let mut states = vec![OPEN; 5];
        states.push(SHUT);
        states.extend([OPEN; 5]);
        states.extend([SHUT; 3]);
        states.extend([OPEN; 5]);
        states.extend([SHUT; 12]);
        states.extend([OPEN; 3]);
        let got = feed(&mut m, 0, 42, &states);
        assert_eq!(
            got,
            vec![
                Closure::Blink { ms: 42 },
                Closure::Blink { ms: 126 },
                Closure::Long { ms: 504 }
            ]
        );
        assert_eq!((m.totals().blinks, m.totals().long_closures), (2, 1));
        // 100 frames a second: one closed frame cannot have lasted 50 ms (0-20): no blink.
        let mut m = FatigueMeter::new(FatigueParams::default());
        assert!(feed(&mut m, 0, 10, &[OPEN, SHUT, OPEN, OPEN]).is_empty());
        assert_eq!(m.totals().blinks, 0);
    }

    #[test]
    fn at_five_frames_a_second_one_or_two_closed_frames_are_a_blink_three_are_not() {
        let mut m = FatigueMeter::new(FatigueParams::default());
        let got = feed(
            &mut m,
            1_000,
            200,
            &[
                OPEN, SHUT, OPEN, OPEN, SHUT, SHUT, OPEN, SHUT, SHUT, SHUT, OPEN,
            ],
        );
        assert_eq!(
            got,
            vec![
                Closure::Blink { ms: 200 },
                Closure::Blink { ms: 400 },
                Closure::Long { ms: 600 }
            ]
        );
    }

    #[test]
    fn a_closure_cut_by_unseen_eyes_is_not_counted() {
        let mut m = FatigueMeter::new(FatigueParams::default());
        let got = feed(
            &mut m,
            0,
            40,
            &[OPEN, SHUT, EyeSample::Unseen, SHUT, OPEN, OPEN],
        );
        assert!(got.is_empty(), "{got:?}");
        // Nor one with a long gap in the frames.
        let mut m = FatigueMeter::new(FatigueParams::default());
        m.observe(0, OPEN);
        m.observe(40, SHUT);
        assert_eq!(m.observe(3_000, OPEN), None);
        // A closure starting the stream is measured from its first frame: 40-80 ms.
        let mut m = FatigueMeter::new(FatigueParams::default());
        let got = feed(&mut m, 0, 40, &[SHUT, SHUT, OPEN]);
        assert_eq!(got, vec![Closure::Blink { ms: 60 }]);
    }

    #[test]
    fn half_closed_eyes_blink_by_the_closed_threshold_but_do_not_count_for_perclos() {
        let mut m = FatigueMeter::new(FatigueParams::default());
        // 30 s at 10 frames a second with the eyes 70% closed: closed, not 80% closed.
        let states = vec![HALF; 300];
        feed(&mut m, 0, 100, &states);
        let live = m.live();
        assert_eq!(live.perclos, Some(0.0));
        assert_eq!(live.observed_ms, 29_900);
    }

    #[test]
    fn perclos_is_the_share_of_seen_time_shut_over_the_last_minute() {
        let mut m = FatigueMeter::new(FatigueParams::default());
        // 60 s open, then 30 s shut, then 30 s open, 5 frames a second.
        let mut states = vec![OPEN; 300];
        states.extend(vec![SHUT; 150]);
        states.extend(vec![OPEN; 150]);
        feed(&mut m, 0, 200, &states);
        let live = m.live();
        // The last minute: 30 s shut of 60 s.
        assert!(
            (live.perclos.expect("enough seen") - 0.5).abs() < 0.01,
            "{live:?}"
        );
        // The whole stream: 30 s of 119.8 s.
        let all = m.totals();
        assert!(
            (all.perclos.expect("enough seen") - 30.0 / 119.8).abs() < 0.01,
            "{all:?}"
        );
        // Unseen time counts in neither part: 30 s without a face changes nothing.
        feed(&mut m, 120_000, 200, &vec![EyeSample::Unseen; 150]);
        m.observe(150_000, OPEN);
        assert!((m.totals().perclos.expect("seen") - 30.0 / 120.0).abs() < 0.01);
    }

    #[test]
    fn blink_rate_is_per_minute_of_seen_time() {
        let mut m = FatigueMeter::new(FatigueParams::default());
        // Two minutes at 5 fps with a one-frame blink every 4 s: 15 a minute.
        let states: Vec<EyeSample> = (0..600)
            .map(|i| if i % 20 == 10 { SHUT } else { OPEN })
            .collect();
        feed(&mut m, 0, 200, &states);
        assert_eq!(m.totals().blinks, 30);
        let rate = m.totals().blink_rate_per_min.expect("enough seen");
        assert!((rate - 15.0).abs() < 0.2, "{rate}");
        let live = m.live().blink_rate_per_min.expect("enough seen");
        assert!((live - 15.0).abs() < 0.5, "{live}");
        // Too little seen for a rate.
        let mut short = FatigueMeter::new(FatigueParams::default());
        feed(&mut short, 0, 200, &[OPEN; 20]);
        assert_eq!(short.totals().blink_rate_per_min, None);
    }

    #[test]
    fn looking_down_leaves_the_eyes_unseen() {
        let mut a = FrameAnalysis {
            focused: false,
            reason: Some(crate::Reason::LookingAway),
            away: Some(Away::LookingDown),
            zone: None,
            eye_closure: Some(0.9),
            face: None,
            image_size: (1, 1),
        };
        assert_eq!(EyeSample::of(&a), EyeSample::Unseen);
        a.away = Some(Away::HeadTurned);
        assert_eq!(EyeSample::of(&a), EyeSample::Closure(0.9));
        a.eye_closure = None;
        assert_eq!(EyeSample::of(&a), EyeSample::Unseen);
    }
}
