// The start page's calibration profile chooser: the saved profiles (GET /api/profiles), with
// "No profile" (the default rules) first and chosen by default. The choice is remembered with
// the form's saved defaults (settings.js), and the calibration page's "Start a session with
// it" link (`/?profile=ID`) chooses the profile just made.

import { $, api, el } from "../common.js";

const els = { select: $("profile"), hint: $("profile-hint") };

const state = {
  /** The id to choose once the list is in (a saved default, or ?profile=ID). */
  wanted: null,
};

/** Fills the chooser from the server; says in the hint when the list could not be loaded. */
export async function loadProfiles() {
  const url = new URL(location.href);
  const fromLink = Number(url.searchParams.get("profile"));
  if (url.searchParams.has("profile")) {
    url.searchParams.delete("profile");
    history.replaceState(null, "", url);
    if (Number.isInteger(fromLink) && fromLink > 0) state.wanted = fromLink;
  }
  let profiles;
  try {
    ({ profiles } = await api("/api/profiles"));
  } catch (e) {
    els.hint.textContent = `The profiles could not be loaded (${e.message}); sessions use the default rules.`;
    return;
  }
  els.select.replaceChildren(
    el("option", { value: "" }, "No profile (the default rules)"),
    ...profiles.map((p) => el("option", { value: p.id, disabled: !p.usable },
      p.usable ? `${p.name} (${p.mode === "full" ? "full" : "quick"} calibration)` : `${p.name} (cannot be used: ${p.problem})`)),
  );
  els.hint.textContent = profiles.length
    ? "Judges your attention relative to your calibrated screen and eyes."
    : "No profile yet: calibrate so that your screen counts wherever your camera sits.";
  apply();
}

/** Chooses profile `id` (null: no profile), now or once the list is in. */
export function chooseProfile(id) {
  state.wanted = id == null ? null : Number(id);
  apply();
}

function apply() {
  if (state.wanted == null) {
    els.select.value = "";
    return;
  }
  const option = [...els.select.options].find((o) => o.value === String(state.wanted) && !o.disabled);
  // A remembered profile that was deleted since: no profile.
  els.select.value = option ? option.value : "";
}

/** The chosen profile's id, or null for none. */
export function chosenProfile() {
  return els.select.value ? Number(els.select.value) : null;
}
