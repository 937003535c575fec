// Storestack dashboard, the "Change…" form of one store's page (imported by store.js): title, admin
// e-mail, extra host names and size plan (the choices from GET /api/v1/plans), sent as PATCH
// /api/v1/stores/<name>; the API's validation messages go next to the field they name. Only the
// fields that differ from the store's current values are sent.

import { $, ApiError, announce, api, setText, storePath } from "./common.js";

const FIELDS = ["title", "admin_email", "plan", "domains"];

/** The domains field: comma- or space-separated host names, as the API's list. */
const hostList = (text) => text.split(/[\s,]+/).filter(Boolean);

/** The plan <select>: "Default sizes" and the environment's plans. */
async function loadPlans() {
  const select = $("#e-plan");
  try {
    for (const plan of await api("/api/v1/plans")) {
      const option = document.createElement("option");
      const { cpu, memory } = plan.resources.wordpress.limits;
      option.value = plan.name;
      option.textContent = `${plan.name}: WordPress ${cpu} CPU, ${memory}${plan.description ? ` (${plan.description})` : ""}`;
      select.append(option);
    }
  } catch {
    // the form still changes the title and e-mail; the list comes with the next page load
  }
}

function clearErrors() {
  for (const field of FIELDS) {
    setText($(`#e-${field}-error`), "");
    $(`#e-${field}`).removeAttribute("aria-invalid");
  }
  setText($("#e-error"), "");
}

/** "title: must be ...; admin_email: must be ..." -> each part under its field, the rest below. */
function showError(error) {
  const unplaced = [];
  let focused = false;
  for (const part of error.message.split(/; (?=[\w.]+: )/)) {
    const match = /^([\w.]+): ([\s\S]*)$/.exec(part);
    const field = match ? match[1].split(".")[0] : ""; // "domains.0" is the domains field
    if (error.status === 422 && match && FIELDS.includes(field)) {
      setText($(`#e-${field}-error`), match[2]);
      const input = $(`#e-${field}`);
      input.setAttribute("aria-invalid", "true");
      if (!focused) input.focus();
      focused = true;
    } else {
      unplaced.push(part);
    }
  }
  if (error.status === 0) unplaced.splice(0, unplaced.length, "Could not reach the Storestack API; nothing was changed.");
  if (unplaced.length) setText($("#e-error"), unplaced.join("; "));
}

/**
 * Wire the form. `current()` gives the store as the page shows it; `saved(store)` takes the API's
 * answer to a recorded change.
 */
export function setupEdit({ name, current, saved }) {
  const form = $("#d-edit-form");
  const toggle = $("#d-edit");

  function close() {
    form.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    clearErrors();
  }

  function open() {
    const store = current();
    $("#e-title").value = store.title || "";
    $("#e-admin_email").value = store.admin_email || "";
    $("#e-plan").value = store.plan || "";
    $("#e-domains").value = (store.domains || []).join(", ");
    clearErrors();
    form.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    $("#e-title").focus();
  }

  loadPlans();
  toggle.addEventListener("click", () => (form.hidden ? open() : close()));
  $("#e-cancel").addEventListener("click", () => {
    close();
    toggle.focus();
  });
  form.addEventListener("input", (event) => {
    const field = event.target.name;
    if (FIELDS.includes(field)) {
      setText($(`#e-${field}-error`), "");
      event.target.removeAttribute("aria-invalid");
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const store = current();
    const body = {};
    for (const field of FIELDS) {
      const value = $(`#e-${field}`).value.trim();
      if (field === "domains") {
        const hosts = hostList(value);
        if (hosts.join(",") !== (store.domains || []).join(",")) body.domains = hosts;
      } else if (value !== (store[field] || "")) {
        body[field] = field === "plan" ? value || null : value;
      }
    }
    if (!Object.keys(body).length) {
      setText($("#e-error"), "Nothing to change: the values are the store's current ones.");
      return;
    }
    const save = $("#e-save");
    save.disabled = true;
    try {
      saved(await api(storePath(name), { method: "PATCH", body }));
      close();
      announce(`Changing ${name}.`);
      toggle.focus();
    } catch (error) {
      if (error instanceof ApiError) showError(error);
      else throw error;
    } finally {
      save.disabled = false;
    }
  });
  return { close };
}
