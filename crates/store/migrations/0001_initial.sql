-- Focus Sentry schema, version 1.
--
-- Conventions: times are INTEGER unix milliseconds (UTC), columns ending in
-- _ms; durations are INTEGER milliseconds (or seconds where the name ends in
-- _s). Booleans are INTEGER 0/1. Enumerations are lower-case snake_case TEXT
-- guarded by CHECK constraints, so a bad value is refused at write time.

-- Marks the file as ours ('FSNT'), so opening some other program's SQLite
-- file by mistake is detected instead of silently adding tables to it.
PRAGMA application_id = 1179864660;

CREATE TABLE sessions (
    -- AUTOINCREMENT: ids of deleted sessions are never reused, so a stale
    -- link or a late delivery can never land on a different session.
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at_ms      INTEGER NOT NULL,
    planned_duration_s INTEGER NOT NULL CHECK (planned_duration_s >= 0),
    ends_at_ms         INTEGER NOT NULL,
    alert_threshold_ms INTEGER NOT NULL CHECK (alert_threshold_ms >= 0),
    alert_mode         TEXT    NOT NULL CHECK (alert_mode IN ('banner', 'sound', 'both')),
    email              TEXT,
    phone              TEXT,
    send_email         INTEGER NOT NULL CHECK (send_email IN (0, 1)),
    send_sms           INTEGER NOT NULL CHECK (send_sms IN (0, 1)),
    status             TEXT    NOT NULL DEFAULT 'running'
                               CHECK (status IN ('running', 'completed', 'interrupted')),
    ended_at_ms        INTEGER,
    ended_early        INTEGER NOT NULL DEFAULT 0 CHECK (ended_early IN (0, 1)),
    -- Totals, rewritten every few seconds while the session runs.
    total_ms           INTEGER NOT NULL DEFAULT 0 CHECK (total_ms >= 0),
    focused_ms         INTEGER NOT NULL DEFAULT 0 CHECK (focused_ms >= 0),
    unfocused_ms       INTEGER NOT NULL DEFAULT 0 CHECK (unfocused_ms >= 0),
    breaks             INTEGER NOT NULL DEFAULT 0 CHECK (breaks >= 0),
    longest_focus_ms   INTEGER NOT NULL DEFAULT 0 CHECK (longest_focus_ms >= 0),
    -- Last write to the row; for a session cut off by a crash this is the
    -- best known end time.
    updated_at_ms      INTEGER NOT NULL,
    -- A finished session has an end time; a running one does not.
    CHECK ((status = 'running') = (ended_at_ms IS NULL))
);

CREATE INDEX sessions_by_start ON sessions (started_at_ms);
CREATE INDEX sessions_running ON sessions (status) WHERE status = 'running';

-- The timeline: focused and unfocused stretches and breaks.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('focused', 'unfocused', 'break')),
    -- Why attention was lost: no_face, eyes_closed, looking_away, no_signal.
    -- Free text so the focus crate can add reasons without a migration.
    reason     TEXT,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL,
    CHECK (end_ms >= start_ms)
);

CREATE INDEX events_by_session ON events (session_id, start_ms);

-- Email / SMS summaries, one per session and channel, sent in the background
-- with retries.
CREATE TABLE deliveries (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id         INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    channel            TEXT    NOT NULL CHECK (channel IN ('email', 'sms')),
    destination        TEXT    NOT NULL,
    status             TEXT    NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'sent', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error         TEXT,
    -- When the sender should try next; only pending deliveries have one.
    next_attempt_at_ms INTEGER,
    updated_at_ms      INTEGER NOT NULL,
    UNIQUE (session_id, channel),
    CHECK ((status = 'pending') = (next_attempt_at_ms IS NOT NULL))
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at_ms) WHERE status = 'pending';
