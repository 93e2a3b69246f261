-- Focus Sentry schema, version 8: the numbers of the profile a session was judged with, as
-- they were at its start.
--
-- Version 6 kept the profile's name, mode and zones for the history; this keeps the profile
-- itself (the vision crate's profile JSON, numbers only: never an image), so a session the
-- server's stop interrupted is continued with the same numbers it started with, even after
-- its profile was calibrated again or deleted. Without it such a session went on with the
-- profile as it is now, or, once deleted, with the default rules while its history still
-- named the profile.
--
-- profile_data NULL: judged with the default rules. Sessions from before version 8 that
-- name a profile take its numbers as they are now (the best that is known); those whose
-- profile is gone keep NULL.

ALTER TABLE sessions ADD COLUMN profile_data TEXT
    CHECK (profile_data IS NULL OR json_valid(profile_data));

UPDATE sessions SET
    profile_data = (SELECT p.data FROM profiles p WHERE p.id = sessions.profile_id)
WHERE profile_id IS NOT NULL;
