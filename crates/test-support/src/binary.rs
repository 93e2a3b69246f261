//! The real `focus-sentry` binary as a child process, serving on `127.0.0.1` with an
//! OS-chosen port: for the tests that need what only a process has (a crash by SIGKILL, a
//! restart on the same database, the log as the user sees it, settings from the environment),
//! or run until it exits ([`run_to_exit`], for start-up errors).
//!
//! The binary's path comes from the calling test (`env!("CARGO_BIN_EXE_focus-sentry")`: Cargo
//! sets it only for the binary crate's own integration tests).

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long the binary may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a run that should end by itself may take.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A running binary whose stderr is collected line by line (so it never blocks on a full
/// pipe). Killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, from its "listening on" log line.
    pub base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `program serve --host 127.0.0.1 --port 0 --db DIR/focus.db` in `dir` (a folder
    /// of the test's own, so no `.env` of the developer's is read), at log level `debug`,
    /// with `env` added to its environment. Waits for its "listening on" line (at most 60 s).
    pub async fn start(program: &str, dir: &Path, env: &[(&str, String)]) -> Server {
        let mut command = Command::new(program);
        command
            .args(["serve", "--host", "127.0.0.1", "--port", "0", "--db"])
            .arg(dir.join("focus.db"))
            .current_dir(dir)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the binary starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = tokio::sync::oneshot::channel();
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            let mut address_tx = Some(address_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let address = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    if let Some(tx) = address_tx.take() {
                        let _ = tx.send(address);
                    }
                }
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line);
            }
        });
        let base = match tokio::time::timeout(START_TIMEOUT, address_rx).await {
            Ok(Ok(base)) => base,
            Ok(Err(_)) => panic!(
                "the server exited before listening:\n{}",
                log.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .join("\n")
            ),
            Err(_) => panic!("the server did not listen within {START_TIMEOUT:?}"),
        };
        Server { child, base, log }
    }

    /// Its process id while it runs (to read its memory from `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .join("\n")
    }

    /// Kills it with SIGKILL (no shutdown path at all, as a crash) and waits for it to exit.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// Kills it and returns everything it logged.
    pub async fn stop(mut self) -> String {
        self.kill().await;
        // Let the reader drain what was left in the pipe.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.log()
    }
}

/// Runs `program` with `args` and the extra environment `env` until it exits (at most 60 s):
/// for start-up errors, which end the process. Returns (exit success, stderr).
pub async fn run_to_exit(program: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = tokio::time::timeout(
        EXIT_TIMEOUT,
        Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("exits within 60 s")
    .expect("the binary starts");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
