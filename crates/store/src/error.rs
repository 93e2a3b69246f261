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

    /// Any other SQLite failure (disk full, I/O error, locked database).
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
}
