-- Focus Sentry schema, version 4: the calibration profile a session judged with.
--
-- NULL: no profile (the default rules), and every session from before version 4.
-- Deleting a profile keeps the sessions that used it and their figures; the store
-- clears their profile_id in the same transaction (whether or not SQLite enforces
-- foreign keys on this connection).

ALTER TABLE sessions ADD COLUMN profile_id INTEGER REFERENCES profiles(id) ON DELETE SET NULL;
