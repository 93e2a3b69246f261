//! Calibration profiles as the app keeps them: list, read, save, rename and delete, rename or
//! remove one of a profile's extra zones, with the profile's numbers checked by the vision
//! crate before anything is stored.
//!
//! A layer of its own between the web handlers and the store: it speaks [`ProfileError`]
//! (invalid input, a name taken, no such profile, a store failure), which only `web` turns
//! into HTTP. A profile holds numbers only (`focus_vision::Profile` as JSON), never a frame.

use focus_store::{NewProfile, ProfileUsed, StoredProfile};
use focus_vision::Profile;
use focus_vision::profile::CalibrationMode;

use crate::db::{Db, DbError};

/// Why a profile call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A value the caller sent cannot be used; `field` names it, `detail` says why in words.
    #[error("invalid {field}: {detail}")]
    Invalid { field: &'static str, detail: String },
    /// Another profile already has that name (names are unique, ignoring case).
    #[error("{0}")]
    NameTaken(String),
    /// No profile has this id.
    #[error("no profile with id {0}")]
    NotFound(i64),
    /// The profile has no zone of this name.
    #[error("profile {id} has no zone {zone:?}")]
    ZoneNotFound { id: i64, zone: String },
    /// The store failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The longest zone name kept, in characters.
pub const ZONE_NAME_MAX_CHARS: usize = 40;

/// Refuses a zone name longer than [`ZONE_NAME_MAX_CHARS`] characters once trimmed, naming
/// the form's `field`.
pub fn check_zone_name_length(name: &str, field: &'static str) -> Result<(), ProfileError> {
    if name.trim().chars().count() > ZONE_NAME_MAX_CHARS {
        return Err(ProfileError::Invalid {
            field,
            detail: format!("a zone's name has at most {ZONE_NAME_MAX_CHARS} characters"),
        });
    }
    Ok(())
}

/// A zone's new name, trimmed: 1 to [`ZONE_NAME_MAX_CHARS`] characters.
fn clean_zone_name(name: &str) -> Result<String, ProfileError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ProfileError::Invalid {
            field: "name",
            detail: "a zone needs a name".into(),
        });
    }
    check_zone_name_length(name, "name")?;
    Ok(name.to_owned())
}

/// A saved profile: its record and its numbers, parsed.
#[derive(Debug, Clone)]
pub struct SavedProfile {
    pub id: i64,
    pub name: String,
    pub created_at_ms: i64,
    pub profile: Profile,
}

/// `full` (centre and four corners) or `quick` (centre only): the mode as stored and shown.
pub fn mode_name(profile: &Profile) -> &'static str {
    match profile.mode {
        CalibrationMode::Full => "full",
        CalibrationMode::Quick => "quick",
    }
}

impl SavedProfile {
    /// What a session started with it keeps: its name, mode and zones as they are now.
    pub fn used(&self) -> ProfileUsed {
        ProfileUsed {
            name: self.name.clone(),
            mode: mode_name(&self.profile).to_owned(),
            zones: self.profile.zones.iter().map(|z| z.name.clone()).collect(),
        }
    }

    /// Parses a stored record. A record whose numbers no longer parse (written by a newer
    /// version, or damaged) is reported with `profile` = the error, so a list still shows it
    /// and the user can delete it.
    fn from_stored(stored: StoredProfile) -> Result<SavedProfile, (StoredProfile, String)> {
        match Profile::from_json(&stored.data) {
            Ok(profile) => Ok(SavedProfile {
                id: stored.id,
                name: stored.name,
                created_at_ms: stored.created_at_ms,
                profile,
            }),
            Err(e) => {
                let why = e.to_string();
                Err((stored, why))
            }
        }
    }
}

/// A listed profile: parsed, or the stored record with why it cannot be used.
pub type ListedProfile = Result<SavedProfile, (StoredProfile, String)>;

/// Maps a store error of a call about profile `id` (0 for a new one).
fn from_store(e: focus_store::Error, id: i64) -> ProfileError {
    match e {
        focus_store::Error::NotFound => ProfileError::NotFound(id),
        focus_store::Error::Invalid(detail) => ProfileError::Invalid {
            field: "name",
            detail,
        },
        focus_store::Error::Conflict(detail) => ProfileError::NameTaken(detail),
        other => ProfileError::Db(DbError::from(other)),
    }
}

/// Every profile, newest first.
pub async fn list(db: &Db) -> Result<Vec<ListedProfile>, ProfileError> {
    let stored = db.call(|s| s.list_profiles()).await?;
    Ok(stored.into_iter().map(SavedProfile::from_stored).collect())
}

/// One profile, parsed.
///
/// # Errors
///
/// [`ProfileError::NotFound`]; [`ProfileError::Invalid`] (field `profile`) when its stored
/// numbers cannot be used by this version.
pub async fn get(db: &Db, id: i64) -> Result<SavedProfile, ProfileError> {
    let stored = db
        .call(move |s| Ok(s.profile(id)))
        .await?
        .map_err(|e| from_store(e, id))?;
    SavedProfile::from_stored(stored).map_err(|(_, detail)| ProfileError::Invalid {
        field: "profile",
        detail,
    })
}

/// Saves `profile` (checked first) under `name`, made at `now_ms`.
///
/// # Errors
///
/// [`ProfileError::Invalid`] for a bad name or numbers, [`ProfileError::NameTaken`]; nothing
/// is stored then.
pub async fn create(
    db: &Db,
    name: &str,
    profile: &Profile,
    now_ms: i64,
) -> Result<SavedProfile, ProfileError> {
    profile.check().map_err(|e| ProfileError::Invalid {
        field: "profile",
        detail: e.to_string(),
    })?;
    let new = NewProfile {
        name: name.to_owned(),
        created_at_ms: now_ms,
        mode: mode_name(profile).to_owned(),
        data: profile.to_json(),
    };
    let stored = db
        .call(move |s| Ok(s.create_profile(&new)))
        .await?
        .map_err(|e| from_store(e, 0))?;
    Ok(SavedProfile {
        id: stored.id,
        name: stored.name,
        created_at_ms: stored.created_at_ms,
        profile: profile.clone(),
    })
}

/// Renames profile `id`.
///
/// # Errors
///
/// [`ProfileError::NotFound`], [`ProfileError::Invalid`] (name), [`ProfileError::NameTaken`].
pub async fn rename(db: &Db, id: i64, name: &str) -> Result<SavedProfile, ProfileError> {
    let name = name.to_owned();
    db.call(move |s| Ok(s.rename_profile(id, &name)))
        .await?
        .map_err(|e| from_store(e, id))?;
    get(db, id).await
}

/// Changes profile `id`'s numbers with `change` (e.g. adds a zone), checks them and saves
/// them; the read and the write are one step in the store, so two changes at once cannot
/// lose one another. Returns the profile as saved, or `change`'s refusal (nothing saved).
///
/// # Errors
///
/// [`ProfileError::NotFound`]; [`ProfileError::Invalid`] (field `profile`) when the stored
/// numbers cannot be read by this version or the changed ones do not check.
pub async fn change<E>(
    db: &Db,
    id: i64,
    change: impl FnOnce(&mut Profile) -> Result<(), E> + Send + 'static,
) -> Result<Result<SavedProfile, E>, ProfileError>
where
    E: Send + 'static,
{
    /// Why the change wrote nothing: the stored profile, or the change, said no.
    enum Refused<E> {
        Unusable(String),
        Change(E),
    }
    let outcome = db
        .call(move |s| {
            Ok(s.update_profile_data(id, |data| {
                let mut profile =
                    Profile::from_json(data).map_err(|e| Refused::Unusable(e.to_string()))?;
                change(&mut profile).map_err(Refused::Change)?;
                profile
                    .check()
                    .map_err(|e| Refused::Unusable(e.to_string()))?;
                Ok(profile.to_json())
            }))
        })
        .await?
        .map_err(|e| from_store(e, id))?;
    match outcome {
        Ok(stored) => SavedProfile::from_stored(stored)
            .map(Ok)
            .map_err(|(_, detail)| ProfileError::Invalid {
                field: "profile",
                detail,
            }),
        Err(Refused::Change(e)) => Ok(Err(e)),
        Err(Refused::Unusable(detail)) => Err(ProfileError::Invalid {
            field: "profile",
            detail,
        }),
    }
}

/// Why a zone change wrote nothing.
enum ZoneRefusal {
    NotFound(String),
    Taken(String),
}

impl ZoneRefusal {
    fn into_error(self, id: i64) -> ProfileError {
        match self {
            ZoneRefusal::NotFound(zone) => ProfileError::ZoneNotFound { id, zone },
            ZoneRefusal::Taken(name) => {
                ProfileError::NameTaken(format!("this profile already has a zone named {name:?}"))
            }
        }
    }
}

/// Renames profile `id`'s zone `zone` (its exact name) to `new_name` (trimmed, at most
/// [`ZONE_NAME_MAX_CHARS`] characters, not another of its zones' names, ignoring case).
/// Sessions keep the zone names they started with; new sessions show the new one.
///
/// # Errors
///
/// [`ProfileError::Invalid`] (field `name`), [`ProfileError::NotFound`],
/// [`ProfileError::ZoneNotFound`], [`ProfileError::NameTaken`]; nothing is saved then.
pub async fn rename_zone(
    db: &Db,
    id: i64,
    zone: String,
    new_name: &str,
) -> Result<SavedProfile, ProfileError> {
    let name = clean_zone_name(new_name)?;
    change(db, id, move |profile| {
        let Some(at) = profile.zones.iter().position(|z| z.name == zone) else {
            return Err(ZoneRefusal::NotFound(zone));
        };
        let lower = name.to_lowercase();
        let taken = (profile.zones.iter().enumerate())
            .any(|(i, z)| i != at && z.name.to_lowercase() == lower);
        if taken {
            return Err(ZoneRefusal::Taken(name));
        }
        profile.zones[at].name = name;
        Ok(())
    })
    .await?
    .map_err(|refusal| refusal.into_error(id))
}

/// Removes profile `id`'s zone `zone` (its exact name): glances there no longer count as
/// focused in new sessions.
///
/// # Errors
///
/// [`ProfileError::NotFound`], [`ProfileError::ZoneNotFound`].
pub async fn remove_zone(db: &Db, id: i64, zone: String) -> Result<SavedProfile, ProfileError> {
    change(db, id, move |profile| {
        let before = profile.zones.len();
        profile.zones.retain(|z| z.name != zone);
        if profile.zones.len() == before {
            Err(ZoneRefusal::NotFound(zone))
        } else {
            Ok(())
        }
    })
    .await?
    .map_err(|refusal| refusal.into_error(id))
}

/// Deletes profile `id`.
///
/// # Errors
///
/// [`ProfileError::NotFound`].
pub async fn delete(db: &Db, id: i64) -> Result<(), ProfileError> {
    db.call(move |s| Ok(s.delete_profile(id)))
        .await?
        .map_err(|e| from_store(e, id))
}
