// What the pages should write for the API's numbers, stated here independently of the
// pages' own code (docs/api.md and the pages' wording), so a test compares the page with
// the API rather than the page with itself.

/** A duration in words: "45 s", "12 min 5 s", "1 h 02 min" (whole seconds, rounded). */
export function durationText(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return s ? `${m} min ${s} s` : `${m} min`;
}

/** A percentage as shown: rounded to a whole number. */
export function percentText(p) {
  return `${Math.round(p)}%`;
}

/** The reasons in words, as the live page and the history write them. */
export const REASON_WORDS = {
  looking_away: "Looking away",
  eyes_closed: "Eyes closed",
  no_face: "No face in view",
  no_signal: "No camera signal",
};

/** The CSV export's columns (docs/api.md). */
export const CSV_COLUMNS = [
  "id", "started_at", "planned_minutes", "status", "ended_early", "end_reason", "total_s",
  "focused_s", "unfocused_s", "starting_s", "paused_s", "offline_s", "breaks", "focus_percent",
  "longest_focus_s", "email_status", "sms_status", "blinks", "long_closures", "blinks_per_min",
  "perclos_percent", "eyes_seen_s", "profile", "profile_mode", "zones", "zone_focused_s",
];

/** Blinks a minute as the history and summary write them: whole, "14/min"; "–" unmeasured. */
export function blinkRateText(rate) {
  return rate == null ? "–" : `${Math.round(rate)}/min`;
}

/** PERCLOS as the pages write it: to a tenth, "1.8%"; "–" unmeasured. */
export function perclosText(p) {
  return p == null ? "–" : `${p.toFixed(1)}%`;
}
