// Shared helpers for the pages: API calls with errors in words, formatting, and DOM
// building that only ever puts data in with textContent (never innerHTML).

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

const dateTime = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});
const dateOnly = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const timeSeconds = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** Unix ms to the user's local date and time. */
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

/** The channels' names as the pages write them. */
export const CHANNEL_NAMES = { email: "Email", sms: "SMS" };

/** True when no summary is still pending (every channel sent or failed). */
export function deliveriesSettled(deliveries) {
  return (deliveries || []).every((d) => d.status !== "pending");
}

/** "Email sent, SMS failed": one line for a table cell; "–" when none was asked for. */
export function deliveriesText(deliveries) {
  if (!deliveries || deliveries.length === 0) return "–";
  const words = { pending: "pending", sent: "sent", failed: "failed" };
  return deliveries
    .map((d) => `${CHANNEL_NAMES[d.channel] || d.channel} ${words[d.status] || d.status}`)
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
    const name = CHANNEL_NAMES[d.channel] || d.channel;
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
        `${name} to `, el("span", { class: "destination", text: d.destination }), ": ",
        el("strong", { class: "delivery-state", text: status })),
      detail ? el("span", { class: "delivery-error", text: detail }) : null,
      d.status === "failed" && d.retry_url && onRetry
        ? el("button", {
          type: "button", class: "btn small", text: "Send again",
          "aria-label": `Send the ${name === "SMS" ? "SMS" : "email"} summary again`,
          onclick: (event) => onRetry(d, event.currentTarget),
        })
        : null,
    ));
  }
  return list;
}

/** Shows or hides an element with the `hidden` attribute. */
/**
 * Asks the server to send a failed summary again. On failure the button comes back and
 * `note` says why. Resolves to whether the delivery was queued again.
 */
export async function requestResend(delivery, button, note) {
  button.disabled = true;
  button.textContent = "Sending…";
  try {
    await api(delivery.retry_url, { method: "POST" });
    return true;
  } catch (e) {
    button.disabled = false;
    button.textContent = "Send again";
    note.textContent = `Could not send it again: ${e.message}`;
    return false;
  }
}

export function show(node, visible = true) {
  node.hidden = !visible;
}

export function $(id) {
  return document.getElementById(id);
}
