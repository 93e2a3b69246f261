//! Errors returned by the store.
//!
//! The web layer maps them to responses: [`Error::NotFound`] -> 404,
//! [`Error::Conflict`] -> 409, [`Error::Invalid`] -> 422 (or 500 when the
//! caller is the server itself), everything else -> 500. [`Error::Open`] only
//! comes from [`Store::open`](crate::Store::open) and is meant to be shown to
//! the person starting the app, so its message is written in plain words.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a store call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The session or delivery with the given id does not exist.
    #[error("not found")]
    NotFound,

    /// The database file could not be opened or prepared: missing
    /// permissions, a directory, a file that is not a SQLite database, a
    /// corrupt file, or a schema from a newer version of the app.
    #[error("cannot open the database {}: {message}", path.display())]
    Open {
        /// The path that was given to [`Store::open`](crate::Store::open).
        path: PathBuf,
        /// A sentence saying what is wrong and, where possible, what to do.
        message: String,
    },

    /// The row exists but is in a state that does not allow the change,
    /// e.g. saving totals of a session that has already finished.
    #[error("conflict: {0}")]
    Conflict(String),

    /// The arguments are invalid on their own, e.g. an event that ends before
    /// it starts. Nothing was written.
    #[error("invalid input: {0}")]
    Invalid(String),

    /// Writing the CSV export to the caller's writer failed.
    #[error("writing the export failed")]
    Io(#[from] std::io::Error),

    /// Any other SQLite failure (disk full, I/O error, locked database). Nothing of the
    /// call was kept; [`Error::is_disk_full`] and [`Error::is_busy`] say which it was.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
}

impl Error {
    /// Whether the write failed for want of space: the disk is full (`SQLITE_FULL`, also
    /// what a database at its `max_page_count` answers). It may succeed once space returns.
    pub fn is_disk_full(&self) -> bool {
        self.sqlite_code() == Some(rusqlite::ErrorCode::DiskFull)
    }

    /// Whether another connection (another program, a backup) held a lock for longer than
    /// the busy timeout. It may succeed once the lock is released.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.sqlite_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }

    fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            Error::Sqlite(e) => e.sqlite_error_code(),
            _ => None,
        }
    }
}
