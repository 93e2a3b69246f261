// The session form: the server's limits and which summary channels it can send on, the
// same checks as the server (so most mistakes are caught before a round trip), field errors
// in words, and the settings remembered in this browser (localStorage) as the default,
// the calibration profile chosen (profiles.js) among them.

import { $, el, loadSaved } from "../common.js";
import { chooseProfile, chosenProfile } from "./profiles.js";

const DEFAULTS_KEY = "focus-sentry.defaults";

/** Used until the server's own limits arrive (GET /api/config). */
const FALLBACK_LIMITS = { duration_minutes: { min: 1, max: 600 }, alert_threshold_s: { min: 0.5, max: 600 } };

const state = { config: null };

const els = {
  duration: $("duration"),
  threshold: $("threshold"),
  alertMode: $("alert-mode"),
  email: $("email"),
  sendEmail: $("send-email"),
  phone: $("phone"),
  sendSms: $("send-sms"),
  saveDefaults: $("save-defaults"),
  formError: $("form-error"),
};

/** The form's field names (as the API names them) to their inputs' ids. */
const FIELD_INPUTS = {
  duration_minutes: "duration",
  alert_threshold_s: "threshold",
  alert_mode: "alert-mode",
  email: "email",
  phone: "phone",
  send_email: "send-email",
  send_sms: "send-sms",
  profile_id: "profile",
};

/** The widest frame the server takes, in pixels. */
export function maxFrameWidth() {
  return (state.config && state.config.limits.max_frame_width) || 640;
}

/** Applies the server's configuration: limits, and which channels it can send on. */
export function applyConfig(config) {
  state.config = config;
  const { duration_minutes: d, alert_threshold_s: t } = config.limits;
  els.duration.min = d.min;
  els.duration.max = d.max;
  els.threshold.min = t.min;
  els.threshold.max = t.max;
  for (const channel of CHANNELS) setChannel(channel, serverChannel(config, channel.key));
}

/** The summary channels' places in the form. Their names are the server's (`serverChannel`). */
const CHANNELS = [
  { key: "email", checkbox: "send-email", label: "Send email summary", hint: "email-hint",
    onText: "The summary is emailed when the session ends." },
  { key: "sms", checkbox: "send-sms", label: "Send SMS summary", hint: "phone-hint",
    onText: "The summary is texted when the session ends." },
];

/** "untick “Send email summary”": the way out of a channel's problem, naming its checkbox. */
function untick(key) {
  return `untick \u201c${CHANNELS.find((c) => c.key === key).label}\u201d`;
}

/** What `GET /api/config` says of one channel: whether it is set up, the settings that keep it
 * off, its guide, and its names ("email" in a sentence, "Email" as a label: focus_types'
 * Channel, as the summaries and errors write them). */
function serverChannel(config, key) {
  return {
    configured: Boolean(config[`${key}_configured`]),
    problems: config[`${key}_problems`] || [],
    helpUrl: config[`${key}_help_url`],
    name: config[`${key}_name`],
    title: config[`${key}_title`],
  };
}

/** A channel the server cannot send on: its checkbox is off and disabled, and the hint says
 * why and links to the setup guide (served by the app). */
function setChannel(channel, { configured, problems, helpUrl, name, title }) {
  const checkbox = $(channel.checkbox);
  const hint = $(channel.hint);
  checkbox.disabled = !configured;
  $(`${channel.checkbox}-label`).classList.toggle("disabled", !configured);
  hint.replaceChildren();
  if (configured) {
    hint.textContent = channel.onText;
    return;
  }
  checkbox.checked = false;
  const why = problems.length
    ? `${title} is off: the server's settings for ${problems.join(", ")} need fixing (its start-up log says what is wrong). `
    : `${title} is not set up on this server. `;
  hint.append(
    why,
    el("a", { href: helpUrl, target: "_blank", rel: "noopener" }, `How to set up ${name}`),
    ".",
  );
}

/** Fills the form with the settings saved as the default, if any. */
export function loadDefaults() {
  const saved = loadSaved(DEFAULTS_KEY);
  if (!saved || typeof saved !== "object") return;
  if (saved.duration_minutes != null) els.duration.value = saved.duration_minutes;
  if (saved.alert_threshold_s != null) els.threshold.value = saved.alert_threshold_s;
  if (["banner", "sound", "both"].includes(saved.alert_mode)) els.alertMode.value = saved.alert_mode;
  els.email.value = saved.email || "";
  els.phone.value = saved.phone || "";
  els.sendEmail.checked = Boolean(saved.send_email);
  els.sendSms.checked = Boolean(saved.send_sms);
  // Chosen once the profile list is in (profiles.js), unless a link asks for another.
  chooseProfile(saved.profile_id ?? null);
  els.saveDefaults.checked = true;
}

/** Saves the form as the default when "Save these settings" is ticked, else forgets it. */
export function storeDefaults(form) {
  try {
    if (els.saveDefaults.checked) localStorage.setItem(DEFAULTS_KEY, JSON.stringify(form));
    else localStorage.removeItem(DEFAULTS_KEY);
  } catch {
    // Storage may be disabled (private mode); the session goes on without it.
  }
}

/** The form as the API's `POST /api/sessions` body. */
export function readForm() {
  return {
    duration_minutes: els.duration.value === "" ? null : Number(els.duration.value),
    alert_threshold_s: els.threshold.value === "" ? null : Number(els.threshold.value),
    alert_mode: els.alertMode.value,
    email: els.email.value.trim() || null,
    phone: els.phone.value.trim() || null,
    send_email: els.sendEmail.checked,
    send_sms: els.sendSms.checked,
    profile_id: chosenProfile(),
  };
}

export function clearErrors() {
  els.formError.textContent = "";
  for (const node of document.querySelectorAll(".field-error[data-field]")) node.textContent = "";
  for (const id of Object.values(FIELD_INPUTS)) $(id).removeAttribute("aria-invalid");
}

/** Shows `message` under the field's input (or under the form for another field). */
export function showFieldError(field, message) {
  const input = $(FIELD_INPUTS[field] || "");
  const slot = document.querySelector(`.field-error[data-field="${field}"]`);
  if (!input || !slot) {
    showFormError(message);
    return;
  }
  slot.textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.focus();
}

export function showFormError(message) {
  els.formError.textContent = message;
}

/** The same checks as the server: `[field, message]` for the first problem, or null. */
export function checkForm(form) {
  const config = state.config;
  const { duration_minutes: d, alert_threshold_s: t } = config ? config.limits : FALLBACK_LIMITS;
  if (form.duration_minutes == null || !Number.isFinite(form.duration_minutes) ||
      form.duration_minutes < d.min || form.duration_minutes > d.max) {
    return ["duration_minutes", `Enter a duration between ${d.min} and ${d.max} minutes.`];
  }
  if (form.alert_threshold_s == null || !Number.isFinite(form.alert_threshold_s) ||
      form.alert_threshold_s < t.min || form.alert_threshold_s > t.max) {
    return ["alert_threshold_s", `Enter a threshold between ${t.min} and ${t.max} seconds.`];
  }
  for (const { key } of CHANNELS) {
    const server = config && serverChannel(config, key);
    if (form[`send_${key}`] && server && !server.configured) {
      return [`send_${key}`, `${server.title} is not set up on this server; ${untick(key)}.`];
    }
  }
  if (form.send_email && !form.email) {
    return ["email", `Enter an email address to receive the summary, or ${untick("email")}.`];
  }
  if (form.email && !/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(form.email)) {
    return ["email", `\u201c${form.email}\u201d does not look like an email address (e.g. you@example.com).`];
  }
  if (form.phone && !/^\+[1-9][0-9]{7,14}$/.test(form.phone.replace(/[\s().-]/g, ""))) {
    return ["phone", `\u201c${form.phone}\u201d is not a full international number: start with + and the country code, e.g. +14155550123.`];
  }
  if (form.send_sms && !form.phone) {
    return ["phone", `Enter a phone number with its country code (e.g. +14155550123), or ${untick("sms")}.`];
  }
  return null;
}
