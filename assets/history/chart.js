// The history page's pictures, drawn as SVG here (no library): the focus-percent trend chart
// (one point per finished session, oldest to newest, evenly spaced, with a moving average;
// points are keyboard-focusable and open the session), the two small fatigue charts (blink
// rate and PERCLOS per session) and a session's timeline.

import {
  $, svg, el, formatBlinkRate, formatDate, formatDateTime, formatDuration, formatPercent, formatPerclos, formatTime,
  reasonText,
} from "../common.js";

/**
 * Draws the trend chart of `sessions` (finished, oldest first) into #chart; a point's click
 * or Enter calls `open(id)`.
 */
export function renderChart(sessions, open) {
  const box = $("chart");
  box.replaceChildren();
  const { root, W, H, m, iw, ih, y } = plotFrame({
    W: 820, H: 280, m: { top: 16, right: 20, bottom: 58, left: 64 }, top: 100, ticks: [0, 25, 50, 75, 100],
    tickText: (tick) => `${tick}%`, tickGap: 8, axis: "Focus (%)", axisX: 16,
    label: { "aria-labelledby": "chart-title chart-caption" },
    title: { id: "chart-title", text: "Focus percent per session, oldest to newest" },
  });
  if (sessions.length === 0) {
    root.append(svg("text", { class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle", text: "No finished sessions in this range yet." }));
    box.append(root);
    $("chart-caption").textContent = "No finished sessions in this range.";
    return;
  }
  const n = sessions.length;
  const x = spread(n, m.left, iw);
  const points = sessions.map((s, i) => [x(i), y(s.totals.focus_percent)]);
  if (n > 1) {
    root.append(polyline("series", points));
    const avg = sessions.map((_, i) => {
      const window = sessions.slice(Math.max(0, i - 4), i + 1);
      return [x(i), y(window.reduce((sum, s) => sum + s.totals.focus_percent, 0) / window.length)];
    });
    root.append(polyline("trend", avg));
  }
  // Labels: at most 8, spread evenly from the first session to the last.
  const slots = Math.min(n, 8);
  const labelled = Array.from({ length: slots }, (_, k) => (slots === 1 ? 0 : Math.round((k * (n - 1)) / (slots - 1))));
  const sameDay = dateLabels(root, sessions, labelled, x, H - m.bottom + 20);
  root.append(svg("text", {
    class: "axis-title", x: m.left + iw / 2, y: H - 8, "text-anchor": "middle",
    text: sameDay ? "Session start (time of day)" : "Session start (date)",
  }));
  sessions.forEach((s, i) => {
    const label = `${formatDateTime(s.started_at_ms)}: ${formatPercent(s.totals.focus_percent)} focused over ${formatDuration(s.totals.total_ms)}. Open details.`;
    root.append(sessionPoint(points[i], 5.5, label, () => open(s.id)));
  });
  box.append(root);
  const first = sessions[0];
  const last = sessions[n - 1];
  $("chart-caption").textContent =
    `${n} finished session${n === 1 ? "" : "s"} from ${formatDateTime(first.started_at_ms)} to ${formatDateTime(last.started_at_ms)}; ` +
    `the latest was ${formatPercent(last.totals.focus_percent)} focused.`;
}

/**
 * Draws the two small fatigue charts, blink rate (#chart-blinks) and PERCLOS
 * (#chart-perclos), of the `sessions` (finished, oldest first) that have the figures (their
 * eyes were in view for 10 s or more); a point opens the session like the focus chart's.
 */
export function renderFatigueCharts(sessions, open) {
  const measured = sessions.filter((s) => s.totals.blink_rate_per_min != null && s.totals.perclos_percent != null);
  smallChart($("chart-blinks"), measured, open, {
    title: "Blinks a minute per session, oldest to newest", axis: "Blinks / min",
    value: (s) => s.totals.blink_rate_per_min, format: formatBlinkRate, least: 20,
  });
  smallChart($("chart-perclos"), measured, open, {
    title: "PERCLOS per session, oldest to newest", axis: "PERCLOS (%)",
    value: (s) => s.totals.perclos_percent, format: formatPerclos, least: 10,
  });
  const left = sessions.length - measured.length;
  $("fatigue-caption").textContent = measured.length === 0
    ? "No session in this range had your eyes in view long enough (10 s) to measure."
    : `${measured.length} session${measured.length === 1 ? "" : "s"}` +
      (left > 0 ? `; ${left} without the figures (eyes in view under 10 s, or from before they were measured).` : ".");
}

/**
 * One small chart of `value(s)` per session into `box`: a line through a point per session,
 * evenly spaced; the y axis from 0 to at least `least`; x labels at the first and the last
 * session (once, if they read the same).
 */
function smallChart(box, sessions, open, { title, axis, value, format, least }) {
  box.replaceChildren();
  const n = sessions.length;
  const top = niceCeiling(Math.max(least, ...sessions.map(value)));
  const { root, H, m, iw, ih, y } = plotFrame({
    W: 400, H: 170, m: { top: 12, right: 14, bottom: 34, left: 52 }, top, ticks: [0, top / 2, top],
    tickText: String, tickGap: 6, axis, axisX: 13, label: { "aria-label": title }, title: { text: title },
  });
  if (n === 0) {
    root.append(svg("text", { class: "empty", x: m.left + iw / 2, y: m.top + ih / 2, "text-anchor": "middle", text: "Not measured yet" }));
    box.append(root);
    return;
  }
  const x = spread(n, m.left, iw);
  const points = sessions.map((s, i) => [x(i), y(value(s))]);
  if (n > 1) root.append(polyline("series", points));
  dateLabels(root, sessions, n === 1 ? [0] : [0, n - 1], x, H - m.bottom + 18);
  sessions.forEach((s, i) => {
    const text = `${formatDateTime(s.started_at_ms)}: ${format(value(s))}. Open details.`;
    root.append(sessionPoint(points[i], 4.5, text, () => open(s.id)));
  });
  box.append(root);
}

/**
 * A chart's empty frame, `W` x `H` with margins `m`: the SVG element (`label`: its ARIA
 * naming, `title`: its <title>'s attributes), a grid line and a label (`tickText`, `tickGap`
 * left of the plot) at each of `ticks`, and the y axis title `axis` turned upright at `axisX`.
 * `y(v)` places a value from 0 (bottom) to `top` (values above it sit on the top line).
 */
function plotFrame({ W, H, m, top, ticks, tickText, tickGap, axis, axisX, label, title }) {
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", ...label });
  root.append(svg("title", title));
  const y = (v) => m.top + ih - (Math.min(v, top) / top) * ih;
  for (const tick of ticks) {
    root.append(
      svg("line", { class: "grid-line", x1: m.left, x2: W - m.right, y1: y(tick), y2: y(tick) }),
      svg("text", { class: "axis-label", x: m.left - tickGap, y: y(tick) + 4, "text-anchor": "end", text: tickText(tick) }),
    );
  }
  root.append(svg("text", {
    class: "axis-title", x: 0, y: 0, "text-anchor": "middle",
    transform: `translate(${axisX} ${m.top + ih / 2}) rotate(-90)`, text: axis,
  }));
  return { root, W, H, m, iw, ih, y };
}

/** x of the `i`th of `n` points spread evenly over the plot's width (one point: its middle). */
function spread(n, left, iw) {
  return (i) => (n === 1 ? left + iw / 2 : left + (i / (n - 1)) * iw);
}

function polyline(cls, points) {
  return svg("polyline", { class: cls, points: points.map((p) => p.join(",")).join(" ") });
}

/**
 * Writes the x labels of the sessions at `indices` at height `at`: times of day when all the
 * sessions fall within a day, dates otherwise (returned: true for times of day). A label that
 * would repeat an earlier one's text (two sessions in the same minute or day) is left out, so
 * each label names one place on the axis; the outermost hug the plot's edges so they are not
 * clipped.
 */
function dateLabels(root, sessions, indices, x, at) {
  const n = sessions.length;
  const first = sessions[0].started_at_ms;
  const last = sessions[n - 1].started_at_ms;
  const sameDay = last - first < 86_400_000 && formatDate(first) === formatDate(last);
  const written = new Set();
  for (const i of indices) {
    const text = sameDay ? formatTime(sessions[i].started_at_ms) : formatDate(sessions[i].started_at_ms);
    if (written.has(text)) continue;
    written.add(text);
    root.append(svg("text", {
      class: "axis-label x-label", x: x(i), y: at,
      "text-anchor": n > 1 && i === 0 ? "start" : n > 1 && i === n - 1 ? "end" : "middle",
      text,
    }));
  }
  return sameDay;
}

/** The smallest of 10, 20, 30, 40, 60, 80, 100, ... at or above `v`. */
function niceCeiling(v) {
  for (const step of [10, 20, 30, 40, 60, 80, 100]) if (v <= step) return step;
  return Math.ceil(v / 50) * 50;
}

/** Draws session `s`'s stretches and breaks into #timeline; `precise`: times with seconds. */
export function renderTimeline(s, precise) {
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
    const [cls, what] = stretchLook(e);
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

/** A timeline stretch's CSS class and its name in words. */
function stretchLook(e) {
  switch (e.kind) {
    case "focused": return ["focused", "Focused"];
    case "starting": return ["starting", "Starting (no verdict yet)"];
    case "paused": return ["paused", "Paused"];
    case "offline": return ["offline", "Server offline"];
    default: return [e.reason || "unfocused", reasonText(e.reason)];
  }
}

function timelineLabel(s, stretches, breaks) {
  const unfocused = stretches.filter((e) => e.kind === "unfocused").length;
  return `Timeline: ${stretches.length} stretches, ${unfocused} of them unfocused, and ${breaks.length} break${breaks.length === 1 ? "" : "s"}. The table below lists the unfocused stretches.`;
}

/** A session's point on a chart: a circle that opens the session on a click, Enter or Space,
 * named `label` for screen readers and as its tooltip. */
function sessionPoint([cx, cy], r, label, onOpen) {
  return svg("circle", {
    class: "point", cx, cy, r, tabindex: 0, role: "button",
    "aria-label": label,
    onclick: onOpen,
    onkeydown: (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        onOpen();
      }
    },
  }, svg("title", { text: label }));
}
