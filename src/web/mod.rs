//! The web layer: axum routes, the live WebSocket, pages and assets, error mapping.
//!
//! It calls the session registry and the store facade; it contains no vision and no SQL.
//! It is the only layer that speaks HTTP: the others return their own errors, which
//! [`error::AppError`] maps to status codes. Nothing outside `web` imports from it.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /`, `GET /history`, `GET /calibrate` | the pages |
//! | `GET /assets/{*path}` | scripts (ES modules), styles, icon |
//! | `GET /api/config` | what the page needs: limits, which notifications are set up |
//! | `POST /api/sessions`, `GET /api/sessions?days=N&include_short=1` | start a session; list with stats (history.rs) |
//! | `GET /api/sessions.csv` | every session as CSV |
//! | `GET`/`DELETE /api/sessions/{id}` | one session with its timeline; delete it |
//! | `POST /api/sessions/{id}/end` | end it, get the summary (idempotent) |
//! | `POST /api/sessions/{id}/deliveries/{channel}/retry` | send a failed summary again |
//! | `GET /api/sessions/{id}/live` | the WebSocket: JPEG frames in, live state out |
//! | `GET`/`POST /api/profiles`, `GET`/`PATCH`/`DELETE /api/profiles/{id}`, `PATCH`/`DELETE /api/profiles/{id}/zones/{zone}` | calibration profiles and their extra zones (profiles.rs) |
//! | `GET /api/profiles/calibrate` | the WebSocket of a calibration: frames per dot in, a saved profile (or why not) out (calibrate.rs) |
//! | `POST /api/frames/check` | the camera preview's framing check: one JPEG in, advice out |
//! | `GET /help/email`, `GET /help/sms` | the setup guides, rendered from `docs/` |
//! | `GET`/`POST /access` | the access-token page, when `FOCUS_ACCESS_TOKEN` is set (access.rs) |
//!
//! `docs/api.md` documents the bodies.

pub mod access;
pub mod api;
pub mod assets;
pub mod calibrate;
pub mod check;
pub mod error;
pub mod help;
pub mod history;
pub mod live;
pub mod pages;
pub mod profiles;
pub mod security;
pub mod serve;
pub mod validate;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::middleware;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::db::Db;
use crate::delivery::DeliveryHandle;
use crate::session::Sessions;
use crate::web::error::AppError;

/// What every handler can reach. Cheap to clone (all `Arc`s inside).
#[derive(Debug, Clone)]
pub struct AppState {
    pub sessions: Sessions,
    pub db: Db,
    pub config: Arc<Config>,
    /// Wakes the delivery worker; says which summary channels are set up.
    pub delivery: DeliveryHandle,
}

/// The whole app's routes, with the security layers.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    let frame_limit = state.config.limits.max_frame_bytes;
    let loopback_only = state.config.listen.ip().is_loopback();
    Router::new()
        .route("/", get(assets::index_page))
        .route("/history", get(assets::history_page))
        .route("/calibrate", get(assets::calibrate_page))
        .route("/assets/{*path}", get(assets::asset))
        .route("/api/config", get(api::config))
        .route(
            "/api/sessions",
            post(api::create_session).get(history::list_sessions),
        )
        .route("/api/sessions.csv", get(api::export_csv))
        .route(
            "/api/sessions/{id}",
            get(api::get_session).delete(api::delete_session),
        )
        .route("/api/sessions/{id}/end", post(api::end_session))
        .route("/api/sessions/{id}/pause", post(api::pause_session))
        .route("/api/sessions/{id}/resume", post(api::resume_session))
        .route(
            "/api/sessions/{id}/deliveries/{channel}/retry",
            post(api::retry_delivery),
        )
        .route(
            "/api/profiles",
            get(profiles::list_profiles).post(profiles::create_profile),
        )
        .route("/api/profiles/calibrate", get(calibrate::upgrade))
        .route(
            "/api/profiles/{id}/zones/{zone}",
            axum::routing::delete(profiles::delete_zone).patch(profiles::rename_zone),
        )
        .route(
            "/api/profiles/{id}",
            get(profiles::get_profile)
                .patch(profiles::rename_profile)
                .delete(profiles::delete_profile),
        )
        .route("/help/{topic}", get(help::guide))
        .route(
            access::ACCESS_PATH,
            get(access::access_page).post(access::submit_token),
        )
        .route("/api/sessions/{id}/live", get(live::upgrade))
        .route(
            "/api/frames/check",
            post(check::check_frame).layer(DefaultBodyLimit::max(frame_limit)),
        )
        .fallback(|| async { AppError::RouteNotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::require_token,
        ))
        .layer(middleware::from_fn(security::check_origin))
        .layer(middleware::from_fn_with_state(
            loopback_only,
            security::check_host,
        ))
        .layer(middleware::from_fn(security::security_headers))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A session id from the path: a positive integer. Anything else is a 400 in JSON.
#[derive(Debug, Clone, Copy)]
pub struct SessionId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for SessionId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, state, "session").await.map(SessionId)
    }
}

/// The id in a one-parameter path, parsed by [`parse_id`].
pub(crate) async fn path_id<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    what: &str,
) -> Result<i64, AppError> {
    let axum::extract::Path(raw) =
        axum::extract::Path::<String>::from_request_parts(parts, state).await?;
    parse_id(&raw, what)
}

/// An id as written in a path (`what`: "session", "profile"): a positive integer, else a 400
/// in words.
pub fn parse_id(raw: &str, what: &str) -> Result<i64, AppError> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(AppError::BadRequest(format!(
            "'{}' is not a {what} id (ids are positive whole numbers)",
            truncate(raw, 40)
        ))),
    }
}

/// At most `max` characters of `text`, for echoing client input in an error.
fn truncate(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
