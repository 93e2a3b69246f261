//! [`SessionError`]: what starting or ending a session can fail with. The web layer maps it
//! to HTTP (`crate::web::error`); the session layer knows nothing of status codes.

use crate::db::DbError;

/// Why a session could not be started or ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No session has this id, open or stored.
    #[error("no session with id {0}")]
    NotFound(i64),
    /// The session exists but is not running (it ended, or it was interrupted and can no
    /// longer be continued).
    #[error("session {0} is not running")]
    NotRunning(i64),
    /// As many sessions as allowed (the number) are running; none starts until one ends.
    #[error("{0} sessions are running, the most allowed")]
    TooMany(usize),
    /// The calibration profile asked for cannot be used (`0`: why, in words).
    #[error("{0}")]
    Profile(String),
    /// The server is stopping and starts no new sessions.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The end of session `id` could not be stored (`source` says why: a full disk, a
    /// locked database): the session is still running and may be ended again.
    #[error("the end of session {id} could not be saved")]
    EndNotSaved {
        id: i64,
        #[source]
        source: DbError,
    },
    /// The database failed.
    #[error("database error")]
    Db(#[from] DbError),
}
