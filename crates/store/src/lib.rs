//! SQLite persistence for Focus Sentry: every session, its timeline and the
//! status of its email/SMS summaries. This crate is the only place in the
//! project that writes SQL.
//!
//! The API is synchronous; async callers wrap calls in
//! `tokio::task::spawn_blocking`. [`Store`] is a cheap `Clone` handle
//! (`Send + Sync`) around one writer connection behind a mutex and a small
//! pool of reader connections. Writes are serialised on the writer; reads
//! run on their own WAL read transactions, so a read never waits for a write
//! (not even one that waits out the busy timeout because another process
//! holds the write lock). Every read sees every write committed before it
//! began. An in-memory database has one connection, which both share.
//!
//! Times are `i64` unix milliseconds (UTC); durations are milliseconds. The
//! caller passes "now" in, so the store never reads the clock and tests are
//! deterministic.
//!
//! Every call that writes more than one row runs in a single transaction: if
//! it fails, nothing of it is kept and no other row is touched.
//!
//! # Layout
//!
//! - [`Store`] (this file): opening, connection settings, schema checks.
//! - `schema`: the embedded migrations (`migrations/*.sql`).
//! - [`model`]: domain types ([`Session`], [`Totals`], [`Event`], [`Delivery`], ...).
//! - `pool`: the reader connections of a file database.
//! - `sessions`: create, save totals, finish, crash recovery, list, delete.
//! - `events`: the timeline of focused / unfocused stretches and breaks.
//! - `deliveries`: the queue of email/SMS summaries with retries.
//! - `stats`: figures over finished sessions.
//! - `profiles`: calibration profiles (a name and the numbers, never frames).
//! - `export`: CSV export of all sessions.
//! - [`error`]: [`Error`] and [`Result`].

#![forbid(unsafe_code)]
// Tests may unwrap: a panic is how they fail. The library target is still
// checked without this.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod deliveries;
pub mod error;
mod events;
mod export;
pub mod model;
mod pool;
mod profiles;
mod schema;
mod sessions;
mod stats;

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use pool::{Reader, ReaderPool};

pub use error::{Error, Result};
pub use export::CSV_HEADER;
pub use model::{
    AlertMode, Channel, Delivery, DeliveryStatus, EndReason, Ending, Event, EventKind, EyeCounts,
    NewEvent, NewProfile, NewSession, OpenStretch, Outcome, ProfileUsed, Session, SessionStatus,
    Stats, StoredProfile, Totals, ZoneTime,
};
pub use profiles::PROFILE_NAME_MAX_CHARS;
pub use stats::{BEST_SESSION_MIN_MS, SHORT_SESSION_MS, is_short};

/// How long a statement waits for a lock held by another connection (e.g. a
/// backup tool or a second copy of the app) before failing with "busy".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Handle to the database. Clones share the writer and the reader pool.
#[derive(Clone)]
pub struct Store {
    writer: Arc<Mutex<Connection>>,
    /// `None` for an in-memory database: it exists only in its one
    /// connection, so reads use the writer.
    readers: Option<Arc<ReaderPool>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database at `path`, creating the file (and its folder) on
    /// first run, and brings the schema up to date.
    ///
    /// Sets `journal_mode=WAL` (readers do not block the writer, and a crash
    /// never leaves a half-written session), `synchronous=NORMAL` (safe with
    /// WAL: a power cut may lose the last few seconds, never corrupt the
    /// file), `foreign_keys=ON` and a busy timeout. Then runs a quick
    /// integrity check, so a damaged file is reported now rather than in the
    /// middle of a session.
    ///
    /// # Errors
    ///
    /// [`Error::Open`], with a message naming the path, when the path is a
    /// directory, cannot be created or read, is not a SQLite database, is
    /// corrupt, belongs to another program, or was written by a newer
    /// version of the app.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let fail = |message: String| Error::Open {
            path: path.to_path_buf(),
            message,
        };
        if path.as_os_str().is_empty() {
            // SQLite would quietly open a temporary database that vanishes
            // on exit.
            return Err(fail("no database path was given".into()));
        }
        if path.is_dir() {
            return Err(fail(
                "this is a folder; give the path of a database file inside it, \
                 e.g. focus-sentry.db"
                    .into(),
            ));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                fail(format!(
                    "could not create the folder {}: {e}",
                    parent.display()
                ))
            })?;
        }
        // No SQLITE_OPEN_URI: a configured path is always a file name.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn =
            Connection::open_with_flags(path, flags).map_err(|e| fail(describe_open_error(&e)))?;
        prepare(&mut conn, path)?;
        let readers = ReaderPool::new(path.to_path_buf(), flags);
        // Open one reader now, so a file readers cannot use is reported at
        // start-up rather than on the first page load.
        drop(readers.get().map_err(|e| match e {
            Error::Sqlite(e) => fail(describe_open_error(&e)),
            other => other,
        })?);
        Ok(Self {
            writer: Arc::new(Mutex::new(conn)),
            readers: Some(Arc::new(readers)),
        })
    }

    /// Opens a fresh private in-memory database with the full schema. For
    /// tests: nothing is kept when the last clone is dropped.
    pub fn open_in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        prepare(&mut conn, Path::new(":memory:"))?;
        Ok(Self {
            writer: Arc::new(Mutex::new(conn)),
            readers: None,
        })
    }

    /// Locks the writer connection, for calls that write. A panic in
    /// another thread while it held the lock cannot have left a half-done
    /// write behind (an open transaction is rolled back when dropped during
    /// unwinding), so a poisoned lock is safe to keep using.
    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection for calls that only read: one of the pool's, waiting
    /// only for another read to finish when all are busy; never for the
    /// writer.
    fn reader(&self) -> Result<Reader<'_>> {
        match &self.readers {
            Some(pool) => Ok(Reader::Pooled(pool.get()?)),
            None => Ok(Reader::Shared(self.writer())),
        }
    }

    /// Caps the database file at `max_pages` pages (SQLite's `max_page_count`) for
    /// this store's writes, or lifts the cap with `None`. A write that would grow the
    /// file past the cap fails exactly as on a full disk ([`Error::is_disk_full`]) and
    /// keeps nothing of itself. A cap below the file's size is raised to its size.
    /// The fault tests fill the "disk" with it; returns the cap now in force, in pages.
    pub fn set_page_limit(&self, max_pages: Option<u64>) -> Result<u64> {
        // SQLite's largest page count (0 would leave the cap unchanged); pragmas take
        // no bound parameters.
        let pages = max_pages.unwrap_or(4_294_967_294).clamp(1, 4_294_967_294);
        let set =
            self.writer()
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |row| {
                    row.get(0)
                })?;
        Ok(set)
    }
}

/// Applies connection settings, checks the file is ours and intact, and
/// migrates. Any failure becomes [`Error::Open`] naming `path`.
fn prepare(conn: &mut Connection, path: &Path) -> Result<()> {
    let fail = |message: String| Error::Open {
        path: path.to_path_buf(),
        message,
    };
    let sqlite = |e: rusqlite::Error| fail(describe_open_error(&e));

    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
    // Room for every distinct statement the store prepares (about 20).
    conn.set_prepared_statement_cache_capacity(32);
    // The first statement that reads the file, so a non-database fails here;
    // and it must come before anything that writes (journal mode).
    check_ownership(conn).map_err(|e| match e {
        Ownership::Foreign(message) => fail(message),
        Ownership::Sqlite(e) => sqlite(e),
    })?;

    // In-memory databases answer "memory"; a file system without shared
    // memory support may refuse WAL, in which case SQLite keeps its rollback
    // journal, which is slower but just as safe, so that is not an error.
    let _mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(sqlite)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sqlite)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(sqlite)?;

    let check: String = conn
        .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
        .map_err(sqlite)?;
    if check != "ok" {
        // quick_check answers "*** in database main ***\nPage 2: ...";
        // keep the finding on one line.
        let check = check
            .trim_start_matches("*** in database main ***")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        return Err(fail(format!(
            "the database file is damaged ({check}); restore a backup or move \
             the file aside to start with an empty one"
        )));
    }

    schema::migrate(conn).map_err(fail)
}

enum Ownership {
    Foreign(String),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Ownership {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}

/// Refuses a SQLite file that some other program made, so a wrong path in
/// the configuration never adds our tables to someone else's database.
fn check_ownership(conn: &Connection) -> std::result::Result<(), Ownership> {
    let app_id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if app_id == schema::APPLICATION_ID {
        return Ok(());
    }
    let objects: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    if app_id != 0 || objects > 0 {
        return Err(Ownership::Foreign(
            "this is a SQLite database made by another program, not by Focus \
             Sentry; choose another path"
                .into(),
        ));
    }
    Ok(())
}

/// Turns an error met while opening into a sentence for the user.
fn describe_open_error(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => "the file is not a SQLite database (it is corrupt or \
             is some other kind of file); move it aside to start with an empty one"
            .into(),
        Some(ErrorCode::DatabaseCorrupt) => "the database file is corrupt; restore a backup or \
             move the file aside to start with an empty one"
            .into(),
        Some(ErrorCode::CannotOpen) => "the file cannot be opened; check that the folder \
             exists and that the app may read and write it"
            .into(),
        Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            "permission denied: the app must be able to read and write the file and its folder"
                .into()
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "the database is locked by another process (is another copy of Focus Sentry running?)"
                .into()
        }
        Some(ErrorCode::DiskFull) => "the disk is full".into(),
        _ => format!("SQLite reported: {e}"),
    }
}
