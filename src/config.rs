//! Configuration: read once at start-up from command-line flags, environment variables and a
//! `.env` file (in that order of precedence), validated, and handed out as typed structs.
//!
//! Only `main` reads the environment: it calls [`load_dotenv`], parses the command line
//! ([`crate::cli::Cli`], whose `serve` flags are [`ServeArgs`]) and then
//! [`Config::from_serve_args`]. Everything below takes a [`Config`] value, so tests build one
//! directly with [`Config::for_database`].
//!
//! A setting that is present but unusable never stops the server and never panics: the
//! feature it belongs to stays off (email, SMS) or falls back to its default
//! (`FOCUS_PUBLIC_URL`), and the problem is kept in words (which variable, what is wrong) for
//! [`crate::startup`] to log once. Secrets (the SMTP password, the Twilio token) are
//! [`focus_notify::Secret`]s, so `Debug` of a [`Config`] prints `[redacted]` for them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use focus_notify::{ConfigProblem, NotifyConfig, RetryPolicy};
use jiff::tz::TimeZone;

mod access;

pub use access::{ACCESS_TOKEN_VAR, AccessToken, MIN_TOKEN_CHARS};

/// Loads `.env` from the working directory (or the nearest parent that has one) into the
/// environment; variables already set win. Call it before parsing the command line, whose
/// flags fall back to the environment.
///
/// A missing `.env` is the normal case: `None`. A file that cannot be read or parsed is
/// described in words for the log, without quoting its lines (they may hold a password).
/// The lines before a malformed one are loaded; it and those after it are not.
pub fn load_dotenv() -> Option<String> {
    match dotenvy::dotenv() {
        Ok(_) => None,
        Err(e) if e.not_found() => None,
        Err(e) => Some(describe_dotenv_error(&e)),
    }
}

/// What went wrong with `.env`, naming the variable of a malformed line but never its value.
fn describe_dotenv_error(error: &dotenvy::Error) -> String {
    match error {
        dotenvy::Error::LineParse(line, _) => {
            let name = line
                .split('=')
                .next()
                .map(|name| name.trim().trim_start_matches("export ").trim())
                .filter(|name| {
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                });
            let which = match name {
                Some(name) => format!("the line that sets {name}"),
                None => "a line".to_owned(),
            };
            format!(
                ".env: {which} is not NAME=value (check its quotes and spaces); it and the \
                 lines after it were ignored"
            )
        }
        other => format!(".env could not be read ({other}); its settings were ignored"),
    }
}

/// Where to listen and which database to use.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback by default: the app is meant for this machine only.
    #[arg(long, env = "FOCUS_HOST", default_value = "127.0.0.1", value_parser = parse_host)]
    pub host: IpAddr,
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, env = "FOCUS_PORT", default_value_t = 8000, value_parser = parse_port)]
    pub port: u16,
    /// SQLite database file, created on first run.
    #[arg(long = "db", env = "FOCUS_DB", default_value = "focus_sentry.db")]
    pub db_path: PathBuf,
    /// Sessions that may run at once; starting one more is refused (429) until one ends.
    #[arg(
        long,
        env = "FOCUS_MAX_SESSIONS",
        default_value_t = 32,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_sessions: u32,
    /// Frames analysed at the same moment, all sessions together (each session has at most
    /// one in flight), each on a thread of its own. Default: the number of cores.
    #[arg(
        long,
        env = "FOCUS_INFERENCE_SLOTS",
        value_parser = clap::value_parser!(u32).range(1..=1024)
    )]
    pub inference_slots: Option<u32>,
    /// Minutes a session may go without any page streaming it before the server pauses it
    /// (it then costs nothing until a page resumes it or its planned end).
    #[arg(
        long,
        env = "FOCUS_PAUSE_AFTER_MIN",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..=600)
    )]
    pub pause_after_min: u32,
}

/// Accepts an IP address or `localhost`. The message names the variable as well as the
/// flag: clap only names the flag, and the value may have come from `FOCUS_HOST` or `.env`.
fn parse_host(value: &str) -> Result<IpAddr, String> {
    if value.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value.trim().parse().map_err(|_| {
        format!(
            "'{value}' is not an IP address (e.g. 127.0.0.1 or ::1); set by --host or FOCUS_HOST"
        )
    })
}

/// Accepts a TCP port number, 0 meaning any free port; the message names the variable too.
fn parse_port(value: &str) -> Result<u16, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "'{value}' is not a TCP port (a number from 1 to 65535, or 0 for any free one); \
             set by --port or FOCUS_PORT"
        )
    })
}

/// Name of the variable that sets the base of the links in summaries.
pub const PUBLIC_URL_VAR: &str = "FOCUS_PUBLIC_URL";

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
    /// Its own problems are in `notify.problems`.
    pub notify: NotifyConfig,
    /// `FOCUS_PUBLIC_URL`: the base of the link to the session in summaries, e.g.
    /// `http://127.0.0.1:8000` (no trailing slash). `None`: derived from the bound address
    /// (see [`public_base_url`]).
    pub public_url: Option<String>,
    /// How summaries are sent in the background.
    pub delivery: DeliverySettings,
    /// `FOCUS_ACCESS_TOKEN`: when set, every request must carry it (see [`AccessToken`]).
    /// `Err` holds why the value set is unusable: start-up refuses to run with it rather than
    /// run open or locked in a way the user did not ask for.
    pub access_token: Result<Option<AccessToken>, String>,
    /// Settings outside email/SMS that were set but could not be used (the default was
    /// used instead), in words. Logged once at start-up.
    pub problems: Vec<SettingProblem>,
}

/// A setting that is present but unusable, e.g.
/// `FOCUS_PUBLIC_URL: 'localhost:8000' must start with http:// or https://`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {detail}")]
pub struct SettingProblem {
    /// The variable to fix.
    pub variable: &'static str,
    /// What is wrong with it and what happens meanwhile.
    pub detail: String,
}

impl Config {
    /// The configuration for `serve`, from its flags plus the settings looked up by `lookup`
    /// (the environment merged with `.env`, in `main`): notifications, `FOCUS_PUBLIC_URL`,
    /// and the local time zone for summaries. A partly configured channel stays off; its
    /// problems are in `notify.problems`, the others in `problems`; startup logs both.
    ///
    /// Reads the file named by `FOCUS_SMTP_CA_CERT`, if set (an unreadable one turns email
    /// off with a problem saying why).
    pub fn from_serve_args(args: &ServeArgs, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut problems = Vec::new();
        let public_url = lookup(PUBLIC_URL_VAR)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .and_then(|raw| match parse_public_url(&raw) {
                Ok(url) => Some(url),
                Err(detail) => {
                    problems.push(SettingProblem {
                        variable: PUBLIC_URL_VAR,
                        detail: format!(
                            "{detail}; links in summaries use the address the server listens on instead"
                        ),
                    });
                    None
                }
            });
        let access_token = lookup(ACCESS_TOKEN_VAR)
            .filter(|v| !v.trim().is_empty())
            .map(|raw| AccessToken::parse(&raw))
            .transpose();
        let mut notify = NotifyConfig::from_lookup(lookup);
        load_extra_root_cert(&mut notify);
        let mut delivery = DeliverySettings::default();
        match TimeZone::try_system() {
            Ok(zone) => delivery.time_zone = zone,
            Err(e) => problems.push(SettingProblem {
                variable: "TZ",
                detail: format!(
                    "the local time zone could not be determined ({e}); summaries give times in UTC"
                ),
            }),
        }
        Config {
            listen: SocketAddr::new(args.host, args.port),
            db_path: args.db_path.clone(),
            limits: Limits {
                max_running_sessions: usize::try_from(args.max_sessions).unwrap_or(usize::MAX),
                inference_slots: args
                    .inference_slots
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or_else(Limits::default_inference_slots),
                ..Limits::default()
            },
            timing: Timing {
                pause_unstreamed_after: Duration::from_secs(u64::from(args.pause_after_min) * 60),
                ..Timing::default()
            },
            notify,
            public_url,
            delivery,
            access_token,
            problems,
        }
    }

    /// Defaults for a given database file, listening on `127.0.0.1:0` (any free port) with no
    /// notifications configured and times in UTC: what tests start from.
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
            public_url: None,
            delivery: DeliverySettings::default(),
            access_token: Ok(None),
            problems: Vec::new(),
        }
    }
}

/// The base of the links in summaries: `FOCUS_PUBLIC_URL` when set, else
/// `http://{bound address}`. An unspecified bind address (`0.0.0.0`, `::`) is not
/// something a browser can open, so it becomes loopback (`127.0.0.1`, `[::1]`): the link
/// then opens on this computer; set `FOCUS_PUBLIC_URL` to reach it from elsewhere.
pub fn public_base_url(configured: Option<&str>, bound: SocketAddr) -> String {
    if let Some(url) = configured {
        return url.to_owned();
    }
    let mut address = bound;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        });
    }
    format!("http://{address}")
}

/// Checks `FOCUS_PUBLIC_URL`: an http(s) URL with a host, optionally a path prefix (a
/// reverse proxy), without user name, password, query or fragment. Returns it without its
/// trailing slash. The messages show the value with any `user:password@` part redacted: it
/// is logged.
fn parse_public_url(raw: &str) -> Result<String, String> {
    let shown = focus_notify::redact_url_userinfo(raw);
    let rest = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))
        .ok_or_else(|| {
            format!("'{shown}' must start with http:// or https://, e.g. http://127.0.0.1:8000")
        })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!(
            "'{shown}' holds a user name or password; the link goes into every summary, so \
             give the address alone, e.g. http://127.0.0.1:8000"
        ));
    }
    if authority.is_empty() || authority.starts_with(':') {
        return Err(format!(
            "'{shown}' has no host name after the scheme, e.g. http://127.0.0.1:8000"
        ));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("'{shown}' contains spaces"));
    }
    if raw.contains(['?', '#']) {
        return Err(format!(
            "'{shown}' must be a plain base address without ? or #, e.g. http://127.0.0.1:8000"
        ));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Reads the PEM file named by `FOCUS_SMTP_CA_CERT` into the email config (the notify crate
/// never touches files). A file that cannot be read or holds no certificate turns email off,
/// with a problem naming the variable.
fn load_extra_root_cert(notify: &mut NotifyConfig) {
    let Some(email) = notify.email.as_mut() else {
        return;
    };
    let Some(path) = email.ca_cert_path.clone() else {
        return;
    };
    if email.extra_root_cert_pem.is_some() {
        return;
    }
    let detail = match std::fs::read(&path) {
        Ok(pem) if String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") => {
            email.extra_root_cert_pem = Some(pem);
            return;
        }
        Ok(_) => format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ),
        Err(e) => format!("cannot read {}: {e}", path.display()),
    };
    notify.email = None;
    notify.problems.push(ConfigProblem {
        channel: focus_types::Channel::Email,
        variable: focus_notify::config::vars::SMTP_CA_CERT,
        detail,
    });
}

/// How the background worker sends summaries (see [`crate::delivery`]). Tests shorten
/// the intervals so retries take milliseconds.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// When to try a failed send again: by default 5 attempts in all, waiting 2 s, 4 s, 8 s
    /// and 16 s between them; permanent errors are never retried.
    pub retry: RetryPolicy,
    /// The worker looks for due deliveries at least this often, even when nothing wakes it
    /// (it is also woken when a session ends or a re-send is asked for, and when the next
    /// retry is due). 5 s.
    pub poll_interval: Duration,
    /// Summaries sent at the same time, at most. 4.
    pub max_concurrent: usize,
    /// The zone the session's start time is given in (its abbreviation is named, e.g.
    /// "2026-11-25 09:30 CET"). The server's local zone when started by `main`; UTC in
    /// [`Config::for_database`].
    pub time_zone: TimeZone,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            retry: RetryPolicy::default(),
            poll_interval: Duration::from_secs(5),
            max_concurrent: 4,
            time_zone: TimeZone::UTC,
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
    /// flight; `FOCUS_INFERENCE_SLOTS`). Default [`Limits::default_inference_slots`].
    pub inference_slots: usize,
    /// Sessions running at once (`FOCUS_MAX_SESSIONS`); one more is refused with 429. 32:
    /// far more than one person needs, few enough that forgotten or scripted sessions
    /// cannot add up to real CPU and disk work.
    pub max_running_sessions: usize,
    /// Time a client has to send a whole request head, and the most a keep-alive
    /// connection stays open idle. 10 s: a stalled client is cut, a browser never notices.
    pub header_read_timeout: Duration,
    /// HTTP connections open at once (WebSockets aside). 256: far above what pages need,
    /// far below the process's file limit; at the cap, new ones wait for a place.
    pub max_connections: usize,
}

impl Limits {
    /// Inference slots per core by default.
    pub const SLOTS_PER_CORE: usize = 1;

    /// One per core: each slot analyses its frames whole on a thread of its own
    /// (`src/vision.rs`), so one frame a core keeps every core busy; the load test measured
    /// more slots no better (README, Load).
    pub fn default_inference_slots() -> usize {
        std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .saturating_mul(Self::SLOTS_PER_CORE)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 2 * 1024 * 1024,
            max_ws_message_bytes: 8 * 1024 * 1024,
            max_body_bytes: 64 * 1024,
            duration_minutes: (1.0, 600.0),
            alert_threshold_s: (0.5, 600.0),
            inference_slots: Limits::default_inference_slots(),
            max_running_sessions: 32,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 256,
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
    /// When the live socket has sent nothing for this long, it sends the state anyway, even
    /// while a frame is being analysed (so the page shows "no camera signal", its timers
    /// keep moving, and silence means the connection is gone). 1 s.
    pub idle_push_interval: Duration,
    /// How long shutdown waits for open connections after saving the sessions. 5 s.
    pub shutdown_grace: Duration,
    /// The live socket asks the page for a frame at most this often: 200 ms, 5 frames a
    /// second (the page captures when asked, so a hidden tab's throttled timers do not
    /// slow the stream).
    pub frame_interval: Duration,
    /// A request for a frame that has gone unanswered this long is sent again (the camera
    /// was not ready, a capture failed). 1 s.
    pub frame_request_retry: Duration,
    /// A session that no page has streamed for this long is paused, and no longer saved
    /// while nobody streams it (`FOCUS_PAUSE_AFTER_MIN`). 10 min: longer than a page takes
    /// to reconnect after a network change or a restart, shorter than a forgotten tab.
    pub pause_unstreamed_after: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            tick_interval: Duration::from_millis(500),
            save_interval: Duration::from_secs(2),
            idle_push_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(5),
            frame_interval: Duration::from_millis(200),
            frame_request_retry: Duration::from_secs(1),
            pause_unstreamed_after: Duration::from_secs(600),
        }
    }
}

#[cfg(test)]
mod tests;
