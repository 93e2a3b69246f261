//! Child processes for the fault cases, run from this same test binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

/// The variable that tells [`hold_write_lock_process`] which database to lock.
const LOCK_DB_VAR: &str = "FOCUS_FAULTS_LOCK_DB";

/// Another process holding the write lock (`BEGIN IMMEDIATE`) of a SQLite database, as a
/// backup tool or a second copy of the app would. The lock is released when this is
/// dropped.
pub struct LockHolder {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl LockHolder {
    /// Starts the process and returns once it holds the lock.
    pub fn hold(db: &Path) -> LockHolder {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "helpers::hold_write_lock_process",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(LOCK_DB_VAR, db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("WRITE LOCK HELD") => break,
                Some(Ok(_)) => {}
                other => panic!("the lock holder stopped before locking: {other:?}"),
            }
        }
        LockHolder { child, stdin }
    }

    /// Releases the lock (rollback) and waits for the process to exit.
    pub fn release(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        // Closing its stdin is the signal to roll back and exit.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Not a test: the body of [`LockHolder`]'s process. Does nothing when run without its
/// variable (e.g. by `cargo test -- --ignored`).
#[test]
#[ignore = "a helper process for the fault tests, started by LockHolder"]
fn hold_write_lock_process() {
    let Some(path) = std::env::var_os(LOCK_DB_VAR) else {
        return;
    };
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    println!("WRITE LOCK HELD");
    std::io::stdout().flush().unwrap();
    // Hold it until the parent closes our stdin (or dies).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    conn.execute_batch("ROLLBACK").unwrap();
}
