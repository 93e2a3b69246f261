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

const MIGRATION_LIST: &[M<'static>] = &[M::up(include_str!("../migrations/0001_initial.sql"))];

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
    fn a_newer_schema_is_refused_in_words() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let message = migrate(&mut conn).unwrap_err();
        assert!(message.contains("newer version"), "{message}");
    }
}
