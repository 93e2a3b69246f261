-- Focus Sentry schema, version 6: what a session was judged with, as it was at the start.
--
-- profile_id points at the profile (and is cleared when it is deleted); these columns keep
-- its name, mode and extra zones as they were when the session started, so the history
-- still says what was used after the profile is renamed, re-calibrated or deleted.
-- profile_name NULL: judged with the default rules (no profile). profile_zones: a JSON array
-- of the zone names ('[]' for none).
--
-- Sessions from before version 6 that name a profile take it as it is now (the best that is
-- known); those whose profile was deleted before version 6 cannot be told from sessions
-- without one.

ALTER TABLE sessions ADD COLUMN profile_name TEXT;
ALTER TABLE sessions ADD COLUMN profile_mode TEXT
    CHECK (profile_mode IS NULL OR profile_mode IN ('full', 'quick'));
ALTER TABLE sessions ADD COLUMN profile_zones TEXT
    CHECK (profile_zones IS NULL OR json_valid(profile_zones));

UPDATE sessions SET
    profile_name = (SELECT p.name FROM profiles p WHERE p.id = sessions.profile_id),
    profile_mode = (SELECT p.mode FROM profiles p WHERE p.id = sessions.profile_id),
    profile_zones = (
        SELECT (SELECT json_group_array(json_extract(z.value, '$.name'))
                FROM json_each(p.data, '$.zones') z)
        FROM profiles p WHERE p.id = sessions.profile_id)
WHERE profile_id IS NOT NULL;
