//! The store on a real file: persistence across reopen, WAL mode, crash
//! recovery, cascades, and clear errors for files it must not use.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use focus_store::{
    AlertMode, Channel, DeliveryStatus, EndReason, Error, EventKind, NewEvent, NewSession, Outcome,
    SessionStatus, Store, Totals,
};

const T0: i64 = 1_700_000_000_000;

fn settings(started_at_ms: i64) -> NewSession {
    NewSession {
        started_at_ms,
        planned_duration_s: 50 * 60,
        alert_threshold_ms: 5_000,
        alert_mode: AlertMode::Banner,
        email: Some("grace@example.com".into()),
        phone: None,
        send_email: true,
        send_sms: false,
        profile_id: None,
        profile_used: None,
        profile_data: None,
    }
}

fn totals() -> Totals {
    Totals {
        total_ms: 120_000,
        focused_ms: 100_000,
        unfocused_ms: 20_000,
        breaks: 1,
        longest_focus_ms: 70_000,
        ..Totals::default()
    }
}

fn event(kind: EventKind, start_ms: i64, end_ms: i64) -> NewEvent {
    NewEvent {
        kind,
        reason: (kind == EventKind::Unfocused).then(|| "eyes_closed".to_owned()),
        start_ms,
        end_ms,
    }
}

/// Counts rows with a separate raw connection, as another process would.
fn count(path: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

/// `Error::Open`'s message, or a panic naming what came back instead.
fn open_error(path: &Path) -> String {
    match Store::open(path) {
        Err(Error::Open { path: p, message }) => {
            assert_eq!(p, path);
            let shown = Error::Open {
                path: p,
                message: message.clone(),
            }
            .to_string();
            assert!(shown.contains(&path.display().to_string()), "{shown}");
            message
        }
        Err(other) => panic!("expected Error::Open, got {other:?}"),
        Ok(_) => panic!("opening {} should have failed", path.display()),
    }
}

/// Deterministic noise (xorshift), so a failure reproduces.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    let (finished, events, delivery) = {
        let store = Store::open(&path).unwrap();
        let s = store.create_session(&settings(T0)).unwrap();
        store
            .append_events(
                s.id,
                &[
                    event(EventKind::Focused, T0, T0 + 100_000),
                    event(EventKind::Unfocused, T0 + 100_000, T0 + 120_000),
                ],
            )
            .unwrap();
        let finished = store
            .finish_session(
                s.id,
                &totals(),
                T0 + 120_000,
                true,
                SessionStatus::Completed,
                EndReason::User,
            )
            .unwrap();
        let d = store
            .enqueue_delivery(s.id, Channel::Email, "grace@example.com", T0 + 120_000)
            .unwrap();
        (finished, store.session_events(s.id).unwrap(), d)
    };
    assert!(path.is_file());

    let store = Store::open(&path).unwrap();
    assert_eq!(store.get_session(finished.id).unwrap(), finished);
    assert_eq!(store.session_events(finished.id).unwrap(), events);
    assert_eq!(events.len(), 2);
    assert_eq!(store.pending_deliveries().unwrap(), vec![delivery]);
    assert_eq!(store.list_sessions(None).unwrap().len(), 1);
}

#[test]
fn open_creates_missing_folders_and_turns_on_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("nested").join("focus.db");
    let store = Store::open(&path).unwrap();
    store.create_session(&settings(T0)).unwrap();

    // journal_mode=WAL is persistent: a fresh connection reports it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(path.with_extension("db-wal").exists());
    // A second reader sees the committed session while the store is open.
    assert_eq!(count(&path, "SELECT count(*) FROM sessions"), 1);
}

#[test]
fn a_session_cut_off_by_a_crash_is_closed_as_interrupted_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    let id = {
        let store = Store::open(&path).unwrap();
        let s = store.create_session(&settings(T0)).unwrap();
        store
            .append_events(s.id, &[event(EventKind::Focused, T0, T0 + 100_000)])
            .unwrap();
        store.save_totals(s.id, &totals(), T0 + 120_000).unwrap();
        s.id
        // Dropped without finish_session, as when the process dies.
    };

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.get_session(id).unwrap().status,
        SessionStatus::Running
    );
    assert_eq!(store.close_interrupted(T0 + 3_600_000).unwrap(), vec![id]);
    let s = store.get_session(id).unwrap();
    assert_eq!(s.status, SessionStatus::Interrupted);
    assert_eq!(s.totals, totals());
    assert_eq!(s.ended_at_ms, Some(T0 + 120_000));
    assert!(s.ended_early);
    assert_eq!(store.session_events(id).unwrap().len(), 1);
    // Finishing it late does not overwrite what was recovered.
    let again = store
        .finish_session(
            id,
            &Totals::default(),
            T0 + 4_000_000,
            false,
            SessionStatus::Completed,
            EndReason::User,
        )
        .unwrap();
    assert_eq!(again, s);
}

#[test]
fn deleting_a_session_removes_its_events_and_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    let store = Store::open(&path).unwrap();
    let gone = store.create_session(&settings(T0)).unwrap().id;
    let kept = store.create_session(&settings(T0 + 1)).unwrap().id;
    for id in [gone, kept] {
        store
            .append_events(id, &[event(EventKind::Break, T0, T0 + 60_000)])
            .unwrap();
        let d = store
            .enqueue_delivery(id, Channel::Sms, "+15550001111", T0)
            .unwrap();
        store
            .record_attempt(d.id, Outcome::RetryAt(T0 + 10_000, "503".into()), T0)
            .unwrap();
    }

    store.delete_session(gone).unwrap();
    assert!(matches!(store.get_session(gone), Err(Error::NotFound)));
    assert!(matches!(store.delete_session(gone), Err(Error::NotFound)));
    assert_eq!(count(&path, "SELECT count(*) FROM events"), 1);
    assert_eq!(count(&path, "SELECT count(*) FROM deliveries"), 1);
    assert_eq!(store.session_events(kept).unwrap().len(), 1);
    let left = store.pending_deliveries().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].session_id, kept);
    assert_eq!(left[0].status, DeliveryStatus::Pending);
}

#[test]
fn a_failed_call_leaves_saved_data_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    let id = {
        let store = Store::open(&path).unwrap();
        let id = store.create_session(&settings(T0)).unwrap().id;
        store
            .append_events(id, &[event(EventKind::Focused, T0, T0 + 1_000)])
            .unwrap();
        store.save_totals(id, &totals(), T0 + 1_000).unwrap();
        // The second event is bad: nothing of this batch may be kept.
        let bad = [
            event(EventKind::Focused, T0 + 1_000, T0 + 2_000),
            event(EventKind::Unfocused, T0 + 3_000, T0 + 2_500),
        ];
        assert!(matches!(
            store.append_events(id, &bad),
            Err(Error::Invalid(_))
        ));
        // A total too large for SQLite fails as a whole.
        let huge = Totals {
            focused_ms: u64::MAX,
            ..totals()
        };
        assert!(store.save_totals(id, &huge, T0 + 2_000).is_err());
        id
    };
    let store = Store::open(&path).unwrap();
    let s = store.get_session(id).unwrap();
    assert_eq!(s.totals, totals());
    assert_eq!(s.updated_at_ms, T0 + 1_000);
    assert_eq!(store.session_events(id).unwrap().len(), 1);
}

#[test]
fn a_file_of_random_bytes_is_refused_in_words_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    let bytes = noise(8192);
    std::fs::write(&path, &bytes).unwrap();

    let message = open_error(&path);
    assert!(message.contains("not a SQLite database"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_damaged_database_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    {
        let store = Store::open(&path).unwrap();
        for i in 0..200 {
            let id = store.create_session(&settings(T0 + i)).unwrap().id;
            store
                .append_events(id, &[event(EventKind::Focused, T0, T0 + i)])
                .unwrap();
        }
    }
    // Keep the 100-byte header valid, wreck every page after the first.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192, "test database too small");
    let len = bytes.len();
    bytes[4096..len].copy_from_slice(&noise(len - 4096));
    std::fs::write(&path, &bytes).unwrap();

    let message = open_error(&path);
    assert!(
        message.contains("corrupt") || message.contains("damaged"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn a_folder_or_an_empty_path_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let message = open_error(dir.path());
    assert!(message.contains("folder"), "{message}");
    let message = open_error(Path::new(""));
    assert!(message.contains("no database path"), "{message}");
}

#[test]
fn another_programs_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();

    let message = open_error(&path);
    assert!(message.contains("another program"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_database_from_a_newer_version_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 1_000).unwrap();
    }
    let message = open_error(&path);
    assert!(message.contains("newer version"), "{message}");
}

#[test]
fn clones_write_from_several_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    let store = Store::open(&path).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let id = store
                        .create_session(&settings(T0 + t * 100 + i))
                        .unwrap()
                        .id;
                    store.save_totals(id, &totals(), T0 + 1).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.list_sessions(None).unwrap().len(), 100);
    assert_eq!(
        count(
            &path,
            "SELECT count(*) FROM sessions WHERE total_ms = 120000"
        ),
        100
    );
}

/// Reads run on their own connections: while another connection holds the write lock and a
/// write of ours waits out the busy timeout on the writer, reading still answers at once
/// and sees the last committed state. (SQLite locks the file the same way for a second
/// connection in this process as for another process; the app-level fault test uses a real
/// second process.)
#[test]
fn reads_never_wait_for_a_write_stuck_behind_another_connections_lock() {
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    let store = Store::open(&path).unwrap();
    let id = store.create_session(&settings(T0)).unwrap().id;
    store.save_totals(id, &totals(), T0 + 1_000).unwrap();

    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();

    let writer = store.clone();
    let blocked = std::thread::spawn(move || {
        let started = Instant::now();
        let result = writer.save_totals(id, &Totals::default(), T0 + 2_000);
        (result, started.elapsed())
    });
    // Let the write take the writer connection and start waiting for the lock.
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    let session = store.get_session(id).unwrap();
    let events = store.session_events(id).unwrap();
    let deliveries = store.deliveries_for(id).unwrap();
    let listed = store.list_sessions(None).unwrap();
    let read_time = started.elapsed();
    assert!(
        read_time < Duration::from_millis(500),
        "reads took {read_time:?} while a write waited for the lock"
    );
    assert_eq!(session.totals, totals());
    assert!(events.is_empty() && deliveries.is_empty());
    assert_eq!(listed.len(), 1);

    holder.execute_batch("ROLLBACK").unwrap();
    let (result, waited) = blocked.join().unwrap();
    // The write went through once the lock was released, well within the busy timeout.
    result.unwrap();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert_eq!(store.get_session(id).unwrap().totals, Totals::default());
}

/// A full disk (the file capped at its size with `max_page_count`, which fails writes with
/// SQLite's own "database or disk is full"): creating sessions fails as disk full once no
/// page is left, with nothing half-written, and everything goes on once space returns.
#[test]
fn a_full_disk_fails_creates_whole_and_space_returning_lets_them_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.db");
    let store = Store::open(&path).unwrap();
    let first = store.create_session(&settings(T0)).unwrap().id;
    store.set_page_limit(Some(0)).unwrap();

    let mut created = vec![first];
    let err = loop {
        assert!(created.len() < 10_000, "the capped file never filled up");
        match store.create_session(&settings(T0 + 1_000)) {
            Ok(session) => created.push(session.id),
            Err(e) => break e,
        }
    };
    assert!(err.is_disk_full(), "{err:?}");
    assert!(!err.is_busy());
    // Nothing of the failed create is kept, by this store or as another process reads it.
    let ids: Vec<i64> = store
        .list_sessions(None)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids.len(), created.len());
    assert_eq!(
        count(&path, "SELECT count(*) FROM sessions"),
        created.len() as i64
    );

    store.set_page_limit(None).unwrap();
    let later = store.create_session(&settings(T0 + 2_000)).unwrap();
    assert_eq!(
        store.get_session(later.id).unwrap().status,
        SessionStatus::Running
    );
    store
        .finish_session(
            first,
            &totals(),
            T0 + 60_000,
            true,
            SessionStatus::Completed,
            EndReason::User,
        )
        .unwrap();
    assert_eq!(store.get_session(first).unwrap().totals, totals());
    assert_eq!(store.list_sessions(None).unwrap().len(), created.len() + 1);
}
