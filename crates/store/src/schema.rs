//! The database schema: migrations embedded from `migrations/*.sql`.
//!
//! rusqlite_migration keeps the schema version in SQLite's `user_version`
//! header field and applies each pending migration in a transaction. To
//! change the schema, add a new numbered file and append it to
//! [`MIGRATIONS`]; never edit a migration that has shipped.

use rusqlite::Connection;
use rusqlite_migration::{M, MigrationDefinitionError, Migrations};

/// SQLite `application_id` marking a file as a Focus Sentry database
/// ("FSNT" in ASCII); set by the first migration.
pub(crate) const APPLICATION_ID: i64 = 0x4653_4E54;

const MIGRATION_LIST: &[M<'static>] = &[
    M::up(include_str!("../migrations/0001_initial.sql")),
    M::up(include_str!("../migrations/0002_session_states.sql")),
    M::up(include_str!("../migrations/0003_profiles.sql")),
    M::up(include_str!("../migrations/0004_session_profile.sql")),
    M::up(include_str!("../migrations/0005_fatigue.sql")),
    M::up(include_str!("../migrations/0006_session_profile_used.sql")),
    M::up(include_str!("../migrations/0007_session_zone_time.sql")),
    M::up(include_str!("../migrations/0008_session_profile_data.sql")),
];

/// All migrations, oldest first.
pub(crate) const MIGRATIONS: Migrations<'static> = Migrations::from_slice(MIGRATION_LIST);

/// Brings the schema up to date. The error is a sentence for the user.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), String> {
    MIGRATIONS.to_latest(conn).map_err(|e| match e {
        rusqlite_migration::Error::MigrationDefinition(
            MigrationDefinitionError::DatabaseTooFarAhead,
        ) => "the database was written by a newer version of Focus Sentry; \
              run that version, or move the file aside to start with an empty one"
            .to_owned(),
        rusqlite_migration::Error::RusqliteError { err, .. } => {
            format!("could not update the database schema: {err}")
        }
        other => format!("could not update the database schema: {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        MIGRATIONS.validate().unwrap();
    }

    #[test]
    fn first_migration_sets_the_application_id() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATION_LIST.len() as i64);
    }

    #[test]
    fn version_2_keeps_the_rows_of_version_1() {
        let mut conn = Connection::open_in_memory().unwrap();
        MIGRATIONS.to_version(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO sessions (id, started_at_ms, planned_duration_s, ends_at_ms, \
             alert_threshold_ms, alert_mode, send_email, send_sms, status, ended_at_ms, \
             total_ms, focused_ms, unfocused_ms, updated_at_ms) \
             VALUES (7, 1000, 60, 61000, 10000, 'both', 0, 0, 'completed', 61000, \
             60000, 45000, 15000, 61000); \
             INSERT INTO events (session_id, kind, reason, start_ms, end_ms) \
             VALUES (7, 'focused', NULL, 1000, 46000), (7, 'unfocused', 'no_face', 46000, 61000);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let row: (i64, i64, i64, i64, Option<String>) = conn
            .query_row(
                "SELECT focused_ms, starting_ms, paused_ms, frames_analyzed, end_reason \
                 FROM sessions WHERE id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(row, (45_000, 0, 0, 0, None));
        // Version 5: a session from before it saw no eyes.
        let eyes: (i64, i64, i64, i64) = conn
            .query_row(
                "SELECT blinks, long_closures, eyes_seen_ms, eyes_shut_ms FROM sessions WHERE id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(eyes, (0, 0, 0, 0));
        let kinds: Vec<String> = conn
            .prepare("SELECT kind FROM events WHERE session_id = 7 ORDER BY start_ms")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kinds, ["focused", "unfocused"]);
        // The new kinds are accepted, unknown ones still refused.
        conn.execute(
            "INSERT INTO events (session_id, kind, start_ms, end_ms) VALUES (7, 'paused', 1, 2)",
            [],
        )
        .unwrap();
        assert!(
            conn.execute(
                "INSERT INTO events (session_id, kind, start_ms, end_ms) VALUES (7, 'nap', 1, 2)",
                [],
            )
            .is_err()
        );
        // Deleting the session still takes its timeline with it.
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.execute("DELETE FROM sessions WHERE id = 7", [])
            .unwrap();
        let left: i64 = conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn version_6_keeps_the_profile_a_session_named_as_it_is_now() {
        let mut conn = Connection::open_in_memory().unwrap();
        MIGRATIONS.to_version(&mut conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO profiles (id, name, created_at_ms, mode, data) VALUES \
             (1, 'Desk', 1, 'full', '{\"zones\": [{\"name\": \"notes\"}, {\"name\": \"tv\"}]}'), \
             (2, 'Laptop', 2, 'quick', '{}'); \
             INSERT INTO sessions (id, started_at_ms, planned_duration_s, ends_at_ms, \
             alert_threshold_ms, alert_mode, send_email, send_sms, status, updated_at_ms, \
             profile_id) VALUES \
             (7, 1000, 60, 61000, 10000, 'both', 0, 0, 'running', 61000, 1), \
             (8, 2000, 60, 62000, 10000, 'both', 0, 0, 'running', 62000, 2), \
             (9, 3000, 60, 63000, 10000, 'both', 0, 0, 'running', 63000, NULL);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        /// id, profile_name, profile_mode, profile_zones.
        type Row = (i64, Option<String>, Option<String>, Option<String>);
        let rows: Vec<Row> = conn
            .prepare(
                "SELECT id, profile_name, profile_mode, profile_zones FROM sessions ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            rows,
            [
                (7, some("Desk"), some("full"), some(r#"["notes","tv"]"#)),
                (8, some("Laptop"), some("quick"), some("[]")),
                (9, None, None, None),
            ]
        );
    }

    #[test]
    fn version_7_keeps_old_sessions_with_no_zone_time() {
        let mut conn = Connection::open_in_memory().unwrap();
        MIGRATIONS.to_version(&mut conn, 6).unwrap();
        conn.execute_batch(
            "INSERT INTO sessions (id, started_at_ms, planned_duration_s, ends_at_ms, \
             alert_threshold_ms, alert_mode, send_email, send_sms, status, ended_at_ms, \
             total_ms, focused_ms, unfocused_ms, updated_at_ms, profile_name, profile_mode, \
             profile_zones) VALUES \
             (7, 1000, 60, 61000, 10000, 'both', 0, 0, 'completed', 61000, \
             60000, 45000, 15000, 61000, 'Desk', 'full', '[\"notes\"]'); \
             INSERT INTO events (session_id, kind, reason, start_ms, end_ms) \
             VALUES (7, 'focused', NULL, 1000, 46000);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let kept: (i64, i64, String) = conn
            .query_row(
                "SELECT focused_ms, unfocused_ms, profile_zones FROM sessions WHERE id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(kept, (45_000, 15_000, r#"["notes"]"#.to_owned()));
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM session_zone_time", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0, "no zone time is made up for an old session");
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.execute(
            "INSERT INTO session_zone_time (session_id, zone, ms) VALUES (7, 'notes', 5)",
            [],
        )
        .unwrap();
        for bad in [
            "INSERT INTO session_zone_time (session_id, zone, ms) VALUES (7, 'tv', -1)",
            "INSERT INTO session_zone_time (session_id, zone, ms) VALUES (8, 'tv', 1)",
            "INSERT INTO session_zone_time (session_id, zone, ms) VALUES (7, 'notes', 1)",
        ] {
            assert!(conn.execute(bad, []).is_err(), "{bad}");
        }
        conn.execute("DELETE FROM sessions WHERE id = 7", [])
            .unwrap();
        let left: i64 = conn
            .query_row("SELECT count(*) FROM session_zone_time", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "a deleted session takes its zone time with it");
    }

    #[test]
    fn version_8_keeps_the_numbers_of_the_profile_a_session_named_as_they_are_now() {
        let mut conn = Connection::open_in_memory().unwrap();
        MIGRATIONS.to_version(&mut conn, 7).unwrap();
        conn.execute_batch(
            "INSERT INTO profiles (id, name, created_at_ms, mode, data) VALUES \
             (1, 'Desk', 1, 'full', '{\"version\": 1, \"zones\": []}'); \
             INSERT INTO sessions (id, started_at_ms, planned_duration_s, ends_at_ms, \
             alert_threshold_ms, alert_mode, send_email, send_sms, status, ended_at_ms, \
             updated_at_ms, profile_id, profile_name) VALUES \
             (7, 1000, 60, 61000, 10000, 'both', 0, 0, 'interrupted', 31000, 31000, 1, 'Desk'), \
             (8, 2000, 60, 62000, 10000, 'both', 0, 0, 'interrupted', 32000, 32000, NULL, \
             'Gone'), \
             (9, 3000, 60, 63000, 10000, 'both', 0, 0, 'completed', 63000, 63000, NULL, NULL);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(i64, Option<String>)> = conn
            .prepare("SELECT id, profile_data FROM sessions ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (7, Some(r#"{"version": 1, "zones": []}"#.to_owned())),
                (8, None),
                (9, None),
            ]
        );
        assert!(
            conn.execute(
                "UPDATE sessions SET profile_data = 'not json' WHERE id = 9",
                []
            )
            .is_err(),
            "only JSON is kept"
        );
    }

    #[test]
    fn a_newer_schema_is_refused_in_words() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let message = migrate(&mut conn).unwrap_err();
        assert!(message.contains("newer version"), "{message}");
    }
}
