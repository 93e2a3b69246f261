-- Focus Sentry schema, version 7: focused time per extra zone (issue 12, "notes", "second
-- monitor").
--
-- One row per zone a session was judged with: its name as it was when the session started
-- (as in sessions.profile_zones) and the focused time spent on it, a part of focused_ms.
-- Written with the other totals every few seconds and at the end, so a session continued
-- after a restart adds to them and crash recovery keeps them.
--
-- A table rather than a column: a session has any number of zones (none without a profile),
-- each a free-text name of its own, so a row per zone keeps the names and times plain SQL
-- (no JSON to parse for the CSV or a future query) and needs no backfill. Sessions from
-- before version 7 have no rows: no zone time is known, and none is shown.

CREATE TABLE session_zone_time (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    zone TEXT NOT NULL CHECK (length(zone) > 0),
    ms INTEGER NOT NULL CHECK (ms >= 0),
    PRIMARY KEY (session_id, zone)
);
