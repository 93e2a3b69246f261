//! The calibration profile a session judges with: read when the session starts (a profile
//! that is unknown or that this version cannot read refuses the start, in words) and again
//! when a session the server's stop interrupted is continued (a profile deleted since falls
//! back to the default rules: the session goes on).

use std::sync::Arc;

use focus_store::Session;
use focus_vision::Profile;

use super::{SessionError, Sessions};
use crate::profiles::{self, ProfileError, SavedProfile};

impl Sessions {
    /// The profile asked for when starting, or `None` for the default rules.
    pub(super) async fn profile_to_start(
        &self,
        id: Option<i64>,
    ) -> Result<Option<SavedProfile>, SessionError> {
        let Some(id) = id else { return Ok(None) };
        match profiles::get(&self.inner.db, id).await {
            Ok(saved) => Ok(Some(saved)),
            Err(ProfileError::NotFound(_)) => Err(SessionError::Profile(format!(
                "there is no calibration profile with id {id}: choose another or calibrate again"
            ))),
            Err(ProfileError::Invalid { detail, .. }) => Err(SessionError::Profile(format!(
                "the calibration profile cannot be used ({detail}): calibrate again"
            ))),
            Err(ProfileError::NameTaken(detail)) => Err(SessionError::Profile(detail)),
            Err(e @ ProfileError::ZoneNotFound { .. }) => Err(SessionError::Profile(e.to_string())),
            Err(ProfileError::Db(e)) => Err(SessionError::Db(e)),
        }
    }

    /// The profile of a session being continued; `None` (the default rules) when it had
    /// none or it can no longer be read.
    pub(super) async fn profile_to_continue(&self, session: &Session) -> Option<Arc<Profile>> {
        let id = session.profile_id?;
        match profiles::get(&self.inner.db, id).await {
            Ok(saved) => Some(Arc::new(saved.profile)),
            Err(e) => {
                tracing::warn!(session = session.id, profile = id, error = %e,
                    "the session's calibration profile is gone; continuing with the default rules");
                None
            }
        }
    }
}
