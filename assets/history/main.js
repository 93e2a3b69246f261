// The history page: range filter, figures, the session table, a session's details (its
// timeline, drifts and summary status), delete, and CSV export. The SVG pictures are drawn by
// chart.js.

import {
  $, api, el, show, formatDateTime, formatDuration, formatPercent, formatTime, reasonText,
} from "../common.js";
import { DeliveryWatch, deliveriesSettled, deliveriesText } from "../deliveries.js";
import { clearNotice, notify } from "../notice.js";
import { renderChart, renderTimeline } from "./chart.js";

const state = { days: "30", data: null, detailId: null };

/** The open session's summary status, kept current while a channel is pending. */
const deliveries = new DeliveryWatch({
  box: "detail-deliveries",
  list: "detail-delivery-list",
  note: "detail-delivery-note",
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

function syncRangeButtons() {
  for (const b of rangeButtons) b.setAttribute("aria-pressed", String(b.dataset.days === state.days));
  const label = state.days ? `the last ${state.days} days` : "all time";
  $("range-text").textContent = `Are you improving? Focus over ${label}.`;
}

async function load() {
  syncRangeButtons();
  const query = state.days ? `?days=${encodeURIComponent(state.days)}` : "";
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
  renderTable(data.sessions);
}

// ---------------------------------------------------------------------------------------
// Figures.

function measured(sessions) {
  return sessions
    .filter((s) => s.status !== "running" && s.totals.total_ms > 0)
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
    const row = el("tr", { "data-session-id": s.id },
      el("td", { text: formatDateTime(s.started_at_ms) }),
      el("td", { class: "num", text: formatDuration(s.planned_duration_s * 1000) }),
      el("td", { class: "num", text: formatDuration(s.totals.total_ms) }),
      el("td", { class: `num ${percentClass(s.totals.focus_percent)}`, text: s.totals.total_ms ? formatPercent(s.totals.focus_percent) : "–" }),
      el("td", { class: "num", text: String(s.totals.breaks) }),
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
  const t = s.totals;
  const stats = $("detail-stats");
  stats.replaceChildren(
    stat("Total time", formatDuration(t.total_ms)),
    stat("Focused", formatDuration(t.focused_ms)),
    stat("Unfocused", formatDuration(t.unfocused_ms)),
    stat("Breaks", String(t.breaks)),
    stat("Focus", formatPercent(t.focus_percent)),
    stat("Longest focused stretch", formatDuration(t.longest_focus_ms)),
  );
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

function stat(label, value) {
  return el("div", {}, el("dt", { text: label }), el("dd", { text: value }));
}

function renderDrifts(events, precise) {
  const body = $("detail-events");
  body.replaceChildren();
  const breaks = events.filter((e) => e.kind === "break");
  const drifts = events.filter((e) => e.kind === "unfocused");
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
if (daysParam === "all") state.days = "";
else if (daysParam === "7" || daysParam === "30") state.days = daysParam;
load().then(() => {
  const open = params.get("session");
  if (open) openDetail(open);
});
