//! Building and running the server: report configuration problems, open (and migrate) the
//! database, close the sessions a crash left open, load the models, bind the listener, start
//! the delivery worker (which picks up the summaries left pending by the last run), serve
//! until Ctrl-C/SIGTERM, then end the sessions in flight (saved as interrupted), let the
//! summaries being sent finish, and exit.
//!
//! Tests build the same [`App`] on `127.0.0.1:0` with a temporary database, and may inject a
//! [`TimeSource`] and a pre-loaded [`Vision`] through [`AppBuilder`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use focus_types::Channel;
use tokio::net::TcpListener;

use crate::config::{Config, public_base_url};
use crate::db::{Db, DbError};
use crate::delivery::{DeliveryWorker, Senders};
use crate::error::error_chain;
use crate::notifier::Notifier;
use crate::session::Sessions;
use crate::time::{SystemTimeSource, TimeSource};
use crate::vision::{FrameBounds, Vision};
use crate::web::serve::ServeLimits;
use crate::web::{AppState, router};

/// Why the server could not start. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database file is unusable (the store's message names the path and the fix).
    #[error(transparent)]
    Database(focus_store::Error),
    /// Crash recovery failed on an otherwise readable database.
    #[error("could not close the sessions left open by the last run")]
    Recovery(#[source] DbError),
    /// The embedded models did not load: a broken build.
    #[error("the face models compiled into this program could not be loaded")]
    Models(#[source] focus_vision::Error),
    /// The address is taken or not ours. The OS error is part of the message, not a source,
    /// so the one-line error chain of `main` does not print it twice.
    #[error(
        "cannot listen on {address}: {cause} (is another copy running? choose another port with --port or FOCUS_PORT)"
    )]
    Bind {
        address: SocketAddr,
        cause: std::io::Error,
    },
    /// `FOCUS_ACCESS_TOKEN` is set but unusable (the message says why, never the value).
    #[error("FOCUS_ACCESS_TOKEN: {0}")]
    AccessToken(String),
    /// A non-loopback address without an access token would open the app to the network.
    #[error(
        "listening on {address} would open your sessions and history to the network: set \
         FOCUS_ACCESS_TOKEN to a secret of at least {min} characters (e.g. `openssl rand -hex \
         16`) so that only those who know it get in, or listen on 127.0.0.1 (--host or \
         FOCUS_HOST)",
        min = crate::config::MIN_TOKEN_CHARS
    )]
    AccessTokenRequired { address: std::net::IpAddr },
    #[error("start-up task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// Options for building an [`App`] beyond its [`Config`].
#[derive(Debug)]
pub struct AppBuilder {
    config: Config,
    time: Arc<dyn TimeSource>,
    vision: Option<Vision>,
}

impl AppBuilder {
    /// Uses `time` instead of the system clock.
    pub fn time(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.time = time;
        self
    }

    /// Uses already loaded models (tests share one load across apps); the app still takes
    /// the frame bounds its configuration asks for.
    pub fn vision(mut self, vision: Vision) -> Self {
        self.vision = Some(vision);
        self
    }

    /// Opens the database, recovers, loads the models and binds the listener.
    pub async fn build(self) -> Result<App, StartupError> {
        let AppBuilder {
            config,
            time,
            vision,
        } = self;
        // One TLS provider for the notifiers' SMTP and HTTPS clients (idempotent).
        focus_notify::install_crypto_provider();
        check_access(&config)?;
        report_settings(&config);

        let now = time.now_ms();
        let db = open_database(&config, now).await?;
        let bounds = FrameBounds::new(
            config.limits.inference_slots,
            config.limits.max_running_sessions,
        );
        let vision = match vision {
            Some(vision) => vision.with_bounds(bounds),
            None => load_models(bounds).await?,
        };
        let (listener, address) = bind(&config).await?;
        let delivery = start_delivery(&config, &db, &time, address);
        // The summaries of the sessions recovery closed were queued with them, and the
        // worker has just picked them up.
        let notifier = Notifier::new(delivery.handle());

        let sessions = Sessions::new(db.clone(), vision, time, notifier, config.timing.clone())
            .with_max_running(config.limits.max_running_sessions);
        let grace = config.timing.shutdown_grace;
        let serve_limits = ServeLimits {
            header_read_timeout: config.limits.header_read_timeout,
            max_connections: config.limits.max_connections,
        };
        let db_path = config.db_path.clone();
        let state = AppState {
            sessions: sessions.clone(),
            db: db.clone(),
            config: Arc::new(config),
            delivery: delivery.handle(),
        };
        Ok(App {
            listener,
            router: router(state),
            sessions,
            delivery,
            address,
            grace,
            db_path,
            db,
            serve_limits,
        })
    }
}

/// Refuses an unusable `FOCUS_ACCESS_TOKEN`, and a non-loopback address without one, before
/// anything is opened or bound.
fn check_access(config: &Config) -> Result<(), StartupError> {
    match &config.access_token {
        Err(detail) => Err(StartupError::AccessToken(detail.clone())),
        Ok(None) if !config.listen.ip().is_loopback() => Err(StartupError::AccessTokenRequired {
            address: config.listen.ip(),
        }),
        Ok(Some(_)) => {
            tracing::info!("access token set: every request must carry it");
            Ok(())
        }
        Ok(None) => Ok(()),
    }
}

/// Opens (creating and migrating) the database and closes the sessions the last run left
/// open, as interrupted with their saved totals (queuing their summaries for their planned
/// end).
async fn open_database(config: &Config, now_ms: i64) -> Result<Db, StartupError> {
    let db = Db::open(config.db_path.clone())
        .await
        .map_err(StartupError::Database)?;
    let closed = db
        .call(move |s| s.close_interrupted(now_ms))
        .await
        .map_err(StartupError::Recovery)?;
    if !closed.is_empty() {
        tracing::warn!(
            sessions = ?closed,
            "closed sessions left open by the last run as interrupted, with their saved totals"
        );
    }
    Ok(db)
}

/// Loads the models compiled into the binary, off the async workers (about half a second).
async fn load_models(bounds: FrameBounds) -> Result<Vision, StartupError> {
    tokio::task::spawn_blocking(move || Vision::load_embedded(bounds))
        .await?
        .map_err(StartupError::Models)
}

/// Binds the configured address; returns the listener and the address actually bound (the
/// OS picks the port when it is 0).
async fn bind(config: &Config) -> Result<(TcpListener, SocketAddr), StartupError> {
    let bind_error = |cause| StartupError::Bind {
        address: config.listen,
        cause,
    };
    let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;
    Ok((listener, address))
}

/// Builds the senders of the channels that are set up, says which are on, and starts the
/// delivery worker (which at once picks up the summaries the last run left pending). The
/// links in summaries start at `FOCUS_PUBLIC_URL`, or at the bound `address`.
fn start_delivery(
    config: &Config,
    db: &Db,
    time: &Arc<dyn TimeSource>,
    address: SocketAddr,
) -> DeliveryWorker {
    let (senders, sender_problems) = Senders::from_config(&config.notify);
    for problem in &sender_problems {
        tracing::warn!("{problem}");
    }
    report_channels(config, &senders);
    let link_base = public_base_url(config.public_url.as_deref(), address);
    DeliveryWorker::start(
        db.clone(),
        senders,
        Arc::clone(time),
        &config.delivery,
        link_base,
        config.timing.shutdown_grace,
    )
}

/// Logs, once, every setting that is present but unusable, in words: which variable and
/// what is wrong (never a secret's value). The server starts anyway with that feature off or
/// at its default.
fn report_settings(config: &Config) {
    for problem in &config.notify.problems {
        let channel = problem.channel.name();
        tracing::warn!("{channel} summaries are off: {problem}");
    }
    for problem in &config.problems {
        tracing::warn!("setting ignored: {problem}");
    }
}

/// Says which summary channels are on, and where each one's setup guide is served. Names
/// servers, never addresses, logins or secrets.
fn report_channels(config: &Config, senders: &Senders) {
    // Off with a warning above (settings present but wrong, or the sender could not be
    // built), or simply not set up.
    let why_off = |variables: &str, channel: Channel| {
        let configured = match channel {
            Channel::Email => config.notify.email.is_some(),
            Channel::Sms => config.notify.sms.is_some(),
        };
        let warned = configured || config.notify.problems.iter().any(|p| p.channel == channel);
        let guide = channel.help_path();
        if warned {
            format!("off until the problem above is fixed (guide at {guide})")
        } else {
            format!("off, not set up ({variables}; guide at {guide})")
        }
    };
    match (&config.notify.email, senders.has(Channel::Email)) {
        (Some(email), true) => tracing::info!(
            "email summaries: on, through {}:{} ({})",
            email.host,
            email.port,
            email.security
        ),
        _ => tracing::info!(
            "email summaries: {}",
            why_off("FOCUS_SMTP_HOST, FOCUS_SMTP_USERNAME, ...", Channel::Email)
        ),
    }
    match (&config.notify.sms, senders.has(Channel::Sms)) {
        (Some(sms), true) => tracing::info!(
            "SMS summaries: on, through {}",
            focus_notify::redact_url_userinfo(&sms.api_base)
        ),
        _ => tracing::info!(
            "SMS summaries: {}",
            why_off("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, ...", Channel::Sms)
        ),
    }
}

/// A built server, bound and ready to serve.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
    sessions: Sessions,
    delivery: DeliveryWorker,
    address: SocketAddr,
    grace: Duration,
    db_path: PathBuf,
    db: Db,
    serve_limits: ServeLimits,
}

impl App {
    /// Options beyond the configuration (time source, shared models).
    pub fn builder(config: Config) -> AppBuilder {
        AppBuilder {
            config,
            time: Arc::new(SystemTimeSource),
            vision: None,
        }
    }

    /// Builds the app with the system clock and the embedded models.
    pub async fn build(config: Config) -> Result<App, StartupError> {
        App::builder(config).build().await
    }

    /// The address actually bound (the port is chosen by the OS when configured as 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The app's database handle. The fault tests fill its "disk" through it
    /// ([`focus_store::Store::set_page_limit`]).
    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// The app's vision pipeline: its inference slots and how many frames it analyses at
    /// once (the load test reports that).
    pub fn vision(&self) -> Vision {
        self.sessions.vision().clone()
    }

    /// Serves until Ctrl-C or SIGTERM, then saves the open sessions and exits.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves, then ends every open session (saved as interrupted,
    /// pages told), stops accepting connections and waits up to the grace period for open
    /// ones to finish, then stops the delivery worker (sends in progress get the grace
    /// period too; what is left stays pending for the next start).
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(
            "Focus Sentry listening on http://{} (database {})",
            self.address,
            self.db_path.display()
        );
        let sessions = self.sessions.clone();
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            stop.await;
            tracing::info!(
                open_sessions = sessions.live_count(),
                "shutting down: saving open sessions"
            );
            sessions.shutdown().await;
            let _ = stopping_tx.send(());
        };
        let serve =
            crate::web::serve::serve(self.listener, self.router, self.serve_limits, shutdown);
        let grace = self.grace;
        let deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = serve => {}
            () = deadline => {
                tracing::warn!("connections still open after {grace:?}; exiting anyway");
            }
        };
        self.delivery.stop().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error_chain(&e), "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
