-- Focus Sentry schema, version 5: what a session saw of the eyes (issue 12, fatigue).
--
-- The counts that blink rate and PERCLOS are made of, saved with the other totals every
-- few seconds (so a session continued after a restart adds to them, and crash recovery
-- keeps them): blinks (closures of 50-500 ms), closures longer than a blink, the time the
-- eyes were seen, and of that the time they were at least 80% closed. The rates are
-- computed from these where they are shown, with one rule (focus_types::fatigue). Sessions
-- from before version 5 saw no eyes: 0 everywhere, shown as not measured.

ALTER TABLE sessions ADD COLUMN blinks INTEGER NOT NULL DEFAULT 0 CHECK (blinks >= 0);
ALTER TABLE sessions ADD COLUMN long_closures INTEGER NOT NULL DEFAULT 0 CHECK (long_closures >= 0);
ALTER TABLE sessions ADD COLUMN eyes_seen_ms INTEGER NOT NULL DEFAULT 0 CHECK (eyes_seen_ms >= 0);
ALTER TABLE sessions ADD COLUMN eyes_shut_ms INTEGER NOT NULL DEFAULT 0 CHECK (eyes_shut_ms >= 0);
