//! Calibration profiles: a name, when it was made, and the numbers a
//! calibration learnt (the vision crate's profile as JSON text). The store
//! keeps the JSON as given; the caller checks it before saving.

use rusqlite::{ErrorCode, OptionalExtension, params};

use crate::model::{NewProfile, StoredProfile};
use crate::{Error, Result, Store};

/// The longest name kept, in characters.
pub const PROFILE_NAME_MAX_CHARS: usize = 60;

/// A name's surrounding spaces trimmed; an empty or over-long name is invalid.
fn clean_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("a profile needs a name".into()));
    }
    if name.chars().count() > PROFILE_NAME_MAX_CHARS {
        return Err(Error::Invalid(format!(
            "a profile name has at most {PROFILE_NAME_MAX_CHARS} characters"
        )));
    }
    Ok(name)
}

/// A UNIQUE clash on the name becomes a conflict naming it.
fn name_taken(e: rusqlite::Error, name: &str) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) if e.to_string().contains("UNIQUE") => {
            Error::Conflict(format!("a profile named {name:?} already exists"))
        }
        _ => Error::Sqlite(e),
    }
}

fn row_to_profile(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredProfile> {
    Ok(StoredProfile {
        id: row.get(0)?,
        name: row.get(1)?,
        created_at_ms: row.get(2)?,
        mode: row.get(3)?,
        data: row.get(4)?,
    })
}

const COLUMNS: &str = "id, name, created_at_ms, mode, data";

impl Store {
    /// Saves a new profile and returns it with its id.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty or over-long name, a mode other than
    /// `full`/`quick`, or data that is not JSON; [`Error::Conflict`] when the
    /// name (ignoring case) is taken. Nothing is written then.
    pub fn create_profile(&self, new: &NewProfile) -> Result<StoredProfile> {
        let name = clean_name(&new.name)?;
        if !matches!(new.mode.as_str(), "full" | "quick") {
            return Err(Error::Invalid(format!(
                "unknown calibration mode {:?}",
                new.mode
            )));
        }
        let conn = self.writer();
        let json: bool = conn.query_row("SELECT json_valid(?1)", [&new.data], |r| r.get(0))?;
        if !json {
            return Err(Error::Invalid("the profile's data is not JSON".into()));
        }
        let id = conn
            .prepare_cached(
                "INSERT INTO profiles (name, created_at_ms, mode, data) \
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
            )?
            .query_row(params![name, new.created_at_ms, new.mode, new.data], |r| {
                r.get(0)
            })
            .map_err(|e| name_taken(e, name))?;
        Ok(StoredProfile {
            id,
            name: name.to_owned(),
            created_at_ms: new.created_at_ms,
            mode: new.mode.clone(),
            data: new.data.clone(),
        })
    }

    /// Every profile, newest first.
    pub fn list_profiles(&self) -> Result<Vec<StoredProfile>> {
        let conn = self.reader()?;
        let profiles = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM profiles ORDER BY created_at_ms DESC, id DESC"
            ))?
            .query_map([], row_to_profile)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(profiles)
    }

    /// One profile.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id.
    pub fn profile(&self, id: i64) -> Result<StoredProfile> {
        let conn = self.reader()?;
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM profiles WHERE id = ?1"))?
            .query_row([id], row_to_profile)
            .optional()?
            .ok_or(Error::NotFound)
    }

    /// Renames a profile and returns it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Invalid`] and
    /// [`Error::Conflict`] as for [`Store::create_profile`].
    pub fn rename_profile(&self, id: i64, name: &str) -> Result<StoredProfile> {
        let name = clean_name(name)?;
        let changed = self
            .writer()
            .prepare_cached("UPDATE profiles SET name = ?2 WHERE id = ?1")?
            .execute(params![id, name])
            .map_err(|e| name_taken(e, name))?;
        if changed == 0 {
            return Err(Error::NotFound);
        }
        self.profile(id)
    }

    /// Rewrites a profile's numbers with `change(current data)` (e.g. to add a zone) and
    /// returns the profile as saved. The read and the write happen under the writer's lock,
    /// so two changes at once cannot lose one another. When `change` refuses, its error is
    /// returned inside `Ok` and nothing is written.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Invalid`] when the new data is not
    /// JSON (nothing written).
    pub fn update_profile_data<E>(
        &self,
        id: i64,
        change: impl FnOnce(&str) -> std::result::Result<String, E>,
    ) -> Result<std::result::Result<StoredProfile, E>> {
        let conn = self.writer();
        let data: String = conn
            .prepare_cached("SELECT data FROM profiles WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .ok_or(Error::NotFound)?;
        let data = match change(&data) {
            Ok(data) => data,
            Err(e) => return Ok(Err(e)),
        };
        let json: bool = conn.query_row("SELECT json_valid(?1)", [&data], |r| r.get(0))?;
        if !json {
            return Err(Error::Invalid("the profile's data is not JSON".into()));
        }
        conn.prepare_cached("UPDATE profiles SET data = ?2 WHERE id = ?1")?
            .execute(params![id, data])?;
        let profile = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM profiles WHERE id = ?1"))?
            .query_row([id], row_to_profile)?;
        Ok(Ok(profile))
    }

    /// Deletes a profile; sessions that used it keep their figures, without it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id.
    pub fn delete_profile(&self, id: i64) -> Result<()> {
        // Sessions that used it keep their figures and forget the profile, in the same
        // transaction (SQLite enforces the column's ON DELETE only with foreign keys on).
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.prepare_cached("UPDATE sessions SET profile_id = NULL WHERE profile_id = ?1")?
            .execute([id])?;
        let changed = tx
            .prepare_cached("DELETE FROM profiles WHERE id = ?1")?
            .execute([id])?;
        if changed == 0 {
            return Err(Error::NotFound);
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, at: i64) -> NewProfile {
        NewProfile {
            name: name.into(),
            created_at_ms: at,
            mode: "full".into(),
            data: r#"{"version": 1}"#.into(),
        }
    }

    #[test]
    fn profiles_are_created_listed_renamed_and_deleted() {
        let store = Store::open_in_memory().unwrap();
        let desk = store.create_profile(&new("  Desk ", 1_000)).unwrap();
        assert_eq!(desk.name, "Desk", "the name is trimmed");
        let laptop = store.create_profile(&new("Laptop", 2_000)).unwrap();
        let names: Vec<_> = store
            .list_profiles()
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["Laptop", "Desk"], "newest first");
        assert_eq!(store.profile(desk.id).unwrap(), desk);

        let renamed = store.rename_profile(desk.id, "Office").unwrap();
        assert_eq!(renamed.name, "Office");
        assert_eq!(renamed.data, desk.data);

        store.delete_profile(laptop.id).unwrap();
        assert!(matches!(store.profile(laptop.id), Err(Error::NotFound)));
        assert!(matches!(
            store.delete_profile(laptop.id),
            Err(Error::NotFound)
        ));
        assert!(matches!(
            store.rename_profile(laptop.id, "x"),
            Err(Error::NotFound)
        ));
        assert_eq!(store.list_profiles().unwrap().len(), 1);
    }

    #[test]
    fn bad_names_modes_and_data_are_refused_and_nothing_is_kept() {
        let store = Store::open_in_memory().unwrap();
        store.create_profile(&new("Desk", 1)).unwrap();
        assert!(matches!(
            store.create_profile(&new("desk", 2)),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            store.create_profile(&new("   ", 2)),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            store.create_profile(&new(&"x".repeat(61), 2)),
            Err(Error::Invalid(_))
        ));
        let mut bad_mode = new("Other", 2);
        bad_mode.mode = "sideways".into();
        assert!(matches!(
            store.create_profile(&bad_mode),
            Err(Error::Invalid(_))
        ));
        let mut bad_data = new("Other", 2);
        bad_data.data = "{not json".into();
        assert!(matches!(
            store.create_profile(&bad_data),
            Err(Error::Invalid(_))
        ));
        let other = store.create_profile(&new("Other", 3)).unwrap();
        assert!(matches!(
            store.rename_profile(other.id, "DESK"),
            Err(Error::Conflict(_))
        ));
        let names: Vec<_> = store
            .list_profiles()
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["Other", "Desk"]);
    }
    #[test]
    fn a_session_keeps_the_profile_it_used_after_a_rename_a_recalibration_and_a_delete() {
        let store = Store::open_in_memory().unwrap();
        let desk = store.create_profile(&new("Desk", 1)).unwrap();
        let used = crate::ProfileUsed {
            name: "Desk".into(),
            mode: "full".into(),
            zones: vec!["notes".into(), "second, \"big\" monitor".into()],
        };
        let with = store
            .create_session(&crate::NewSession {
                profile_id: Some(desk.id),
                profile_used: Some(used.clone()),
                profile_data: Some(desk.data.clone()),
                ..crate::sessions::tests::new_session(10_000)
            })
            .unwrap();
        assert_eq!(with.profile_used.as_ref(), Some(&used));
        let without = store
            .create_session(&crate::sessions::tests::new_session(20_000))
            .unwrap();
        assert_eq!(without.profile_used, None);

        store.rename_profile(desk.id, "Office").unwrap();
        let after_rename = store.get_session(with.id).unwrap();
        assert_eq!(after_rename.profile_id, Some(desk.id));
        assert_eq!(
            after_rename.profile_used.as_ref(),
            Some(&used),
            "the name then"
        );

        // Calibrated again: the session keeps the numbers it started with.
        store
            .update_profile_data(desk.id, |_| {
                Ok::<_, ()>(r#"{"version": 1, "zones": []}"#.to_owned())
            })
            .unwrap()
            .unwrap();
        let then = Some(desk.data.clone());
        assert_eq!(store.session_profile_data(with.id).unwrap(), then);

        store.delete_profile(desk.id).unwrap();
        let after_delete = store.get_session(with.id).unwrap();
        assert_eq!(after_delete.profile_id, None);
        assert_eq!(after_delete.profile_used, Some(used));
        assert_eq!(store.session_profile_data(with.id).unwrap(), then);
        assert_eq!(store.get_session(without.id).unwrap().profile_used, None);
        assert_eq!(store.session_profile_data(without.id).unwrap(), None);
        assert!(matches!(
            store.session_profile_data(without.id + 100),
            Err(Error::NotFound)
        ));
    }

    #[test]
    fn a_profiles_data_is_changed_in_place_or_left_as_it_was() {
        let store = Store::open_in_memory().unwrap();
        let desk = store.create_profile(&new("Desk", 1)).unwrap();
        let changed = store
            .update_profile_data(desk.id, |data| {
                assert_eq!(data, r#"{"version": 1}"#);
                Ok::<_, ()>(r#"{"version": 1, "zones": []}"#.to_owned())
            })
            .unwrap()
            .unwrap();
        assert_eq!(changed.data, r#"{"version": 1, "zones": []}"#);
        assert_eq!((changed.id, &changed.name), (desk.id, &desk.name));
        assert_eq!(store.profile(desk.id).unwrap(), changed);

        // A refused change, and data that is not JSON, leave it as it was.
        let refused = store.update_profile_data(desk.id, |_| Err("no")).unwrap();
        assert_eq!(refused, Err("no"));
        assert!(matches!(
            store.update_profile_data(desk.id, |_| Ok::<_, ()>("{not json".to_owned())),
            Err(Error::Invalid(_))
        ));
        assert_eq!(store.profile(desk.id).unwrap(), changed);
        assert!(matches!(
            store.update_profile_data(999, |d| Ok::<_, ()>(d.to_owned())),
            Err(Error::NotFound)
        ));
    }
}
