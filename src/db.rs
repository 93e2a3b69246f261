//! An async facade over the synchronous [`focus_store::Store`].
//!
//! The store does blocking SQLite I/O; every call here runs it on tokio's blocking pool so
//! the async workers never wait on the disk. The SQL itself stays in the store crate: this
//! module only moves calls to another thread and maps the error.

use std::path::PathBuf;

use focus_store::Store;

/// A store failure as the web layer sees it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// The disk holding the database is full; nothing of the call was written. It may go
    /// through once space is freed.
    #[error("the disk is full")]
    DiskFull(#[source] focus_store::Error),
    /// Another program held the database locked for longer than the busy timeout; nothing
    /// of the call was written. It may go through once the lock is released.
    #[error("the database is locked by another program")]
    Busy(#[source] focus_store::Error),
    /// Any other store failure; the cause is logged, never sent to a client.
    #[error("store call failed")]
    Store(#[source] focus_store::Error),
    /// The blocking task panicked or was cancelled.
    #[error("store task failed")]
    Task(#[from] tokio::task::JoinError),
}

impl From<focus_store::Error> for DbError {
    fn from(error: focus_store::Error) -> Self {
        match error {
            focus_store::Error::NotFound => DbError::NotFound,
            e if e.is_disk_full() => DbError::DiskFull(e),
            e if e.is_busy() => DbError::Busy(e),
            other => DbError::Store(other),
        }
    }
}

/// The database handle shared by the app. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    store: Store,
}

impl Db {
    /// Opens (creating and migrating) the database file. The error is the store's
    /// [`focus_store::Error::Open`], whose message is written for the person starting the
    /// app.
    pub async fn open(path: PathBuf) -> Result<Db, focus_store::Error> {
        let store = tokio::task::spawn_blocking(move || Store::open(path))
            .await
            .map_err(|e| focus_store::Error::Invalid(format!("opening task failed: {e}")))??;
        Ok(Db { store })
    }

    /// Runs `f` with the store on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> focus_store::Result<T> + Send + 'static,
    {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || f(&store)).await??)
    }
}
