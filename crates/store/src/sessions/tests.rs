//! Tests of the session calls, and the session fixtures the other modules' tests share.

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
        profile_id: None,
        profile_used: None,
        profile_data: None,
    }
}

pub(crate) fn totals(total_ms: u64, focused_ms: u64) -> Totals {
    Totals {
        total_ms,
        focused_ms,
        unfocused_ms: total_ms - focused_ms,
        breaks: 1,
        longest_focus_ms: focused_ms / 2,
        // Every save and end carries the eye counts too, so each round trip checks them.
        eyes: crate::model::EyeCounts {
            blinks: u32::try_from(total_ms / 4_000).unwrap(),
            long_closures: 1,
            eyes_seen_ms: focused_ms,
            eyes_shut_ms: focused_ms / 50,
        },
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

fn ending(total_ms: u64) -> Ending {
    Ending {
        totals: totals(total_ms, total_ms / 2),
        ended_at_ms: T0 + i64::try_from(total_ms).unwrap(),
        ended_early: true,
        status: SessionStatus::Completed,
        end_reason: EndReason::User,
    }
}

#[test]
fn finishing_queues_the_summaries_in_the_same_transaction() {
    let store = Store::open_in_memory().unwrap();
    let mut both = new_session(T0);
    both.send_sms = true;
    let id = store.create_session(&both).unwrap().id;
    let (finished, queued) = store
        .finish_session_queued(id, &ending(60_000), T0 + 90_000, T0 + 60_000)
        .unwrap();
    assert_eq!(finished.status, SessionStatus::Completed);
    let channels: Vec<Channel> = queued.iter().map(|d| d.channel).collect();
    assert_eq!(channels, [Channel::Email, Channel::Sms]);
    assert!(
        queued
            .iter()
            .all(|d| d.next_attempt_at_ms == Some(T0 + 90_000))
    );
    assert_eq!(store.deliveries_for(id).unwrap(), queued);
    // Finishing again queues nothing more and returns the stored session.
    let (again, none) = store
        .finish_session_queued(id, &ending(90_000), T0, T0 + 95_000)
        .unwrap();
    assert_eq!(again, finished);
    assert!(none.is_empty());

    // A session that asked for nothing queues nothing.
    let mut quiet = new_session(T0);
    quiet.send_email = false;
    let id = store.create_session(&quiet).unwrap().id;
    let (_, queued) = store
        .finish_session_queued(id, &ending(1_000), T0, T0)
        .unwrap();
    assert!(queued.is_empty());
}

#[test]
fn a_summary_that_cannot_be_queued_leaves_the_session_running() {
    let store = Store::open_in_memory().unwrap();
    let id = store.create_session(&new_session(T0)).unwrap().id;
    store
        .writer()
        .execute_batch(
            "CREATE TEMP TRIGGER no_queue BEFORE INSERT ON deliveries \
             BEGIN SELECT RAISE(ABORT, 'queue refused'); END",
        )
        .unwrap();
    let refused = store.finish_session_queued(id, &ending(60_000), T0, T0);
    assert!(refused.is_err(), "{refused:?}");
    let kept = store.get_session(id).unwrap();
    assert_eq!(
        kept.status,
        SessionStatus::Running,
        "the end was not half-stored"
    );
    assert_eq!(kept.totals, Totals::default());

    store
        .writer()
        .execute_batch("DROP TRIGGER no_queue")
        .unwrap();
    let (finished, queued) = store
        .finish_session_queued(id, &ending(60_000), T0, T0)
        .unwrap();
    assert_eq!(finished.status, SessionStatus::Completed);
    assert_eq!(queued.len(), 1);
}

#[test]
fn recovery_queues_the_summaries_with_the_sessions_it_closes() {
    let store = Store::open_in_memory().unwrap();
    let asked = store.create_session(&new_session(T0)).unwrap();
    let mut quiet = new_session(T0);
    quiet.send_email = false;
    let quiet = store.create_session(&quiet).unwrap();
    let now = T0 + 60_000;
    assert_eq!(store.close_interrupted(now).unwrap(), [asked.id, quiet.id]);
    // Due at its planned end: until then it can be continued.
    let queued = store.deliveries_for(asked.id).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].channel, Channel::Email);
    assert_eq!(queued[0].next_attempt_at_ms, Some(asked.ends_at_ms));
    assert!(store.deliveries_for(quiet.id).unwrap().is_empty());
    // Past its planned end, due now.
    let late = store.create_session(&new_session(T0)).unwrap();
    let after_end = late.ends_at_ms + 5_000;
    store.close_interrupted(after_end).unwrap();
    let queued = store.deliveries_for(late.id).unwrap();
    assert_eq!(queued[0].next_attempt_at_ms, Some(after_end));
}

fn zone_time(list: &[(&str, u64)]) -> Vec<ZoneTime> {
    (list.iter())
        .map(|&(zone, ms)| ZoneTime {
            zone: zone.to_owned(),
            ms,
        })
        .collect()
}

#[test]
fn zone_time_is_saved_with_the_totals_in_its_order_and_read_everywhere() {
    let store = Store::open_in_memory().unwrap();
    let plain = store.create_session(&new_session(T0)).unwrap();
    let s = store.create_session(&new_session(T0 + 1)).unwrap();
    let with_zones = |total_ms, list: &[(&str, u64)]| Totals {
        zone_time: zone_time(list),
        ..totals(total_ms, 8_000)
    };
    // Zones in the profile's order (not the names' order), a zone with no time kept as 0.
    let first = with_zones(10_000, &[("tv", 0), ("notes", 2_000)]);
    store.save_totals(s.id, &first, T0 + 10_000).unwrap();
    assert_eq!(store.get_session(s.id).unwrap().totals, first);
    // Later saves update the times; a zone seen only now (renamed while interrupted) comes
    // after the others.
    let second = with_zones(20_000, &[("tv", 1_500), ("notes", 6_000), ("paper", 10)]);
    store.save_totals(s.id, &second, T0 + 20_000).unwrap();
    assert_eq!(store.get_session(s.id).unwrap().totals, second);
    let listed = store.list_sessions(None).unwrap();
    let by_id = |id| listed.iter().find(|l| l.id == id).unwrap().totals.clone();
    assert_eq!(by_id(s.id), second);
    assert_eq!(by_id(plain.id).zone_time, []);
    // A list from `since` carries the zone time of the sessions in it.
    let recent = store.list_sessions(Some(T0 + 1)).unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].totals, second);
    let csv = store.sessions_csv().unwrap();
    assert!(csv.contains(",tv=1.5; notes=6; paper=0.01\r\n"), "{csv}");

    // The end writes the final times; crash recovery keeps the last saved ones.
    let end = with_zones(30_000, &[("tv", 1_500), ("notes", 9_000), ("paper", 10)]);
    let done = store
        .finish_session(
            s.id,
            &end,
            T0 + 30_000,
            true,
            SessionStatus::Completed,
            EndReason::User,
        )
        .unwrap();
    assert_eq!(done.totals, end);
    assert!(store.save_totals(s.id, &second, T0 + 40_000).is_err());
    assert_eq!(
        store.get_session(s.id).unwrap().totals,
        end,
        "a finished session keeps its end"
    );
    store.save_totals(plain.id, &first, T0 + 5_000).unwrap();
    store.close_interrupted(T0 + 60_000).unwrap();
    assert_eq!(store.get_session(plain.id).unwrap().totals, first);

    // Deleting a session takes its zone time with it.
    store.delete_session(s.id).unwrap();
    let left: i64 = store
        .reader()
        .unwrap()
        .query_row(
            "SELECT count(*) FROM session_zone_time WHERE session_id = ?1",
            [s.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
}
