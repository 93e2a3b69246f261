//! Focus Sentry: a local web app that watches the webcam and measures screen attention in
//! real time.
//!
//! The browser streams JPEG frames over a WebSocket; each frame goes through the vision core
//! ([`focus_vision`]), its verdict drives the session's focus clock ([`focus_clock`]), the
//! running totals and the timeline are saved as the session goes ([`focus_store`]), and at the
//! end a summary is shown, saved and handed to the notifier ([`focus_notify`]).
//!
//! This crate is the web server and the command line around those libraries. It contains no
//! vision and no SQL: it wires them together.
//!
//! # Layout
//! - [`config`]: command-line flags, environment variables and `.env`, read once into a
//!   validated [`config::Config`].
//! - [`startup`]: [`startup::App`]: opens the database, loads the models, binds the listener,
//!   serves until Ctrl-C/SIGTERM and saves the sessions in flight on the way out.
//! - [`web`]: the axum router: JSON API, the live WebSocket, pages, embedded assets, the
//!   email/SMS setup guides, Origin checks and security headers, and
//!   [`web::error::AppError`], the one place errors become HTTP responses.
//! - [`session`]: live sessions: the focus clock of each, its ticker, periodic saving, the
//!   planned end, and the [`session::Sessions`] registry.
//! - [`profiles`]: calibration profiles: checked by the vision crate, kept by the store
//!   ([`profiles::ProfileError`]).
//! - [`calibration`]: a calibration from the camera's frames ([`calibration::CalibrationRun`]):
//!   analysed as they come, numbers only, saved through [`profiles`] or refused in words.
//! - [`db`]: an async facade over the synchronous store (every call runs in
//!   `spawn_blocking`).
//! - [`vision`]: the shared face analyser and a bounded pool of inference slots.
//! - [`notifier`]: wakes the delivery worker when a session's end has queued its email/SMS
//!   (the store queues them in the same transaction as the end).
//! - [`delivery`]: the background worker that sends the queued summaries by email and SMS,
//!   with retries, and records each attempt.
//! - [`time`]: the server's source of wall-clock time, injectable for tests.
//! - [`error`]: [`error::error_chain`], an error and its causes on one log line.
//! - [`cli`]: the command line ([`cli::Cli`]) and the offline `analyze`, `calibrate` and `eval`
//!   tools.
//!
//! Dependencies point one way, from the edges to the core: `web` and `cli` use the modules
//! below them, `startup` wires everything, `session` -> `notifier` -> `delivery` -> `db`,
//! `time`, `config`, and `session` -> `profiles` -> `db` (`calibration` -> `profiles`,
//! `vision`, `db`). Nothing imports `web`, `startup` or `cli`. Each layer returns its
//! own error type; only `web` maps errors to HTTP.

#![forbid(unsafe_code)]

pub mod calibration;
pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod notifier;
pub mod profiles;
pub mod session;
pub mod startup;
pub mod time;
pub mod vision;
pub mod web;

pub use config::Config;
pub use startup::App;
