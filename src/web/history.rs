//! `GET /api/sessions`: the history page's list of sessions and the figures over a range.
//!
//! Short sessions (judged for under a minute, [`focus_store::SHORT_SESSION_MS`]) are listed
//! but left out of the figures unless `include_short=1` asks for them; the answer says how
//! many were left out and where the line is, so the page marks them by the same rule.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use focus_store::{SHORT_SESSION_MS, Stats};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::api::{DeliveryView, SessionView};
use crate::session::summary::seconds;
use crate::web::error::AppError;

/// Query of `GET /api/sessions`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only sessions started in the last `days` days; all when absent.
    days: Option<String>,
    /// `1` (or `true`): count short sessions in the figures too.
    include_short: Option<String>,
}

/// `GET /api/sessions?days=N`: sessions newest first, and the figures over the range.
pub async fn list_sessions(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<SessionList>, AppError> {
    let Query(query) = query?;
    let days = match query.days.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(text) => match text.parse::<u32>() {
            Ok(days @ 1..=36_500) => Some(days),
            _ => {
                return Err(AppError::BadRequest(
                    "days must be a whole number of days from 1 to 36500, or absent for all".into(),
                ));
            }
        },
    };
    let include_short = match query.include_short.as_deref().map(str::trim) {
        None | Some("") | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(_) => {
            return Err(AppError::BadRequest(
                "include_short must be 1 or 0 (true or false)".into(),
            ));
        }
    };
    let since_ms = days.map(|d| state.sessions.now_ms() - i64::from(d) * 86_400_000);
    let (sessions, stats, deliveries) = state
        .db
        .call(move |s| {
            Ok((
                s.list_sessions(since_ms)?,
                s.stats(since_ms, include_short)?,
                s.deliveries_since(since_ms)?,
            ))
        })
        .await?;
    let best_session = stats
        .best_session
        .and_then(|(id, _)| sessions.iter().find(|s| s.id == id).map(SessionView::from));
    Ok(Json(SessionList {
        days,
        since_ms,
        stats: StatsView::new(&stats, include_short, best_session),
        sessions: sessions
            .iter()
            .map(|session| SessionListItem {
                session: SessionView::from(session),
                deliveries: deliveries
                    .iter()
                    .filter(|d| d.session_id == session.id)
                    .map(DeliveryView::from)
                    .collect(),
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize)]
pub struct SessionList {
    pub days: Option<u32>,
    pub since_ms: Option<i64>,
    pub stats: StatsView,
    pub sessions: Vec<SessionListItem>,
}

/// A session in the history list: the session and the status of its summaries.
#[derive(Debug, Serialize)]
pub struct SessionListItem {
    #[serde(flatten)]
    pub session: SessionView,
    pub deliveries: Vec<DeliveryView>,
}

/// Figures over the finished sessions of a range.
#[derive(Debug, Serialize)]
pub struct StatsView {
    /// Finished sessions that measured some time.
    pub sessions: u32,
    /// Mean of their focus percentages (each session counts once), one decimal.
    pub average_focus_percent: Option<f64>,
    pub total_focused_ms: u64,
    pub total_focused_seconds: f64,
    /// The best session at least a minute long, if any.
    pub best_session: Option<SessionView>,
    /// Whether short sessions count above (`include_short=1`).
    pub include_short: bool,
    /// Short finished sessions left out of the figures (0 when included).
    pub short_sessions_left_out: u32,
    /// A session judged (focused + unfocused) for less than this is short.
    pub short_session_ms: u64,
}

impl StatsView {
    fn new(stats: &Stats, include_short: bool, best_session: Option<SessionView>) -> Self {
        StatsView {
            sessions: stats.sessions,
            average_focus_percent: stats
                .average_focus_percent
                .map(|p| (p * 10.0).round() / 10.0),
            total_focused_ms: stats.total_focused_ms,
            total_focused_seconds: seconds(stats.total_focused_ms),
            best_session,
            include_short,
            short_sessions_left_out: stats.short_sessions_left_out,
            short_session_ms: SHORT_SESSION_MS,
        }
    }
}
