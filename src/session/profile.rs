//! The calibration profile a session judges with: read when the session starts (a profile
//! that is unknown or that this version cannot read refuses the start, in words) and kept with
//! the session as it is then, so a session the server's stop interrupted is continued with the
//! same numbers even after its profile was calibrated again or deleted.

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

    /// The profile of a session being continued, as it was when the session started; `None`
    /// (the default rules) when it had none, or when its numbers were not kept (a session
    /// from before schema version 8 whose profile was deleted before it) or cannot be read.
    pub(super) async fn profile_to_continue(&self, session: &Session) -> Option<Arc<Profile>> {
        let id = session.id;
        let kept = match self
            .inner
            .db
            .call(move |s| s.session_profile_data(id))
            .await
        {
            Ok(kept) => kept,
            Err(e) => {
                tracing::warn!(session = id, error = %e,
                    "the session's calibration profile cannot be read; continuing with the default rules");
                return None;
            }
        };
        let data = kept?;
        match Profile::from_json(&data) {
            Ok(profile) => Some(Arc::new(profile)),
            Err(e) => {
                tracing::warn!(session = id, error = %e,
                    "the session's calibration profile cannot be used; continuing with the default rules");
                None
            }
        }
    }
}
