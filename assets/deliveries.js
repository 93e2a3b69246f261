// The summary by email and SMS, as both pages show it: the box's markup (a heading, one item
// per channel: sending, waiting to retry with the error, sent, or not sent with the reason
// and "Send again"; a note), and the one poller that keeps it current while a channel is
// still pending. The pages hold only an empty, hidden box where it goes.
//
// The poller's rule (the live page's former rule, now the history page's too): ask every
// second while any channel is pending, for at most 90 s from the start of the watch (the
// server's retries take about 30 s); if the server cannot be asked, say so and try again
// in 3 s; stop at once on a 404 (the session was deleted). When the time is up with a
// channel still pending, the note says it goes on in the background. The history page used
// to poll every 1.5 s with no end and to stop at the first failed request; a bounded watch
// that survives a blip is the better of the two.
//
// Channel names are the server's (`channel_title` "Email"/"SMS", `channel_name` inside a
// sentence), so the pages and the emails, logs and errors write them the same way.

import { $, api, ApiError, el, formatTime, show } from "./common.js";

const POLL_MS = 1000;
const RETRY_MS = 3000;
const WATCH_MS = 90_000;

/** True when no summary is still pending (every channel sent or failed). */
export function deliveriesSettled(deliveries) {
  return (deliveries || []).every((d) => d.status !== "pending");
}

/** "Email sent, SMS failed": one line for a table cell; "–" when none was asked for. */
export function deliveriesText(deliveries) {
  if (!deliveries || deliveries.length === 0) return "–";
  const words = { pending: "pending", sent: "sent", failed: "failed" };
  return deliveries
    .map((d) => `${d.channel_title} ${words[d.status] || d.status}`)
    .join(", ");
}

/**
 * The summaries of a session, one item per channel: sending, waiting to retry (with the
 * error), sent, or not sent with the reason and a "Send again" button that calls
 * `onRetry(delivery, button)`.
 */
export function deliveryList(deliveries, onRetry) {
  const list = el("ul", { class: "deliveries" });
  for (const d of deliveries || []) {
    let status;
    let kind;
    let detail = null;
    if (d.status === "sent") {
      status = "sent";
      kind = "ok";
    } else if (d.status === "failed") {
      status = "not sent";
      kind = "bad";
      detail = d.last_error;
    } else if (!d.attempts) {
      status = "sending…";
      kind = "pending";
    } else {
      const when = d.next_attempt_at_ms ? ` at ${formatTime(d.next_attempt_at_ms, true)}` : "";
      status = `not sent yet, trying again${when}`;
      kind = "warn";
      detail = d.last_error;
    }
    list.append(el("li", { class: `delivery ${kind}`, "data-channel": d.channel, "data-status": d.status },
      el("span", { class: "delivery-line" },
        `${d.channel_title} to `, el("span", { class: "destination", text: d.destination }), ": ",
        el("strong", { class: "delivery-state", text: status })),
      detail ? el("span", { class: "delivery-error", text: detail }) : null,
      d.status === "failed" && d.retry_url && onRetry
        ? el("button", {
          type: "button", class: "btn small", text: "Send again",
          "aria-label": `Send the ${d.channel_name} summary again`,
          onclick: (event) => onRetry(d, event.currentTarget),
        })
        : null,
    ));
  }
  return list;
}

/**
 * Keeps one session's summary status current in a box of the page. `box`: the id of an empty
 * element where the status goes (hidden until a session asked for a summary); the watch writes
 * its markup, a heading, the list of items (id `${box}-list`) and a note for problems in words,
 * so both pages show it alike. `later`: the note when the watch ends with a channel still
 * pending. `onUpdate(session)`: after each answer.
 */
export class DeliveryWatch {
  constructor({ box, later, onUpdate = null }) {
    this.box = $(box);
    this.list = el("div", { id: `${box}-list` });
    this.note = el("p", { class: "muted small" });
    this.box.classList.add("delivery-status");
    this.box.setAttribute("aria-live", "polite");
    this.box.replaceChildren(el("h3", { text: "Summary by email and SMS" }), this.list, this.note);
    this.later = later;
    this.onUpdate = onUpdate;
    this.state = { id: null, until: 0, timer: null };
  }

  /** Watches session `id`; `session`, when the caller has it already, is shown at once. */
  watch(id, session = null) {
    this.stop();
    if (this.state.id !== id) {
      // Another session's summary: start from an empty box.
      show(this.box, false);
      this.list.replaceChildren();
    }
    this.state.id = id;
    this.state.until = performance.now() + WATCH_MS;
    this.note.textContent = "";
    if (session) this.#render(session);
    else this.#poll(this.state.until);
  }

  stop() {
    clearTimeout(this.state.timer);
    this.state.until = 0;
  }

  async #poll(watch) {
    const { id } = this.state;
    let session;
    try {
      session = await api(`/api/sessions/${encodeURIComponent(id)}`);
    } catch (e) {
      if (this.state.until !== watch) return;
      if (e instanceof ApiError && e.status === 404) return;
      this.note.textContent = `Could not ask the server how the summary is doing: ${e.message}`;
      this.state.timer = setTimeout(() => this.#poll(watch), RETRY_MS);
      return;
    }
    if (this.state.until !== watch) return;
    this.#render(session);
  }

  #render(session) {
    const deliveries = session.deliveries || [];
    show(this.box, deliveries.length > 0);
    this.list.replaceChildren(deliveryList(deliveries, (d, button) => this.#resend(d, button)));
    if (this.onUpdate) this.onUpdate(session);
    const { until } = this.state;
    if (deliveriesSettled(deliveries)) {
      this.note.textContent = "";
      this.state.until = 0;
    } else if (performance.now() < until) {
      this.note.textContent = "";
      this.state.timer = setTimeout(() => this.#poll(until), POLL_MS);
    } else {
      this.note.textContent = this.later;
      this.state.until = 0;
    }
  }

  /** Asks the server to send a failed summary again, then watches it anew. */
  async #resend(delivery, button) {
    const id = this.state.id;
    button.disabled = true;
    button.textContent = "Sending…";
    try {
      await api(delivery.retry_url, { method: "POST" });
    } catch (e) {
      button.disabled = false;
      button.textContent = "Send again";
      this.note.textContent = `Could not send it again: ${e.message}`;
      return;
    }
    if (this.state.id === id) this.watch(id);
  }
}
