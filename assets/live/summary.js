// The summary card at the end of a session: the verdict in a sentence, the figures as the
// server computed them, and how the email / SMS summary is doing.

import { $, formatDateTime, formatDuration, formatPercent, show } from "../common.js";
import { DeliveryWatch } from "../deliveries.js";

const card = $("summary-card");

const deliveries = new DeliveryWatch({
  box: "summary-delivery",
  list: "summary-delivery-list",
  note: "summary-delivery-note",
  later: "Still trying in the background; the history page shows how it ends.",
});

/** Shows `summary` (as `POST /api/sessions/{id}/end` gives it) for `session`. */
export function showSummary(summary, session) {
  renderSummary(summary, session);
  show(card);
  card.focus();
}

export function hideSummary() {
  deliveries.stop();
  show(card, false);
}

function renderSummary(s, session) {
  const percent = s.focus_percent || 0;
  $("summary-when").textContent = session ? `Started ${formatDateTime(session.started_at_ms)}` : "";
  const badge = $("summary-badge");
  if (s.status === "interrupted") {
    badge.textContent = "Interrupted";
    badge.className = "pill warn";
  } else if (s.ended_early) {
    badge.textContent = "Ended early";
    badge.className = "pill warn";
  } else {
    badge.textContent = "Completed";
    badge.className = "pill ok";
  }
  const breaks = s.breaks_count === 1 ? "1 break" : `${s.breaks_count} breaks`;
  const verdict = percent >= 85 ? "Excellent focus." : percent >= 65 ? "Good focus." : percent >= 40 ? "Mixed focus." : "A distracted session.";
  $("summary-headline").textContent =
    `${verdict} You were focused ${formatPercent(percent)} of ${formatDuration(s.total_seconds * 1000)}, ` +
    `with ${breaks}; your longest focused stretch was ${formatDuration(s.longest_focus_seconds * 1000)}.`;
  $("summary-meter").style.width = `${Math.min(100, Math.max(0, percent))}%`;
  $("sum-total").textContent = formatDuration(s.total_seconds * 1000);
  $("sum-focused").textContent = formatDuration(s.focused_seconds * 1000);
  $("sum-unfocused").textContent = formatDuration(s.unfocused_seconds * 1000);
  $("sum-breaks").textContent = String(s.breaks_count);
  $("sum-percent").textContent = formatPercent(percent);
  $("sum-longest").textContent = formatDuration(s.longest_focus_seconds * 1000);
  $("sum-early").textContent = s.ended_early ? "Yes" : "No";
  $("summary-history").href = `/history?session=${encodeURIComponent(s.id)}`;
  deliveries.watch(s.id);
}
