// The history page: range filter, figures, the session table, a session's details (its
// timeline, drifts and summary status), delete, and CSV export. The SVG pictures are drawn by
// chart.js.

import {
  $, api, el, endReasonText, show, formatBlinkRate, formatDateTime, formatDuration, formatPercent, formatPerclos,
  formatTime, profileUsedText, reasonText, zoneTimeText,
} from "../common.js";
import { DeliveryWatch, deliveriesSettled, deliveriesText } from "../deliveries.js";
import { clearNotice, notify } from "../notice.js";
import { renderChart, renderFatigueCharts, renderTimeline } from "./chart.js";

/** The focus clock's debounce (crates/clock): no stretch that ends by itself is shorter. */
const DEBOUNCE_MS = 500;

const state = { days: "30", includeShort: false, data: null, detailId: null };

/** The open session's summary status, kept current while a channel is pending. */
const deliveries = new DeliveryWatch({
  box: "detail-deliveries",
  later: "Still trying in the background; open this session again later to see how it ends.",
  onUpdate: (s) => {
    if (deliveriesSettled(s.deliveries)) updateRow(s);
  },
});

// ---------------------------------------------------------------------------------------
// Range and loading.

const rangeButtons = [...document.querySelectorAll(".segmented button")];
for (const button of rangeButtons) {
  button.addEventListener("click", () => {
    state.days = button.dataset.days;
    const url = new URL(location.href);
    if (state.days) url.searchParams.set("days", state.days);
    else url.searchParams.set("days", "all");
    history.replaceState(null, "", url);
    load();
  });
}

// Short sessions (judged for under a minute): listed and marked, but left out of the
// figures and the chart unless the person asks for them (the server draws the line).
const shortToggle = $("include-short");
shortToggle.addEventListener("change", () => {
  state.includeShort = shortToggle.checked;
  const url = new URL(location.href);
  if (state.includeShort) url.searchParams.set("include_short", "1");
  else url.searchParams.delete("include_short");
  history.replaceState(null, "", url);
  load();
});

/** Whether `s` is a short session by the server's line (`stats.short_session_ms`). */
function isShort(s) {
  const line = state.data ? state.data.stats.short_session_ms : 60_000;
  return s.status !== "running" && s.totals.focused_ms + s.totals.unfocused_ms < line;
}

function syncRangeButtons() {
  for (const b of rangeButtons) b.setAttribute("aria-pressed", String(b.dataset.days === state.days));
  const label = state.days ? `the last ${state.days} days` : "all time";
  $("range-text").textContent = `Are you improving? Focus over ${label}.`;
}

async function load() {
  syncRangeButtons();
  const search = new URLSearchParams();
  if (state.days) search.set("days", state.days);
  if (state.includeShort) search.set("include_short", "1");
  const query = search.size ? `?${search}` : "";
  let data;
  try {
    data = await api(`/api/sessions${query}`);
  } catch (e) {
    notify("Could not load your history", e.message, { action: load });
    return;
  }
  clearNotice();
  state.data = data;
  renderStats(data);
  renderChart(measured(data.sessions), openDetail);
  renderFatigueCharts(measured(data.sessions), openDetail);
  renderTable(data.sessions);
}

// ---------------------------------------------------------------------------------------
// Figures.

/** The finished sessions the figures count, oldest first (short ones only when asked). */
function measured(sessions) {
  return sessions
    .filter((s) => s.status !== "running" && s.totals.focused_ms + s.totals.unfocused_ms > 0)
    .filter((s) => state.includeShort || !isShort(s))
    .sort((a, b) => a.started_at_ms - b.started_at_ms);
}

function renderStats(data) {
  const { stats } = data;
  $("kpi-average").textContent = formatPercent(stats.average_focus_percent);
  $("kpi-focused").textContent = stats.total_focused_ms ? formatDuration(stats.total_focused_ms) : "–";
  $("kpi-sessions").textContent =
    stats.sessions === 0 ? "no finished sessions in this range"
      : stats.sessions === 1 ? "over 1 finished session"
      : `over ${stats.sessions} finished sessions`;
  const short = stats.short_sessions_left_out;
  shortToggle.checked = state.includeShort;
  $("short-note").textContent = state.includeShort
    ? "Sessions judged for under a minute are counted in these figures."
    : short === 0
      ? "Sessions judged for under a minute would be left out of these figures (a few seconds say little about your focus)."
      : `${short === 1 ? "1 session" : `${short} sessions`} judged for under a minute ${short === 1 ? "is" : "are"} listed below but left out of these figures (a few seconds say little about your focus).`;
  const best = stats.best_session;
  if (best) {
    $("kpi-best").textContent = formatPercent(best.totals.focus_percent);
    $("kpi-best-note").textContent =
      `${formatDateTime(best.started_at_ms)}, ${formatDuration(best.totals.total_ms)}`;
  } else {
    $("kpi-best").textContent = "–";
    $("kpi-best-note").textContent = "Sessions of at least a minute count.";
  }
  const trend = trendOf(measured(data.sessions));
  const note = $("kpi-trend");
  note.className = "kpi-note";
  if (trend == null) {
    note.textContent = "After 4 sessions, this says whether you are improving.";
  } else if (Math.abs(trend) < 3) {
    note.textContent = "Steady: about the same as before.";
  } else if (trend > 0) {
    note.textContent = `Improving: up ${Math.round(trend)} points on your earlier sessions.`;
    note.classList.add("trend-up");
  } else {
    note.textContent = `Slipping: down ${Math.round(-trend)} points on your earlier sessions.`;
    note.classList.add("trend-down");
  }
}

/** Mean focus of the newer half minus the older half, in percentage points. */
function trendOf(sessions) {
  if (sessions.length < 4) return null;
  const half = Math.floor(sessions.length / 2);
  const mean = (list) => list.reduce((sum, s) => sum + s.totals.focus_percent, 0) / list.length;
  return mean(sessions.slice(sessions.length - half)) - mean(sessions.slice(0, half));
}

// ---------------------------------------------------------------------------------------
// The table.

function percentClass(p) {
  return p >= 75 ? "pct-good" : p >= 50 ? "pct-mid" : "pct-low";
}

function renderTable(sessions) {
  const body = $("sessions-body");
  body.replaceChildren();
  show($("empty"), sessions.length === 0);
  for (const s of sessions) {
    const running = s.status === "running";
    const short = isShort(s);
    const row = el("tr", { "data-session-id": s.id, class: short ? "is-short" : "" },
      el("td", {}, formatDateTime(s.started_at_ms),
        ...(short ? [" ", el("span", { class: "pill short-mark", title: "Judged for under a minute: left out of the figures unless included", text: "Short" })] : []),
        // The profile it was judged with, by name (the detail says all of it).
        ...(s.profile ? [el("span", { class: "profile-mark muted small", title: profileUsedText(s.profile), text: s.profile.name })] : [])),
      el("td", { class: "num", text: formatDuration(s.planned_duration_s * 1000) }),
      el("td", { class: "num", text: formatDuration(s.totals.total_ms) }),
      el("td", { class: `num ${percentClass(s.totals.focus_percent)}`, text: s.totals.total_ms ? formatPercent(s.totals.focus_percent) : "–" }),
      el("td", { class: "num", text: String(s.totals.breaks) }),
      el("td", { class: "num fatigue-cell", text: fatigueText(s.totals) }),
      el("td", { text: running ? "–" : s.ended_early ? "Yes" : "No" }),
      el("td", { class: `status-${s.status}`, text: statusText(s.status) }),
      el("td", { class: "deliveries-cell", text: deliveriesText(s.deliveries) }),
      el("td", { class: "actions-cell" },
        el("button", { type: "button", class: "btn small", text: "Details", "aria-label": `Details of the session of ${formatDateTime(s.started_at_ms)}`, onclick: () => openDetail(s.id) }),
        el("button", { type: "button", class: "btn small danger", text: "Delete", "aria-label": `Delete the session of ${formatDateTime(s.started_at_ms)}`, onclick: () => deleteSession(s) }),
      ),
    );
    body.append(row);
  }
}

/** "14/min · 1.8%", or "–" when not measured (eyes in view under 10 s). */
function fatigueText(t) {
  if (t.blink_rate_per_min == null) return "–";
  return `${formatBlinkRate(t.blink_rate_per_min)} · ${formatPerclos(t.perclos_percent)}`;
}

function statusText(status) {
  return { running: "Running", completed: "Completed", interrupted: "Interrupted" }[status] || status;
}

// ---------------------------------------------------------------------------------------
// A session's detail and timeline.

async function openDetail(id) {
  let s;
  try {
    s = await api(`/api/sessions/${encodeURIComponent(id)}`);
  } catch (e) {
    notify("Could not open the session", e.message, { action: () => openDetail(id) });
    return;
  }
  state.detailId = s.id;
  $("detail-title").textContent = `Session of ${formatDateTime(s.started_at_ms)}`;
  $("detail-subtitle").textContent =
    `Planned ${formatDuration(s.planned_duration_s * 1000)}, alert after ${s.alert_threshold_s} s. ${statusText(s.status)}` +
    (s.status !== "running" ? (s.ended_early ? ", ended early." : ", ran to the planned end.") : ".");
  $("detail-profile").textContent = profileUsedText(s.profile);
  const t = s.totals;
  const stats = $("detail-stats");
  stats.replaceChildren(
    stat("Total time", formatDuration(t.total_ms)),
    stat("Focused", formatDuration(t.focused_ms)),
    stat("Unfocused", formatDuration(t.unfocused_ms)),
    // A part of the focused time; none for sessions without zones (or from before they
    // were counted).
    ...(t.zone_time && t.zone_time.length
      ? [stat("Of the focused time, on your zones", zoneTimeText(t.zone_time), "wide")] : []),
    stat("Breaks", String(t.breaks)),
    stat("Focus", formatPercent(t.focus_percent)),
    stat("Longest focused stretch", formatDuration(t.longest_focus_ms)),
    // Neither focused nor unfocused: the parts add up to the total.
    stat("Starting (no verdict yet)", formatDuration(t.starting_ms || 0)),
    stat("Paused", formatDuration(t.paused_ms || 0)),
    ...(t.offline_ms > 0 ? [stat("Server offline", formatDuration(t.offline_ms))] : []),
    // Over the time the eyes were in view (docs/api.md); not measured under 10 s of it.
    stat("Blink rate", t.blink_rate_per_min == null ? "Not measured"
      : `${formatBlinkRate(t.blink_rate_per_min)} (${t.blinks === 1 ? "1 blink" : `${t.blinks} blinks`})`),
    stat("Eyes closed (PERCLOS)", t.perclos_percent == null ? "Not measured" : formatPerclos(t.perclos_percent)),
  );
  if (s.status !== "running") stats.append(stat("Why it ended", `${endReasonText(s.end_reason)}.`, "wide"));
  // A session a server restart cut off before its planned end goes on from the live page.
  const cont = $("detail-continue");
  cont.href = `/?continue=${encodeURIComponent(s.id)}`;
  show(cont, Boolean(s.resumable));
  // Seconds matter in a session shorter than an hour.
  const precise = (s.totals.total_ms || 0) < 3_600_000;
  renderTimeline(s, precise);
  renderDrifts(s.events, precise);
  deliveries.watch(s.id, s);
  const card = $("detail-card");
  show(card);
  card.focus();
  card.scrollIntoView({ behavior: "smooth", block: "start" });
}

/** Brings the table's row of this session up to date (its summary column). */
function updateRow(s) {
  const listed = state.data && state.data.sessions.find((x) => x.id === s.id);
  if (!listed) return;
  listed.deliveries = s.deliveries;
  renderTable(state.data.sessions);
}

function stat(label, value, cls) {
  return el("div", cls ? { class: cls } : {}, el("dt", { text: label }), el("dd", { text: value }));
}

function renderDrifts(events, precise) {
  const body = $("detail-events");
  body.replaceChildren();
  const breaks = events.filter((e) => e.kind === "break");
  // A stretch under the 500 ms debounce can only be one a pause, a resume or the end cut
  // short (docs/api.md): not a time the person drifted, and it would read "0 s".
  const drifts = events.filter((e) => e.kind === "unfocused" && e.duration_ms >= DEBOUNCE_MS);
  if (drifts.length === 0) {
    body.append(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "None: focused throughout." })));
    return;
  }
  for (const e of drifts) {
    const inBreak = breaks.some((b) => b.start_ms <= e.start_ms && e.end_ms <= b.end_ms);
    body.append(el("tr", {},
      el("td", { text: formatTime(e.start_ms, precise) }),
      el("td", { text: formatTime(e.end_ms, precise) }),
      el("td", { class: "num", text: formatDuration(e.duration_ms) }),
      el("td", { text: reasonText(e.reason) }),
      el("td", { text: inBreak ? "Yes" : "No" }),
    ));
  }
}

$("detail-close").addEventListener("click", () => {
  show($("detail-card"), false);
  deliveries.stop();
  state.detailId = null;
});

$("detail-delete").addEventListener("click", () => {
  const s = state.data && state.data.sessions.find((x) => x.id === state.detailId);
  deleteSession(s || { id: state.detailId, started_at_ms: null });
});

async function deleteSession(s) {
  const when = s.started_at_ms ? ` of ${formatDateTime(s.started_at_ms)}` : "";
  // The browser's own dialog: keyboard and screen-reader friendly.
  if (!window.confirm(`Delete the session${when}? Its timeline goes too. This cannot be undone.`)) return;
  try {
    await api(`/api/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
  } catch (e) {
    notify("Could not delete the session", e.message, { action: () => deleteSession(s) });
    return;
  }
  if (state.detailId === s.id) {
    show($("detail-card"), false);
    state.detailId = null;
  }
  await load();
}

// ---------------------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
const daysParam = params.get("days");
state.includeShort = params.get("include_short") === "1";
if (daysParam === "all") state.days = "";
else if (daysParam === "7" || daysParam === "30") state.days = daysParam;
load().then(() => {
  const open = params.get("session");
  if (open) openDetail(open);
});
