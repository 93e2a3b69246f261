// Shared helpers for the pages: API calls with errors in words, formatting, and DOM
// building that only ever puts data in with textContent (never innerHTML). The shared
// components are beside it: notice.js (errors in words) and deliveries.js (the summary's
// email/SMS status and its poller).

/** An API failure with a message fit to show the user. */
export class ApiError extends Error {
  constructor(message, { status = 0, field = null, network = false } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.field = field;
    this.network = network;
  }
}

export const UNREACHABLE =
  "The Focus Sentry server cannot be reached. Check that it is still running (cargo run --release), then try again.";

/**
 * Calls the JSON API. Resolves with the parsed body (null for 204); rejects with ApiError.
 */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(UNREACHABLE, { network: true });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message =
      (data && (data.detail || data.error)) ||
      `The server answered ${response.status} ${response.statusText}.`;
    throw new ApiError(message, { status: response.status, field: data && data.field });
  }
  return data;
}

/** Why the user is not focused, in words. */
export const REASONS = {
  looking_away: "Looking away",
  eyes_closed: "Eyes closed",
  no_face: "No face in view",
  no_signal: "No camera signal",
};

export function reasonText(reason) {
  return REASONS[reason] || "Not focused";
}

/** Why a session ended (`end_reason`), in words; null: stored before it was kept. */
const END_REASONS = {
  planned: "Its planned time ran out",
  user: "You ended it early",
  server_stopped: "The server was stopped",
  server_lost: "The server stopped unexpectedly",
};

export function endReasonText(reason) {
  return END_REASONS[reason] || "Not recorded";
}

/** 83 s -> "1:23", 3723 s -> "1:02:03" (a running clock). */
export function formatClock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return (h > 0 ? `${h}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
}

/** A duration in words: "45 s", "12 min 5 s", "1 h 02 min". */
export function formatDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return "–";
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return s ? `${m} min ${s} s` : `${m} min`;
}

export function formatPercent(p) {
  if (p == null || Number.isNaN(p)) return "–";
  return `${Math.round(p)}%`;
}

/**
 * Blinks a minute, whole ("14/min"); "–" when not measured (the eyes in view under 10 s:
 * the server sends null, docs/api.md).
 */
export function formatBlinkRate(rate) {
  if (rate == null || Number.isNaN(rate)) return "–";
  return `${Math.round(rate)}/min`;
}

/** PERCLOS to a tenth ("1.8%": it is small when awake); "–" when not measured. */
export function formatPerclos(p) {
  if (p == null || Number.isNaN(p)) return "–";
  return `${p.toFixed(1)}%`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});
const dateOnly = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const timeSeconds = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** Unix ms to the user's local date and time. */
/**
 * What a session was judged with, in words, from its `profile` (the session's or summary's
 * `profile`, docs/api.md: as it was when the session started): 'Judged with profile “Desk”
 * (full calibration; zones: notes).', or "Not calibrated" when it had none.
 */
export function profileUsedText(profile) {
  if (!profile) return "Not calibrated: judged with the default rules.";
  const zones = profile.zones && profile.zones.length ? `; zones: ${profile.zones.join(", ")}` : "";
  const mode = profile.mode === "full" ? "full" : "quick";
  const gone = profile.id == null ? " That profile has been deleted since." : "";
  return `Judged with profile \u201c${profile.name}\u201d (${mode} calibration${zones}).${gone}`;
}

/**
 * Focused time on the extra zones (`zone_time`: [{zone, ms}] or [{zone, seconds}], docs/api.md)
 * in words: "notes 6 min 30 s, second monitor 3 min 5 s"; "" when there are none.
 */
export function zoneTimeText(zoneTime) {
  return (zoneTime || [])
    .map((z) => `${z.zone} ${formatDuration(z.ms ?? z.seconds * 1000)}`)
    .join(", ");
}

export function formatDateTime(ms) {
  return dateTime.format(new Date(ms));
}
export function formatDate(ms) {
  return dateOnly.format(new Date(ms));
}
/** Time of day; with seconds when `seconds` is true (for short sessions). */
export function formatTime(ms, seconds = false) {
  return (seconds ? timeSeconds : timeOnly).format(new Date(ms));
}

/**
 * Builds an element. Strings and numbers among the children become text nodes, so data is
 * never parsed as HTML.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Builds an SVG element (attributes only; text via the `text` prop). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Shows or hides an element with the `hidden` attribute. */
export function show(node, visible = true) {
  node.hidden = !visible;
}

export function $(id) {
  return document.getElementById(id);
}

/**
 * The JSON value saved under `key` in this browser (localStorage), or null when nothing is
 * saved, it does not parse, or storage is off.
 */
export function loadSaved(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}
