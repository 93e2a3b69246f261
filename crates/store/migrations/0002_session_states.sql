-- Focus Sentry schema, version 2: time that is neither focused nor unfocused,
-- why a session ended, and how many frames were judged.
--
-- The focus clock now keeps five totals that add up to the session's time:
-- focused, unfocused, starting (no verdict yet: the start, and after each
-- resume), paused, and offline (the server was down between an interruption
-- and the session's resume). Sessions written before this version counted
-- everything as focused or unfocused, so their new totals are 0.

ALTER TABLE sessions ADD COLUMN starting_ms INTEGER NOT NULL DEFAULT 0 CHECK (starting_ms >= 0);
ALTER TABLE sessions ADD COLUMN paused_ms INTEGER NOT NULL DEFAULT 0 CHECK (paused_ms >= 0);
ALTER TABLE sessions ADD COLUMN offline_ms INTEGER NOT NULL DEFAULT 0 CHECK (offline_ms >= 0);
-- Frames that got a verdict and were fed to the clock.
ALTER TABLE sessions ADD COLUMN frames_analyzed INTEGER NOT NULL DEFAULT 0 CHECK (frames_analyzed >= 0);
-- Why a finished session ended: 'planned' (its time ran out), 'user' (ended
-- from the page or the API), 'server_stopped' (the server shut down and saved
-- it), 'server_lost' (the server died; closed at the next start with its last
-- saved totals). NULL while running, and for sessions from before version 2.
ALTER TABLE sessions ADD COLUMN end_reason TEXT
    CHECK (end_reason IN ('planned', 'user', 'server_stopped', 'server_lost'));
-- The stretch still open at the last save of a running session (its kind,
-- reason and start), so that a crash does not leave a hole in the timeline:
-- crash recovery closes it at the last save. NULL once the session ends.
ALTER TABLE sessions ADD COLUMN open_kind TEXT
    CHECK (open_kind IN ('focused', 'unfocused', 'starting', 'paused'));
ALTER TABLE sessions ADD COLUMN open_reason TEXT;
ALTER TABLE sessions ADD COLUMN open_since_ms INTEGER;

-- The timeline gains the three new kinds of stretch. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt with the same rows.
CREATE TABLE events_v2 (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL
               CHECK (kind IN ('focused', 'unfocused', 'break', 'starting', 'paused', 'offline')),
    -- Why attention was lost: no_face, eyes_closed, looking_away, no_signal.
    reason     TEXT,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL,
    CHECK (end_ms >= start_ms)
);
INSERT INTO events_v2 (id, session_id, kind, reason, start_ms, end_ms)
    SELECT id, session_id, kind, reason, start_ms, end_ms FROM events;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
CREATE INDEX events_by_session ON events (session_id, start_ms);
