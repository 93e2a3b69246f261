//! Figures over finished sessions for the history page.
//!
//! Counted sessions are those that have finished (completed or interrupted:
//! an interrupted session's saved time is real work) and measured some time
//! (focused + unfocused time above 0; starting, paused and offline time is not
//! measured). Running sessions are left out: their totals are still
//! moving. Short sessions (judged for under [`SHORT_SESSION_MS`]) are left
//! out too unless asked for: they are listed, but not averaged.

use crate::model::{Stats, Totals};
use crate::{Result, Store};

/// A session judged (focused + unfocused) for less than this is *short*: it
/// is listed but left out of the figures unless asked for. The rule: a
/// minute is twelve alert thresholds of the default 5 s and 120 debounce
/// windows (500 ms), so no single glance, blink or the first frames' settling
/// can swing its percentage by more than a few points; a 5-second session at
/// 40 % says nothing about a working day, and used to move the trend by
/// tens of points.
pub const SHORT_SESSION_MS: u64 = 60_000;

/// A session must have measured at least this long to be the best one, so
/// a 20-second session at 100 % does not beat a focused hour (even when short
/// sessions are included).
pub const BEST_SESSION_MIN_MS: u64 = SHORT_SESSION_MS;

/// Whether `totals` make a short session (see [`SHORT_SESSION_MS`]).
pub fn is_short(totals: &Totals) -> bool {
    totals.measured_ms() < SHORT_SESSION_MS
}

impl Store {
    /// Figures over the finished sessions started at or after `since_ms`
    /// (all when `None`); short sessions count only with `include_short`.
    ///
    /// - `average_focus_percent`: mean of the sessions' focus percentages,
    ///   each session weighing the same, as "a typical session" reads.
    /// - `best_session`: the highest focus percentage among sessions that
    ///   measured at least [`BEST_SESSION_MIN_MS`]; ties go to the longer
    ///   measured time, then to the most recent (higher id). `None` if no
    ///   session is long enough.
    pub fn stats(&self, since_ms: Option<i64>, include_short: bool) -> Result<Stats> {
        let rows = self
            .reader()?
            .prepare_cached(
                "SELECT id, total_ms, focused_ms, unfocused_ms FROM sessions \
                 WHERE status <> 'running' AND focused_ms + unfocused_ms > 0 \
                 AND (?1 IS NULL OR started_at_ms >= ?1)",
            )?
            .query_map([since_ms], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    Totals {
                        total_ms: row.get(1)?,
                        focused_ms: row.get(2)?,
                        unfocused_ms: row.get(3)?,
                        ..Totals::default()
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (counted, short): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|(_, t)| include_short || !is_short(t));
        Ok(Stats {
            short_sessions_left_out: u32::try_from(short.len()).unwrap_or(u32::MAX),
            ..summarise(&counted)
        })
    }
}

fn summarise(rows: &[(i64, Totals)]) -> Stats {
    let sessions = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let average_focus_percent = (!rows.is_empty())
        .then(|| rows.iter().map(|(_, t)| t.focus_percent()).sum::<f64>() / rows.len() as f64);
    let total_focused_ms = rows
        .iter()
        .fold(0u64, |sum, (_, t)| sum.saturating_add(t.focused_ms));
    let best_session = rows
        .iter()
        .filter(|(_, t)| t.measured_ms() >= BEST_SESSION_MIN_MS)
        .max_by(|(a_id, a), (b_id, b)| {
            a.focus_percent()
                .total_cmp(&b.focus_percent())
                .then(a.measured_ms().cmp(&b.measured_ms()))
                .then(a_id.cmp(b_id))
        })
        .map(|(id, t)| (*id, t.focus_percent()));
    Stats {
        sessions,
        average_focus_percent,
        total_focused_ms,
        best_session,
        short_sessions_left_out: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EndReason;
    use crate::model::SessionStatus;
    use crate::sessions::tests::new_session;

    const T0: i64 = 1_700_000_000_000;

    /// Creates a session started at `start` and finishes it with the totals.
    fn finished(
        store: &Store,
        start: i64,
        total_ms: u64,
        focused_ms: u64,
        status: SessionStatus,
    ) -> i64 {
        let id = store.create_session(&new_session(start)).unwrap().id;
        let totals = Totals {
            total_ms,
            focused_ms,
            unfocused_ms: total_ms - focused_ms,
            ..Totals::default()
        };
        store
            .finish_session(
                id,
                &totals,
                start + total_ms as i64,
                false,
                status,
                if status == SessionStatus::Interrupted {
                    EndReason::ServerStopped
                } else {
                    EndReason::User
                },
            )
            .unwrap();
        id
    }

    #[test]
    fn empty_history_has_no_average_and_no_best() {
        let store = Store::open_in_memory().unwrap();
        let stats = store.stats(None, false).unwrap();
        assert_eq!(
            stats,
            Stats {
                sessions: 0,
                average_focus_percent: None,
                total_focused_ms: 0,
                best_session: None,
                short_sessions_left_out: 0,
            }
        );
    }

    #[test]
    fn stats_count_finished_measured_sessions_and_pick_the_best() {
        let store = Store::open_in_memory().unwrap();
        // 50 % over 10 minutes.
        let _half = finished(&store, T0, 600_000, 300_000, SessionStatus::Completed);
        // 90 % over 2 minutes, interrupted: still counts.
        let best = finished(&store, T0 + 1, 120_000, 108_000, SessionStatus::Interrupted);
        // 100 % but only 30 s: counts for the average, cannot be best.
        let _short = finished(&store, T0 + 2, 30_000, 30_000, SessionStatus::Completed);
        // Nothing measured: left out.
        let _empty = finished(&store, T0 + 3, 0, 0, SessionStatus::Completed);
        // Still running with saved totals: left out.
        let running = store.create_session(&new_session(T0 + 4)).unwrap().id;
        store
            .save_totals(
                running,
                &Totals {
                    total_ms: 100_000,
                    focused_ms: 100_000,
                    ..Totals::default()
                },
                T0 + 100_004,
            )
            .unwrap();

        // By default the 30 s session is listed but left out of the figures.
        let stats = store.stats(None, false).unwrap();
        assert_eq!(stats.sessions, 2);
        assert_eq!(stats.short_sessions_left_out, 1);
        let average = stats.average_focus_percent.unwrap();
        assert!((average - 70.0).abs() < 1e-9, "{average}");
        assert_eq!(stats.total_focused_ms, 300_000 + 108_000);
        assert_eq!(stats.best_session, Some((best, 90.0)));

        // Asked for, it counts for the average but still cannot be best.
        let all = store.stats(None, true).unwrap();
        assert_eq!(all.sessions, 3);
        assert_eq!(all.short_sessions_left_out, 0);
        let average = all.average_focus_percent.unwrap();
        assert!((average - 80.0).abs() < 1e-9, "{average}");
        assert_eq!(all.total_focused_ms, 300_000 + 108_000 + 30_000);
        assert_eq!(all.best_session, Some((best, 90.0)));

        let recent = store.stats(Some(T0 + 2), true).unwrap();
        assert_eq!(recent.sessions, 1);
        assert_eq!(recent.best_session, None);
        let recent = store.stats(Some(T0 + 2), false).unwrap();
        assert_eq!((recent.sessions, recent.short_sessions_left_out), (0, 1));
        assert_eq!(recent.average_focus_percent, None);
    }

    #[test]
    fn short_is_judged_time_under_a_minute() {
        let judged = |focused_ms, unfocused_ms| Totals {
            total_ms: 600_000,
            focused_ms,
            unfocused_ms,
            ..Totals::default()
        };
        // Ten minutes long but judged for 59.9 s (the rest paused): short.
        assert!(is_short(&judged(40_000, 19_999)));
        assert!(!is_short(&judged(40_000, 20_000)));
    }

    #[test]
    fn ties_go_to_the_longer_then_the_newer_session() {
        let store = Store::open_in_memory().unwrap();
        let _short = finished(&store, T0, 60_000, 45_000, SessionStatus::Completed);
        let long = finished(&store, T0 + 1, 120_000, 90_000, SessionStatus::Completed);
        assert_eq!(
            store.stats(None, false).unwrap().best_session,
            Some((long, 75.0))
        );

        let newer_same = finished(&store, T0 + 2, 120_000, 90_000, SessionStatus::Completed);
        assert_eq!(
            store.stats(None, false).unwrap().best_session,
            Some((newer_same, 75.0))
        );
    }
}
