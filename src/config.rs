//! Configuration: read once at start-up from command-line flags, environment variables and a
//! `.env` file (in that order of precedence), validated, and handed out as typed structs.
//!
//! Only `main` reads the environment: it calls [`Cli::parse_with_dotenv`] and then
//! [`Config::from_serve_args`]. Everything below takes a [`Config`] value, so tests build one
//! directly with [`Config::for_database`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use focus_notify::NotifyConfig;

use crate::cli::{AnalyzeArgs, EvalArgs};

/// The command line: `focus-sentry [serve] [--host H] [--port P] [--db PATH]`, or one of the
/// offline tools.
#[derive(Debug, Parser)]
#[command(
    name = "focus-sentry",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags for serving when no subcommand is given (`focus-sentry` = `focus-sentry serve`).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Analyse image files and print the attention verdict of each.
    Analyze(AnalyzeArgs),
    /// Evaluate the vision pipeline against labelled photos.
    Eval(EvalArgs),
}

impl Cli {
    /// Loads `.env` (if there is one; variables already set win) and parses the command line.
    /// Flags win over environment variables.
    pub fn parse_with_dotenv() -> Self {
        // A missing .env is the normal case; a malformed one is reported by the caller's
        // logging once tracing is up, so it is returned rather than printed here.
        let _ = dotenvy::dotenv();
        Cli::parse()
    }

    /// The serve flags to use: those of `serve`, or the top-level ones when no subcommand
    /// was given. `None` for the offline tools.
    pub fn serve_args(&self) -> Option<&ServeArgs> {
        match &self.command {
            None => Some(&self.serve),
            Some(Command::Serve(args)) => Some(args),
            Some(_) => None,
        }
    }
}

/// Where to listen and which database to use.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback by default: the app is meant for this machine only.
    #[arg(long, env = "FOCUS_HOST", default_value = "127.0.0.1", value_parser = parse_host)]
    pub host: IpAddr,
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, env = "FOCUS_PORT", default_value_t = 8000)]
    pub port: u16,
    /// SQLite database file, created on first run.
    #[arg(long = "db", env = "FOCUS_DB", default_value = "focus_sentry.db")]
    pub db_path: PathBuf,
}

/// Accepts an IP address or `localhost`.
fn parse_host(value: &str) -> Result<IpAddr, String> {
    if value.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value
        .parse()
        .map_err(|_| format!("'{value}' is not an IP address (e.g. 127.0.0.1 or ::1)"))
}

/// Everything the server needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address and port to bind.
    pub listen: SocketAddr,
    /// The SQLite database file.
    pub db_path: PathBuf,
    pub limits: Limits,
    pub timing: Timing,
    /// Email (SMTP) and SMS (Twilio) settings; a channel is `None` when not configured.
    pub notify: NotifyConfig,
}

impl Config {
    /// The configuration for `serve`, from its flags plus the notification settings looked up
    /// by `lookup` (the environment, in `main`). A partly configured channel stays off; its
    /// problems are in `notify.problems` and are logged at start-up.
    pub fn from_serve_args(args: &ServeArgs, lookup: impl Fn(&str) -> Option<String>) -> Self {
        Config {
            listen: SocketAddr::new(args.host, args.port),
            db_path: args.db_path.clone(),
            limits: Limits::default(),
            timing: Timing::default(),
            notify: NotifyConfig::from_lookup(lookup),
        }
    }

    /// Defaults for a given database file, listening on `127.0.0.1:0` (any free port) with no
    /// notifications configured: what tests start from.
    pub fn for_database(db_path: impl Into<PathBuf>) -> Self {
        Config {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            db_path: db_path.into(),
            limits: Limits::default(),
            timing: Timing::default(),
            notify: NotifyConfig {
                email: None,
                sms: None,
                problems: Vec::new(),
            },
        }
    }
}

/// Input limits. The ranges are part of the API (see `docs/api.md`) and are sent to the page
/// by `GET /api/config` so the form checks the same bounds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest frame analysed; larger frames get an error reply. 2 MB.
    pub max_frame_bytes: usize,
    /// Largest WebSocket message accepted at all; beyond it the connection is closed (the
    /// only way to bound memory). Well above `max_frame_bytes` so that a frame a bit too big
    /// gets a reply in words rather than a dropped connection.
    pub max_ws_message_bytes: usize,
    /// Largest JSON request body.
    pub max_body_bytes: usize,
    /// Planned session length, minutes (inclusive).
    pub duration_minutes: (f64, f64),
    /// Seconds unfocused before alerting (inclusive).
    pub alert_threshold_s: (f64, f64),
    /// Frames analysed at once across all sessions (each session has at most one in
    /// flight); defaults to the number of cores so inference never oversubscribes the CPU.
    pub max_concurrent_inference: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 2 * 1024 * 1024,
            max_ws_message_bytes: 8 * 1024 * 1024,
            max_body_bytes: 64 * 1024,
            duration_minutes: (1.0, 600.0),
            alert_threshold_s: (0.5, 600.0),
            max_concurrent_inference: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        }
    }
}

/// How often the server acts on open sessions without being asked.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Period of each open session's clock tick: it accrues "no signal" time when no frames
    /// arrive and ends the session at its planned time. 500 ms.
    pub tick_interval: Duration,
    /// Running totals and closed stretches are saved at least this often, bounding what a
    /// crash can lose. 2 s.
    pub save_interval: Duration,
    /// When no frame has been answered for this long, the live socket is sent the state
    /// anyway (so the page shows "no camera signal" and the timers keep moving). 1 s.
    pub idle_push_interval: Duration,
    /// How long shutdown waits for open connections after saving the sessions. 5 s.
    pub shutdown_grace: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            tick_interval: Duration::from_millis(500),
            save_interval: Duration::from_secs(2),
            idle_push_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["focus-sentry"]).expect("parses");
        let args = cli.serve_args().expect("serve");
        assert_eq!(args.port, 8000);
        assert_eq!(args.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn serve_subcommand_takes_flags() {
        let cli = Cli::try_parse_from(["focus-sentry", "serve", "--port", "9001", "--db", "x.db"])
            .expect("parses");
        let args = cli.serve_args().expect("serve");
        assert_eq!(args.port, 9001);
        assert_eq!(args.db_path, PathBuf::from("x.db"));
    }

    #[test]
    fn localhost_is_loopback() {
        assert_eq!(parse_host("localhost"), Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(parse_host("example.com").is_err());
    }
}
