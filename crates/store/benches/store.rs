//! Criterion benchmarks of the store's hot paths, on a real SQLite file (WAL) in a temporary
//! folder: the writes a running session makes (totals every 2 s, timeline stretches as they
//! close) and the reads behind the history page and the CSV export, on a year and a half of
//! daily use. Figures go in the README.
//!
//! Run: `cargo bench -p focus-store --bench store`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use focus_store::{
    AlertMode, Channel, EndReason, EventKind, NewEvent, NewSession, SessionStatus, Store, Totals,
};

/// Sessions in the history benchmarks: two a day for about a year and a half.
const HISTORY_SESSIONS: i64 = 1_000;
const DAY_MS: i64 = 86_400_000;
const START_MS: i64 = 1_700_000_000_000;

fn new_session(started_at_ms: i64) -> NewSession {
    NewSession {
        started_at_ms,
        planned_duration_s: 50 * 60,
        alert_threshold_ms: 10_000,
        alert_mode: AlertMode::Both,
        email: Some("me@example.com".into()),
        phone: Some("+15551234567".into()),
        send_email: true,
        send_sms: false,
        profile_id: None,
        profile_used: None,
        profile_data: None,
    }
}

fn totals(i: i64) -> Totals {
    let total_ms = 3_000_000 - (i % 7) as u64 * 60_000;
    let focused_ms = total_ms * (60 + (i % 35) as u64) / 100;
    Totals {
        total_ms,
        focused_ms,
        unfocused_ms: total_ms - focused_ms,
        breaks: (i % 6) as u32,
        longest_focus_ms: focused_ms / 3,
        ..Totals::default()
    }
}

/// A finished session's timeline: 20 stretches, a break among them now and then.
fn timeline(started_at_ms: i64) -> Vec<NewEvent> {
    (0..20)
        .map(|k| {
            let start_ms = started_at_ms + k * 150_000;
            let (kind, reason) = match k % 4 {
                1 => (EventKind::Unfocused, Some("looking_away".to_owned())),
                3 => (EventKind::Break, Some("no_face".to_owned())),
                _ => (EventKind::Focused, None),
            };
            NewEvent {
                kind,
                reason,
                start_ms,
                end_ms: start_ms + 120_000,
            }
        })
        .collect()
}

/// A store with [`HISTORY_SESSIONS`] finished sessions, their timelines and email receipts.
fn filled_store(path: &std::path::Path) -> Store {
    let store = Store::open(path).expect("open");
    for i in 0..HISTORY_SESSIONS {
        let started = START_MS + i * DAY_MS / 2;
        let session = store.create_session(&new_session(started)).expect("create");
        store
            .append_events(session.id, &timeline(started))
            .expect("events");
        store
            .finish_session(
                session.id,
                &totals(i),
                started + 3_000_000,
                i % 5 == 0,
                SessionStatus::Completed,
                EndReason::User,
            )
            .expect("finish");
        store
            .enqueue_delivery(session.id, Channel::Email, "me@example.com", started)
            .expect("enqueue");
    }
    store
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");

    // The writes of a running session, on an otherwise empty database.
    let store = Store::open(dir.path().join("live.db")).expect("open");
    let session = store
        .create_session(&new_session(START_MS))
        .expect("create");
    let mut now_ms = START_MS;
    c.bench_function("store/save_totals (every 2 s per running session)", |b| {
        b.iter(|| {
            now_ms += 2_000;
            store
                .save_totals(session.id, black_box(&totals(now_ms)), now_ms)
                .expect("save")
        });
    });
    let mut at_ms = START_MS;
    c.bench_function("store/append_events (a stretch and its break)", |b| {
        b.iter(|| {
            at_ms += 20_000;
            let events = [
                NewEvent {
                    kind: EventKind::Unfocused,
                    reason: Some("looking_away".into()),
                    start_ms: at_ms,
                    end_ms: at_ms + 15_000,
                },
                NewEvent {
                    kind: EventKind::Break,
                    reason: Some("looking_away".into()),
                    start_ms: at_ms,
                    end_ms: at_ms + 15_000,
                },
            ];
            store.append_events(session.id, &events).expect("append")
        });
    });

    // The reads behind the history page and the export.
    let store = filled_store(&dir.path().join("history.db"));
    let since_30_days = START_MS + HISTORY_SESSIONS * DAY_MS / 2 - 30 * DAY_MS;
    let mut group = c.benchmark_group("store/history page");
    for (label, since) in [
        ("last 30 days", Some(since_30_days)),
        ("all, 1000 sessions", None),
    ] {
        group.bench_function(label, |b| {
            b.iter(|| {
                let sessions = store.list_sessions(black_box(since)).expect("list");
                let stats = store.stats(since, false).expect("stats");
                let deliveries = store.deliveries_since(since).expect("deliveries");
                (sessions.len(), stats, deliveries.len())
            });
        });
    }
    group.finish();
    c.bench_function("store/session detail (session + 20 events)", |b| {
        b.iter(|| {
            let id = black_box(HISTORY_SESSIONS / 2);
            (
                store.get_session(id).expect("get"),
                store.session_events(id).expect("events").len(),
            )
        });
    });
    c.bench_function("store/CSV export, 1000 sessions", |b| {
        b.iter(|| store.sessions_csv().expect("csv").len());
    });
}

criterion_group!(store, benches);
criterion_main!(store);
