// The summary card at the end of a session: the verdict in a sentence, the figures as the
// server computed them, and how the email / SMS summary is doing.

import {
  $, endReasonText, formatBlinkRate, formatDateTime, formatDuration, formatPercent, formatPerclos,
  profileUsedText, show, zoneTimeText,
} from "../common.js";
import { DeliveryWatch } from "../deliveries.js";

const card = $("summary-card");

const deliveries = new DeliveryWatch({
  box: "summary-delivery",
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
  const judged = (s.focused_seconds || 0) + (s.unfocused_seconds || 0);
  const breaks = s.breaks_count === 1 ? "1 break" : `${s.breaks_count} breaks`;
  const verdict = percent >= 85 ? "Excellent focus." : percent >= 65 ? "Good focus." : percent >= 40 ? "Mixed focus." : "A distracted session.";
  $("summary-headline").textContent =
    // The percentage is over the judged time only (focused + unfocused), so say so.
    `${verdict} You were focused ${formatPercent(percent)} of the ${formatDuration(judged * 1000)} judged, ` +
    `with ${breaks}; your longest focused stretch was ${formatDuration(s.longest_focus_seconds * 1000)}.`;
  $("summary-profile").textContent = profileUsedText(s.profile);
  $("summary-meter").style.width = `${Math.min(100, Math.max(0, percent))}%`;
  $("sum-total").textContent = formatDuration(s.total_seconds * 1000);
  $("sum-focused").textContent = formatDuration(s.focused_seconds * 1000);
  $("sum-unfocused").textContent = formatDuration(s.unfocused_seconds * 1000);
  // A part of the focused time: the profile's extra zones (none without a profile).
  const zones = zoneTimeText(s.zone_time);
  $("sum-zones").textContent = zones;
  show($("sum-zones-row"), zones !== "");
  $("sum-breaks").textContent = String(s.breaks_count);
  $("sum-percent").textContent = formatPercent(percent);
  $("sum-longest").textContent = formatDuration(s.longest_focus_seconds * 1000);
  // Over the time the eyes were in view; not measured under 10 s of it.
  $("sum-blink-rate").textContent = s.blink_rate_per_min == null
    ? "Not measured"
    : `${formatBlinkRate(s.blink_rate_per_min)} (${s.blinks === 1 ? "1 blink" : `${s.blinks} blinks`})`;
  $("sum-perclos").textContent = s.perclos_percent == null ? "Not measured" : formatPerclos(s.perclos_percent);
  // Time that is neither focused nor unfocused, so that the parts add up to the total.
  $("sum-starting").textContent = formatDuration((s.starting_seconds || 0) * 1000);
  $("sum-paused").textContent = formatDuration((s.paused_seconds || 0) * 1000);
  $("sum-offline").textContent = formatDuration((s.offline_seconds || 0) * 1000);
  show($("sum-offline-row"), (s.offline_seconds || 0) > 0);
  $("sum-early").textContent = s.ended_early ? "Yes" : "No";
  $("sum-reason").textContent = `${endReasonText(s.end_reason)}.`;
  $("summary-history").href = `/history?session=${encodeURIComponent(s.id)}`;
  deliveries.watch(s.id);
}
