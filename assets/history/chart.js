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
  const W = 820;
  const H = 280;
  const m = { top: 16, right: 20, bottom: 58, left: 64 };
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
  // Labels: at most 8, spread evenly from the first session to the last; times of day when
  // all fall within a day. A label that would repeat an earlier one's text (two sessions in
  // the same minute or day) is left out: each label names one place on the axis.
  const sameDay = sessions[n - 1].started_at_ms - sessions[0].started_at_ms < 86_400_000 &&
    formatDate(sessions[0].started_at_ms) === formatDate(sessions[n - 1].started_at_ms);
  const slots = Math.min(n, 8);
  const labelled = new Set(Array.from({ length: slots }, (_, k) => (slots === 1 ? 0 : Math.round((k * (n - 1)) / (slots - 1)))));
  const written = new Set();
  for (const i of labelled) {
    const at = sessions[i].started_at_ms;
    const text = sameDay ? formatTime(at) : formatDate(at);
    if (written.has(text)) continue;
    written.add(text);
    root.append(svg("text", {
      // The outermost labels hug the plot's edges so they are not clipped.
      class: "axis-label x-label", x: x(i), y: H - m.bottom + 20,
      "text-anchor": n > 1 && i === 0 ? "start" : n > 1 && i === n - 1 ? "end" : "middle",
      text,
    }));
  }
  root.append(
    svg("text", {
      class: "axis-title", x: m.left + iw / 2, y: H - 8, "text-anchor": "middle",
      text: sameDay ? "Session start (time of day)" : "Session start (date)",
    }),
    svg("text", {
      class: "axis-title", x: 0, y: 0, "text-anchor": "middle",
      transform: `translate(16 ${m.top + ih / 2}) rotate(-90)`, text: "Focus (%)",
    }),
  );
  sessions.forEach((s, i) => {
    const label = `${formatDateTime(s.started_at_ms)}: ${formatPercent(s.totals.focus_percent)} focused over ${formatDuration(s.totals.total_ms)}. Open details.`;
    const point = sessionPoint(points[i], 5.5, label, () => open(s.id));
    root.append(point);
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
  const W = 400;
  const H = 170;
  const m = { top: 12, right: 14, bottom: 34, left: 52 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  root.append(svg("title", { text: title }));
  const n = sessions.length;
  const top = niceCeiling(Math.max(least, ...sessions.map(value)));
  const y = (v) => m.top + ih - (Math.min(v, top) / top) * ih;
  for (const tick of [0, top / 2, top]) {
    root.append(
      svg("line", { class: "grid-line", x1: m.left, x2: W - m.right, y1: y(tick), y2: y(tick) }),
      svg("text", { class: "axis-label", x: m.left - 6, y: y(tick) + 4, "text-anchor": "end", text: String(tick) }),
    );
  }
  root.append(svg("text", {
    class: "axis-title", x: 0, y: 0, "text-anchor": "middle",
    transform: `translate(13 ${m.top + ih / 2}) rotate(-90)`, text: axis,
  }));
  if (n === 0) {
    root.append(svg("text", { class: "empty", x: m.left + iw / 2, y: m.top + ih / 2, "text-anchor": "middle", text: "Not measured yet" }));
    box.append(root);
    return;
  }
  const x = (i) => (n === 1 ? m.left + iw / 2 : m.left + (i / (n - 1)) * iw);
  const points = sessions.map((s, i) => [x(i), y(value(s))]);
  if (n > 1) root.append(svg("polyline", { class: "series", points: points.map((p) => p.join(",")).join(" ") }));
  const first = sessions[0].started_at_ms;
  const last = sessions[n - 1].started_at_ms;
  const sameDay = last - first < 86_400_000 && formatDate(first) === formatDate(last);
  const label = (ms) => (sameDay ? formatTime(ms) : formatDate(ms));
  const labels = n === 1 ? [[0, "middle"]] : [[0, "start"], [n - 1, "end"]];
  const written = new Set();
  for (const [i, anchor] of labels) {
    const text = label(sessions[i].started_at_ms);
    if (written.has(text)) continue;
    written.add(text);
    root.append(svg("text", { class: "axis-label x-label", x: x(i), y: H - m.bottom + 18, "text-anchor": anchor, text }));
  }
  sessions.forEach((s, i) => {
    const text = `${formatDateTime(s.started_at_ms)}: ${format(value(s))}. Open details.`;
    root.append(sessionPoint(points[i], 4.5, text, () => open(s.id)));
  });
  box.append(root);
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
