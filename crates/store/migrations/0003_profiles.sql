-- Focus Sentry schema, version 3: calibration profiles.
--
-- A profile is what a calibration learnt about one person at one desk: where
-- their screen lies in head and gaze angles, their open eyes, their head at
-- rest. Only those numbers are kept (as the vision crate's profile JSON),
-- never a frame.

CREATE TABLE profiles (
    id            INTEGER PRIMARY KEY,
    -- What the person called it ("Desk", "Laptop"); unique, case-insensitive.
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE
                  CHECK (length(trim(name)) BETWEEN 1 AND 60),
    created_at_ms INTEGER NOT NULL,
    -- 'full' (centre and four corners) or 'quick' (centre only).
    mode          TEXT    NOT NULL CHECK (mode IN ('full', 'quick')),
    -- The profile itself: focus_vision::Profile as JSON.
    data          TEXT    NOT NULL CHECK (json_valid(data))
);
