//! The reader connections of a file database: opened on demand up to [`MAX_READERS`],
//! each `query_only`, and kept for reuse. Reads run on them so they never queue behind
//! the writer (which may be waiting out the busy timeout for another process's lock):
//! in WAL mode a reader sees the last committed state without taking any lock a writer
//! holds.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OpenFlags};

use crate::{BUSY_TIMEOUT, Result};

/// Reader connections open at most at once. Reads are short (a page's
/// history, one session, the delivery queue); four cover the page, a second
/// tab, the CSV export and the delivery worker at the same time.
const MAX_READERS: usize = 4;

/// The reader connections of a file database, opened on demand up to
/// [`MAX_READERS`] and kept for reuse.
pub(crate) struct ReaderPool {
    path: PathBuf,
    flags: OpenFlags,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Connection>,
    open: usize,
}

impl ReaderPool {
    pub(crate) fn new(path: PathBuf, flags: OpenFlags) -> Self {
        Self {
            path,
            flags,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // The state is two plain fields updated together; a panic cannot
        // leave them half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get(&self) -> Result<Pooled<'_>> {
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < MAX_READERS {
                state.open += 1;
                drop(state);
                return match self.open_reader() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A connection that can only read (`query_only`), so a bug can never
    /// make it a second writer. It is opened read-write all the same: a
    /// read-only connection cannot create the WAL index if it is missing.
    fn open_reader(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(&self.path, self.flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(32);
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }
}

/// A reader connection on loan from the pool; returned when dropped.
pub(crate) struct Pooled<'a> {
    pool: &'a ReaderPool,
    conn: Option<Connection>,
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.lock().idle.push(conn);
            self.pool.returned.notify_one();
        }
    }
}

/// The connection a read runs on: a pooled reader, or the writer of an
/// in-memory database.
pub(crate) enum Reader<'a> {
    Pooled(Pooled<'a>),
    Shared(MutexGuard<'a, Connection>),
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Reader::Pooled(pooled) => pooled
                .conn
                .as_ref()
                .expect("only Drop takes the connection out"),
            Reader::Shared(guard) => guard,
        }
    }
}
