//! `/api/profiles`: the calibration profiles (issue 12): list, read, save, rename, delete, and
//! rename or remove one of a profile's extra zones (they are added by a calibration,
//! `calibrate.rs`).
//!
//! The handlers only parse requests and shape replies; [`crate::profiles`] checks and stores,
//! and its [`ProfileError`] is mapped to HTTP here: bad input 422 (naming the field), a name
//! already taken 409, no such profile or zone 404. Bodies: `docs/api.md` ("Profiles").

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use focus_types::time::rfc3339_millis;
use focus_vision::Profile;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::error::AppError;
use crate::profiles::{self, ListedProfile, ProfileError, SavedProfile, mode_name};

impl From<ProfileError> for AppError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::Invalid { field, detail } => AppError::Invalid { field, detail },
            ProfileError::NameTaken(detail) => AppError::Conflict(detail),
            ProfileError::NotFound(id) => AppError::ProfileNotFound(id),
            ProfileError::ZoneNotFound { id, zone } => AppError::ZoneNotFound { id, zone },
            ProfileError::Db(e) => AppError::Db(e),
        }
    }
}

/// A profile id from the path: a positive integer, else a 400 in words.
#[derive(Debug, Clone, Copy)]
pub struct ProfileId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ProfileId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        super::path_id(parts, state, "profile").await.map(ProfileId)
    }
}

/// A profile in a list: no numbers, and whether this version can use it.
#[derive(Debug, Serialize)]
pub struct ProfileSummary {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    /// `full` or `quick`.
    pub mode: String,
    /// The names of its extra zones ("notes"), in the order they are checked.
    pub zones: Vec<String>,
    /// Whether this version can judge with it; `problem` says why not.
    pub usable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl From<ListedProfile> for ProfileSummary {
    fn from(listed: ListedProfile) -> Self {
        match listed {
            Ok(p) => ProfileSummary {
                id: p.id,
                name: p.name,
                created_at: rfc3339_millis(p.created_at_ms),
                mode: mode_name(&p.profile).to_owned(),
                zones: p.profile.zones.iter().map(|z| z.name.clone()).collect(),
                usable: true,
                problem: None,
            },
            Err((stored, why)) => ProfileSummary {
                id: stored.id,
                name: stored.name,
                created_at: rfc3339_millis(stored.created_at_ms),
                mode: stored.mode,
                zones: Vec::new(),
                usable: false,
                problem: Some(why),
            },
        }
    }
}

/// One profile with its numbers.
#[derive(Debug, Serialize)]
pub struct ProfileView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub mode: &'static str,
    /// `focus_vision::Profile` (the same JSON `focus-sentry calibrate --out` writes).
    pub profile: Profile,
}

impl From<SavedProfile> for ProfileView {
    fn from(p: SavedProfile) -> Self {
        ProfileView {
            id: p.id,
            name: p.name,
            created_at: rfc3339_millis(p.created_at_ms),
            mode: mode_name(&p.profile),
            profile: p.profile,
        }
    }
}

/// `GET /api/profiles`: every profile, newest first.
pub async fn list_profiles(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let profiles: Vec<ProfileSummary> = profiles::list(&state.db)
        .await?
        .into_iter()
        .map(ProfileSummary::from)
        .collect();
    Ok(Json(serde_json::json!({ "profiles": profiles })))
}

/// `GET /api/profiles/{id}`: one profile with its numbers.
pub async fn get_profile(
    State(state): State<AppState>,
    ProfileId(id): ProfileId,
) -> Result<Json<ProfileView>, AppError> {
    Ok(Json(profiles::get(&state.db, id).await?.into()))
}

/// The body of `POST /api/profiles`.
#[derive(Debug, Deserialize)]
pub struct NewProfileForm {
    pub name: String,
    /// A profile as `focus-sentry calibrate --out` writes it.
    pub profile: Value,
}

/// `POST /api/profiles`: saves a profile made elsewhere (e.g. by `focus-sentry calibrate`).
pub async fn create_profile(
    State(state): State<AppState>,
    body: Result<Json<NewProfileForm>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(form) = body?;
    let profile: Profile = serde_json::from_value(form.profile).map_err(|e| AppError::Invalid {
        field: "profile",
        detail: format!("not a calibration profile: {e}"),
    })?;
    let saved = profiles::create(&state.db, &form.name, &profile, state.sessions.now_ms()).await?;
    tracing::info!(profile = saved.id, "profile saved");
    Ok(created(saved))
}

/// A 201 with the new profile and its location.
pub fn created(saved: SavedProfile) -> Response {
    let location = format!("/api/profiles/{}", saved.id);
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ProfileView::from(saved)),
    )
        .into_response()
}

/// The body of `PATCH /api/profiles/{id}`.
#[derive(Debug, Deserialize)]
pub struct RenameForm {
    pub name: String,
}

/// `PATCH /api/profiles/{id}`: renames a profile.
pub async fn rename_profile(
    State(state): State<AppState>,
    ProfileId(id): ProfileId,
    body: Result<Json<RenameForm>, JsonRejection>,
) -> Result<Json<ProfileView>, AppError> {
    let Json(form) = body?;
    Ok(Json(
        profiles::rename(&state.db, id, &form.name).await?.into(),
    ))
}

/// `DELETE /api/profiles/{id}`: deletes a profile (sessions that used it keep their
/// figures).
pub async fn delete_profile(
    State(state): State<AppState>,
    ProfileId(id): ProfileId,
) -> Result<StatusCode, AppError> {
    profiles::delete(&state.db, id).await?;
    tracing::info!(profile = id, "profile deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/profiles/{id}/zones/{zone}`: removes one extra zone (glances there no longer
/// count as focused in new sessions); 200 and the profile as saved.
pub async fn delete_zone(
    State(state): State<AppState>,
    axum::extract::Path((id, zone)): axum::extract::Path<(String, String)>,
) -> Result<Json<ProfileView>, AppError> {
    let id = super::parse_id(&id, "profile")?;
    let saved = profiles::remove_zone(&state.db, id, zone).await?;
    tracing::info!(profile = id, "zone removed");
    Ok(Json(saved.into()))
}

/// `PATCH /api/profiles/{id}/zones/{zone}` with `{"name": "..."}`: renames one extra zone;
/// 200 and the profile as saved. Sessions keep the zone names they started with.
pub async fn rename_zone(
    State(state): State<AppState>,
    axum::extract::Path((id, zone)): axum::extract::Path<(String, String)>,
    body: Result<Json<RenameForm>, JsonRejection>,
) -> Result<Json<ProfileView>, AppError> {
    let id = super::parse_id(&id, "profile")?;
    let Json(form) = body?;
    let saved = profiles::rename_zone(&state.db, id, zone, &form.name).await?;
    tracing::info!(profile = id, "zone renamed");
    Ok(Json(saved.into()))
}
