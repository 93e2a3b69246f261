// The history page: range filter, figures, the focus-percent trend chart (SVG drawn here, no
// library), the session table, a session's timeline, delete, and CSV export.

import {
  $, api, el, svg, show, formatDateTime, formatDate, formatTime, formatDuration,
  formatPercent, reasonText, deliveryList, deliveriesSettled, deliveriesText, requestResend,
} from "./common.js";

const DELIVERY_POLL_MS = 1500; // while a shown summary is still being sent

const state = { days: "30", data: null, detailId: null, deliveryTimer: null };

// ---------------------------------------------------------------------------------------
// Notices.

let noticeAction = null;
function notify(title, text, action) {
  $("notice-title").textContent = title;
  $("notice-text").textContent = text;
  noticeAction = action || null;
  show($("notice-action"), Boolean(action));
  show($("notice"));
}
$("notice-action").addEventListener("click", () => {
  show($("notice"), false);
  if (noticeAction) noticeAction();
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
    notify("Could not load your history", e.message, load);
    return;
  }
  show($("notice"), false);
  state.data = data;
  renderStats(data);
  renderChart(data.sessions);
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
// The trend chart: one point per finished session, oldest to newest, evenly spaced, with a
// moving average. Points are keyboard-focusable and open the session.

function renderChart(allSessions) {
  const sessions = measured(allSessions);
  const box = $("chart");
  box.replaceChildren();
  const W = 820;
  const H = 280;
  const m = { top: 16, right: 20, bottom: 42, left: 48 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-labelledby": "chart-title chart-caption",
  });
  root.append(svg("title", { id: "chart-title", text: "Focus percent per session, oldest to newest" }));
  const y = (p) => m.top + ih - (p / 100) * ih;
  for (const tick of [0, 25, 50, 75, 100]) {
    root.append(
      svg("line", { class: "grid-line", x1: m.left, x2: W - m.right, y1: y(tick), y2: y(tick) }),
      svg("text", { class: "axis-label", x: m.left - 8, y: y(tick) + 4, "text-anchor": "end", text: `${tick}%` }),
    );
  }
  if (sessions.length === 0) {
    root.append(svg("text", { class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle", text: "No finished sessions in this range yet." }));
    box.append(root);
    $("chart-caption").textContent = "No finished sessions in this range.";
    return;
  }
  const n = sessions.length;
  const x = (i) => (n === 1 ? m.left + iw / 2 : m.left + (i / (n - 1)) * iw);
  const points = sessions.map((s, i) => [x(i), y(s.totals.focus_percent)]);
  if (n > 1) {
    root.append(svg("polyline", { class: "series", points: points.map((p) => p.join(",")).join(" ") }));
    const avg = sessions.map((_, i) => {
      const window = sessions.slice(Math.max(0, i - 4), i + 1);
      return [x(i), y(window.reduce((sum, s) => sum + s.totals.focus_percent, 0) / window.length)];
    });
    root.append(svg("polyline", { class: "trend", points: avg.map((p) => p.join(",")).join(" ") }));
  }
  // Labels: at most about 8, spread evenly; times of day when all fall within a day.
  const sameDay = sessions[n - 1].started_at_ms - sessions[0].started_at_ms < 86_400_000 &&
    formatDate(sessions[0].started_at_ms) === formatDate(sessions[n - 1].started_at_ms);
  const step = Math.max(1, Math.ceil(n / 8));
  for (let i = 0; i < n; i += step) {
    const at = sessions[i].started_at_ms;
    root.append(svg("text", {
      // The outermost labels hug the plot's edges so they are not clipped.
      class: "axis-label", x: x(i), y: H - m.bottom + 20,
      "text-anchor": n > 1 && i === 0 ? "start" : n > 1 && i === n - 1 ? "end" : "middle",
      text: sameDay ? formatTime(at) : formatDate(at),
    }));
  }
  sessions.forEach((s, i) => {
    const label = `${formatDateTime(s.started_at_ms)}: ${formatPercent(s.totals.focus_percent)} focused over ${formatDuration(s.totals.total_ms)}. Open details.`;
    const point = svg("circle", {
      class: "point", cx: points[i][0], cy: points[i][1], r: 5.5, tabindex: 0, role: "button",
      "aria-label": label,
      onclick: () => openDetail(s.id),
      onkeydown: (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          openDetail(s.id);
        }
      },
    }, svg("title", { text: label }));
    root.append(point);
  });
  box.append(root);
  const first = sessions[0];
  const last = sessions[n - 1];
  $("chart-caption").textContent =
    `${n} finished session${n === 1 ? "" : "s"} from ${formatDateTime(first.started_at_ms)} to ${formatDateTime(last.started_at_ms)}; ` +
    `the latest was ${formatPercent(last.totals.focus_percent)} focused.`;
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
    notify("Could not open the session", e.message, () => openDetail(id));
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
  renderDeliveries(s);
  const card = $("detail-card");
  show(card);
  card.focus();
  card.scrollIntoView({ behavior: "smooth", block: "start" });
}

/** The summaries of the open session; polls while one is still being sent. */
function renderDeliveries(s) {
  clearTimeout(state.deliveryTimer);
  const deliveries = s.deliveries || [];
  show($("detail-deliveries"), deliveries.length > 0);
  $("detail-delivery-list").replaceChildren(deliveryList(deliveries, (d, button) => resend(s.id, d, button)));
  $("detail-delivery-note").textContent = "";
  if (!deliveriesSettled(deliveries)) {
    state.deliveryTimer = setTimeout(() => refreshDeliveries(s.id), DELIVERY_POLL_MS);
  }
}

async function refreshDeliveries(id) {
  if (state.detailId !== id) return;
  let s;
  try {
    s = await api(`/api/sessions/${encodeURIComponent(id)}`);
  } catch (e) {
    $("detail-delivery-note").textContent = `Could not ask the server how the summary is doing: ${e.message}`;
    return;
  }
  if (state.detailId !== id) return;
  renderDeliveries(s);
  if (deliveriesSettled(s.deliveries)) updateRow(s);
}

/** Brings the table's row of this session up to date (its summary column). */
function updateRow(s) {
  const listed = state.data && state.data.sessions.find((x) => x.id === s.id);
  if (!listed) return;
  listed.deliveries = s.deliveries;
  renderTable(state.data.sessions);
}

async function resend(id, delivery, button) {
  if (await requestResend(delivery, button, $("detail-delivery-note"))) {
    await refreshDeliveries(id);
  }
}

function stat(label, value) {
  return el("div", {}, el("dt", { text: label }), el("dd", { text: value }));
}

function renderTimeline(s, precise) {
  const box = $("timeline");
  box.replaceChildren();
  const stretches = s.events.filter((e) => e.kind !== "break");
  const breaks = s.events.filter((e) => e.kind === "break");
  if (stretches.length === 0) {
    box.append(el("p", { class: "muted", text: "No timeline was saved for this session (it ended before its first stretch closed)." }));
    return;
  }
  const start = Math.min(s.started_at_ms, ...stretches.map((e) => e.start_ms));
  const end = Math.max(s.ended_at_ms || 0, ...s.events.map((e) => e.end_ms));
  const span = Math.max(1, end - start);
  const W = 820;
  const left = 8;
  const iw = W - 2 * left;
  const x = (ms) => left + ((ms - start) / span) * iw;
  const root = svg("svg", { viewBox: `0 0 ${W} 92`, role: "img", "aria-label": timelineLabel(s, stretches, breaks) });
  for (const e of stretches) {
    const cls = e.kind === "focused" ? "focused" : e.reason || "unfocused";
    const what = e.kind === "focused" ? "Focused" : reasonText(e.reason);
    root.append(svg("rect", {
      class: cls, x: x(e.start_ms), y: 8, width: Math.max(0.8, x(e.end_ms) - x(e.start_ms)), height: 40,
    }, svg("title", { text: `${what}: ${formatTime(e.start_ms, precise)} to ${formatTime(e.end_ms, precise)} (${formatDuration(e.duration_ms)})` })));
  }
  for (const b of breaks) {
    root.append(svg("rect", {
      class: "break", x: x(b.start_ms), y: 54, width: Math.max(2, x(b.end_ms) - x(b.start_ms)), height: 8, rx: 3,
    }, svg("title", { text: `Break, ${reasonText(b.reason).toLowerCase()}: ${formatDuration(b.duration_ms)}` })));
  }
  const ticks = 4;
  for (let i = 0; i <= ticks; i++) {
    const ms = start + (span * i) / ticks;
    root.append(svg("text", {
      class: "axis-label", x: x(ms), y: 84, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle",
      text: formatTime(ms, precise),
    }));
  }
  box.append(root);
}

function timelineLabel(s, stretches, breaks) {
  const unfocused = stretches.filter((e) => e.kind !== "focused").length;
  return `Timeline: ${stretches.length} stretches, ${unfocused} of them unfocused, and ${breaks.length} break${breaks.length === 1 ? "" : "s"}. The table below lists the unfocused stretches.`;
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
  clearTimeout(state.deliveryTimer);
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
    notify("Could not delete the session", e.message, () => deleteSession(s));
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
