//! [`AppError`]: the one error type HTTP handlers return, and its mapping to a status code and
//! a JSON body `{"error": "...", "detail": "..."}` (plus `"field"` for invalid input).
//!
//! This is the only place errors become HTTP: the layers below return their own
//! ([`DbError`], [`SessionError`]) and the `From` impls here say which status each one is.
//! The cause chain of server-side failures is logged once, here, and never sent to the client:
//! the body says what went wrong in words a user can act on, not which query failed.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::DbError;
use crate::error::error_chain;
use crate::session::SessionError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A form value is out of range or malformed (422, names the field).
    #[error("invalid {field}: {detail}")]
    Invalid { field: &'static str, detail: String },
    /// The request itself is malformed: bad JSON, bad query string (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The body is larger than allowed (413).
    #[error("request body too large")]
    TooLarge,
    /// A camera frame is larger than `max_frame_bytes` (413).
    #[error("frame larger than {0} bytes")]
    FrameTooLarge(usize),
    /// A camera frame that is not a usable image (422); the text says why.
    #[error("unusable frame: {0}")]
    UnusableFrame(String),
    /// A one-at-a-time resource is in use; try again in a second (429, `Retry-After: 1`).
    #[error("busy: {0}")]
    Busy(String),
    /// The models failed on a frame; not the client's fault (500).
    #[error("frame analysis failed")]
    AnalysisFailed,
    /// No such session (404).
    #[error("no session with id {0}")]
    SessionNotFound(String),
    /// No calibration profile with this id (404).
    #[error("no profile with id {0}")]
    ProfileNotFound(i64),
    /// The profile has no zone of this name (404).
    #[error("profile {id} has no zone {zone:?}")]
    ZoneNotFound { id: i64, zone: String },
    /// The session exists but has ended, so it cannot take frames (404: the live resource is
    /// gone).
    #[error("session {0} has ended")]
    SessionEnded(i64),
    /// The session has no summary queued on that channel (404).
    #[error("session {id} has no {channel} summary")]
    DeliveryNotFound {
        id: i64,
        channel: focus_types::Channel,
    },
    /// The request does not fit the current state, e.g. re-sending a summary that was sent
    /// (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// No route here (404).
    #[error("not found")]
    RouteNotFound,
    /// The route exists but not with this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request came from another site (403).
    #[error("cross-site request refused")]
    ForbiddenOrigin,
    /// The request names a host other than this machine's loopback (403).
    #[error("request for another host refused")]
    ForbiddenHost,
    /// The server has an access token and the request did not carry it (401,
    /// `WWW-Authenticate: Bearer`).
    #[error("access token missing or wrong")]
    Unauthorized,
    /// As many sessions as the server allows are running (429).
    #[error("{0} sessions are running")]
    TooManySessions(usize),
    /// The server is stopping and does not start new sessions (503).
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The end of a session could not be stored; the session is still running and can be
    /// ended again (503; the detail says why).
    #[error("the end of session {id} could not be saved")]
    EndNotSaved {
        id: i64,
        #[source]
        cause: DbError,
    },
    /// The database failed: 404 when it says the row is missing, 507 when the disk is full,
    /// 503 when another program keeps it locked, 500 otherwise.
    #[error("database error")]
    Db(#[from] DbError),
}

impl AppError {
    /// Shorthand for a 422 naming `field`.
    pub fn invalid(field: &'static str, detail: impl Into<String>) -> Self {
        AppError::Invalid {
            field,
            detail: detail.into(),
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge | AppError::FrameTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnusableFrame(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Busy(_) | AppError::TooManySessions(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::AnalysisFailed => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::SessionNotFound(_)
            | AppError::ProfileNotFound(_)
            | AppError::ZoneNotFound { .. }
            | AppError::SessionEnded(_)
            | AppError::DeliveryNotFound { .. }
            | AppError::RouteNotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::ForbiddenOrigin | AppError::ForbiddenHost => StatusCode::FORBIDDEN,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::ShuttingDown
            | AppError::EndNotSaved { .. }
            | AppError::Db(DbError::Busy(_)) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(DbError::DiskFull(_)) => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Db(DbError::NotFound) => StatusCode::NOT_FOUND,
            AppError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body sent to the client: a short `error` and a `detail` in words.
    fn body(&self) -> ErrorBody {
        let (error, detail, field) = match self {
            AppError::Invalid { field, detail } => {
                (format!("invalid {field}"), detail.clone(), Some(*field))
            }
            AppError::BadRequest(detail) => ("bad request".into(), detail.clone(), None),
            AppError::TooLarge => (
                "request too large".into(),
                "the request body is larger than the server accepts".into(),
                None,
            ),
            AppError::FrameTooLarge(limit) => (
                "frame too large".into(),
                format!(
                    "the frame is larger than {limit} bytes; send JPEG frames at most 640 px wide"
                ),
                None,
            ),
            AppError::UnusableFrame(detail) => ("unusable frame".into(), detail.clone(), None),
            AppError::Busy(detail) => ("busy".into(), detail.clone(), None),
            AppError::AnalysisFailed => (
                "analysis failed".into(),
                "the server could not analyse this frame; see its log".into(),
                None,
            ),
            AppError::SessionNotFound(id) => (
                "session not found".into(),
                format!("there is no session with id {id}"),
                None,
            ),
            AppError::SessionEnded(id) => (
                "session ended".into(),
                format!("session {id} has ended and no longer takes frames"),
                None,
            ),
            AppError::DeliveryNotFound { id, channel } => (
                "delivery not found".into(),
                format!("session {id} has no {channel} summary to send"),
                None,
            ),
            AppError::ProfileNotFound(id) => (
                "profile not found".into(),
                format!("there is no calibration profile with id {id}"),
                None,
            ),
            AppError::ZoneNotFound { id, zone } => (
                "zone not found".into(),
                format!("calibration profile {id} has no zone named {zone:?}"),
                None,
            ),
            AppError::Conflict(detail) => ("conflict".into(), detail.clone(), None),
            AppError::RouteNotFound => (
                "not found".into(),
                "there is nothing at this address".into(),
                None,
            ),
            AppError::MethodNotAllowed => (
                "method not allowed".into(),
                "this address does not take that method".into(),
                None,
            ),
            AppError::ForbiddenOrigin => (
                "forbidden".into(),
                "requests from other sites are not allowed".into(),
                None,
            ),
            AppError::ForbiddenHost => (
                "forbidden".into(),
                "this server only answers at localhost or 127.0.0.1".into(),
                None,
            ),
            AppError::Unauthorized => (
                "unauthorized".into(),
                "this server is open to the network and needs its access token \
                 (FOCUS_ACCESS_TOKEN): send it as 'Authorization: Bearer <token>', or open \
                 the page in a browser and enter it once"
                    .into(),
                None,
            ),
            AppError::TooManySessions(max) => (
                "too many sessions".into(),
                format!(
                    "{max} sessions are already running, the most this server runs at once; \
                     end one (or raise FOCUS_MAX_SESSIONS) and try again"
                ),
                None,
            ),
            AppError::ShuttingDown => (
                "unavailable".into(),
                "the server is shutting down; try again when it is back".into(),
                None,
            ),
            AppError::EndNotSaved { id, cause } => (
                "not saved".into(),
                format!(
                    "session {id} could not be ended: its summary could not be saved because \
                     {}. The session is still running; end it again {}",
                    db_failure(cause),
                    match cause {
                        DbError::DiskFull(_) => "once some disk space is freed",
                        DbError::Busy(_) => "once the other program lets go of the database",
                        _ => "in a moment",
                    }
                ),
                None,
            ),
            AppError::Db(DbError::NotFound) => (
                "session not found".into(),
                "there is no such session".into(),
                None,
            ),
            AppError::Db(cause @ DbError::DiskFull(_)) => (
                "disk full".into(),
                format!(
                    "{}: nothing was saved; free some space and try again",
                    db_failure(cause)
                ),
                None,
            ),
            AppError::Db(cause @ DbError::Busy(_)) => (
                "database busy".into(),
                format!(
                    "{}: nothing was saved; try again in a moment",
                    db_failure(cause)
                ),
                None,
            ),
            AppError::Db(_) => (
                "internal error".into(),
                "the server could not complete the request; see its log".into(),
                None,
            ),
        };
        ErrorBody {
            error,
            detail,
            field,
        }
    }
}

/// Why a store call failed, in words for the user.
fn db_failure(cause: &DbError) -> &'static str {
    match cause {
        DbError::DiskFull(_) => "the disk is full",
        DbError::Busy(_) => "the database is locked by another program",
        DbError::NotFound => "the session is gone",
        DbError::Store(_) | DbError::Task(_) => "the database failed (see the server's log)",
    }
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    error: String,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %error_chain(&self), "request failed");
        } else {
            tracing::debug!(error = %self, %status, "request refused");
        }
        let mut response = (status, Json(self.body())).into_response();
        // Worth retrying in a second; a full house of sessions is not.
        if matches!(self, AppError::Busy(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if matches!(self, AppError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<SessionError> for AppError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::NotFound(id) => AppError::SessionNotFound(id.to_string()),
            SessionError::NotRunning(id) => AppError::Conflict(format!(
                "session {id} is not running: it has ended, or it was interrupted and its \
                 planned end has passed, so it can no longer be paused or continued"
            )),
            SessionError::TooMany(max) => AppError::TooManySessions(max),
            SessionError::Profile(detail) => AppError::Invalid {
                field: "profile_id",
                detail,
            },
            SessionError::ShuttingDown => AppError::ShuttingDown,
            SessionError::EndNotSaved { id, source } => AppError::EndNotSaved { id, cause: source },
            SessionError::Db(e) => AppError::Db(e),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => AppError::Invalid {
                field: "body",
                detail: e.body_text(),
            },
            JsonRejection::MissingJsonContentType(_) => AppError::BadRequest(
                "send the body as JSON (Content-Type: application/json)".into(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::TooLarge
            }
            other => {
                AppError::BadRequest(format!("the body is not valid JSON: {}", other.body_text()))
            }
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(format!("invalid query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(_) => {
                AppError::BadRequest("the session id must be a positive whole number".into())
            }
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_the_field() {
        let body = AppError::invalid("email", "not an address").body();
        assert_eq!(body.field, Some("email"));
        assert_eq!(body.detail, "not an address");
        assert_eq!(
            AppError::invalid("email", "x").status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn session_errors_map_to_their_status() {
        assert_eq!(
            AppError::from(SessionError::NotFound(7)).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            AppError::from(SessionError::ShuttingDown).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            AppError::from(SessionError::Db(DbError::NotFound)).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn internal_errors_do_not_leak() {
        let err = AppError::Db(DbError::Store(focus_store::Error::Conflict(
            "disk I/O error at /secret/path".into(),
        )));
        let body = err.body();
        assert!(!body.detail.contains("secret"));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
