// Storestack dashboard, one store's page (GET /stores/<name>): status and progress, why it failed
// (in plain words), what its last drift check found; Retry, Repair, Check for drift, Suspend,
// Resume, Change (store-edit.js), the audited admin-credentials reveal, Delete; its backups
// (store-backups.js); and the store's history (audit trail and engine steps), all kept live by the
// store's event stream.

import {
  $,
  ApiError,
  EventFeed,
  announce,
  api,
  applyEvent,
  clockTime,
  confirmDelete,
  exactTime,
  failureInPlainWords,
  onReconnect,
  renderSlot,
  setBadge,
  setText,
  setTime,
  startSession,
  storePath,
} from "./common.js";
import { setupBackups } from "./store-backups.js";
import { setupEdit } from "./store-edit.js";

const CREDENTIALS_SHOWN_MS = 60000;
const HISTORY_PAGE = 1000;
const ENGINE_LABELS = { woocommerce: "WooCommerce", medusa: "MedusaJS" };
const KIND_LABELS = {
  created: "Created",
  status: "Status",
  error: "Error",
  delete_requested: "Delete requested",
  retry_requested: "Retry requested",
  changed: "Changed",
  expired: "Expired",
  drift: "Drift",
  drift_check_requested: "Drift check requested",
  repair_requested: "Repair requested",
  suspend_requested: "Suspend requested",
  resume_requested: "Resume requested",
  credentials_read: "Credentials read",
  backup: "Backup",
};

const name = $("#detail").dataset.name;
let store = null;
let feed = null;
let changeClock = 0;
let touched = 0;
let loadTimer = 0;
let hideTimer = 0;
let edit = null;
let backups = null;
const seen = new Set();

// -- store --------------------------------------------------------------------------------------

async function load() {
  const startedAt = changeClock;
  try {
    const snapshot = await api(storePath(name));
    if (store && touched > startedAt) {
      const { status, progress, desired } = store;
      store = { ...snapshot, status, progress, desired };
    } else {
      store = snapshot;
    }
    render();
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) showMissing();
    return false;
  }
}

function showMissing() {
  if (feed) feed.stop();
  $("#detail").hidden = true;
  $("#d-missing").hidden = false;
  document.title = `Not found · Storestack`;
}

function render() {
  if (!store) return;
  setBadge($("#d-status"), store.status);
  setText($("#d-title"), store.title || "");
  const slot = $(".slot", $("#detail"));
  renderSlot(slot, store);
  slot.hidden = store.status === "failed"; // the failure box below says it better
  setText($("#d-engine"), ENGINE_LABELS[store.engine] || store.engine);
  setText($("#d-plan"), store.plan || "default sizes");
  setText($("#d-domains"), (store.domains || []).join(", ") || "only its own");
  setText($("#d-owner"), store.owner);
  setText($("#d-namespace"), store.namespace || "–");
  $("#d-namespace").classList.toggle("plain", !store.namespace);
  setTime($("#d-created"), store.created_at);
  setTime($("#d-ready"), store.status === "ready" ? store.ready_at : null);
  $("#d-ready-none").hidden = Boolean(store.status === "ready" && store.ready_at);
  setText($("#d-attempts"), String(store.attempts));
  renderDrift();
  const kept = store.backup_kept_until;
  $("#d-kept-label").hidden = !kept;
  $("#d-kept-cell").hidden = !kept;
  setTime($("#d-kept"), kept);
  const expires = store.desired === "present" ? store.expires_at : null;
  setTime($("#d-expires"), expires);
  $("#d-expires-none").hidden = Boolean(expires);
  setText($("#d-expires-none"), store.desired === "present" ? "never" : "–");

  const failed = store.status === "failed";
  $("#d-failure").hidden = !failed;
  if (failed) {
    const { heading, text } = failureInPlainWords(store);
    setText($("#d-failure-heading"), heading);
    setText($("#d-failure-plain"), text);
    setText($("#d-failure-code"), store.last_error ? store.last_error.code : "");
    setText($("#d-failure-message"), store.last_error ? store.last_error.message : "");
  }
  $("#d-retry").hidden = !failed;
  const ready = store.status === "ready";
  const drifted = Boolean(store.drift && store.drift.drifted);
  $("#d-repair").hidden = !(store.desired === "present" && (drifted || failed));
  $("#d-check").hidden = !ready;
  $("#d-suspend").hidden = !(store.desired === "present" && !store.suspended);
  $("#d-resume").hidden = !(store.desired === "present" && store.suspended);
  $("#d-reveal").hidden = !ready;
  if (store.status !== "ready") hideCredentials();
  const present = store.desired === "present";
  $("#d-edit").hidden = !present || store.suspended;
  if (!present && edit) edit.close();
  const remove = $("#d-delete");
  remove.hidden = store.status === "deleted";
  remove.disabled = store.status === "deleting";
  if (backups) backups.render();
}

function renderDrift() {
  const cell = $("#d-drift");
  const drift = store.drift || {};
  cell.classList.toggle("drift-found", Boolean(drift.drifted));
  if (!drift.checked_at) {
    setText(cell, store.status === "ready" ? "not checked yet" : "–");
  } else if (drift.drifted) {
    setText(cell, `drifted: ${drift.summary || "objects differ from the store's program"}`);
  } else {
    setText(cell, `none (checked ${clockTime(new Date(drift.checked_at))})`);
  }
}

function scheduleLoad() {
  window.clearTimeout(loadTimer);
  loadTimer = window.setTimeout(load, 250);
}

// -- history ------------------------------------------------------------------------------------

function fillTime(el, iso) {
  const when = new Date(iso);
  el.dateTime = iso;
  el.title = exactTime(when);
  el.textContent = clockTime(when);
}

/** Append an event; an operation's engine steps are folded into one expandable entry. */
function addEvent(type, event) {
  const timeline = $("#timeline");
  if (type === "progress") {
    let group = timeline.lastElementChild;
    if (!group || group.dataset.kind !== "progress") {
      group = $("#steps-item").content.firstElementChild.cloneNode(true);
      fillTime($(".event-time", group), event.created_at);
      timeline.append(group);
    }
    const step = document.createElement("li");
    const time = document.createElement("time");
    fillTime(time, event.created_at);
    step.append(time, ` ${event.message}`);
    const list = $(".steps-list", group);
    list.append(step);
    const count = list.childElementCount;
    setText($(".steps-count", group), `${count} ${count === 1 ? "step" : "steps"}`);
    setText($(".steps-latest", group), `· ${event.message}`);
  } else {
    const item = $("#event-item").content.firstElementChild.cloneNode(true);
    item.dataset.kind = type;
    if (event.data && event.data.status) item.dataset.status = event.data.status;
    fillTime($(".event-time", item), event.created_at);
    setText($(".event-kind", item), KIND_LABELS[type] || type);
    setText($(".event-message", item), event.message);
    setText($(".event-actor", item), event.actor ? `by ${event.actor}` : "");
    timeline.append(item);
  }
  $("#t-empty").hidden = true;
  setText($("#t-count"), `${seen.size} ${seen.size === 1 ? "event" : "events"}`);
}

/** Every event so far, as JSON pages (the stream then continues after the last one). */
async function loadHistory() {
  try {
    for (;;) {
      const after = seen.size ? Math.max(...seen) : 0;
      const page = await api(`${storePath(name)}/events?after=${after}&limit=${HISTORY_PAGE}`);
      for (const event of page) onEvent(event.kind, event);
      if (page.length < HISTORY_PAGE) return true;
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) showMissing();
    return false;
  }
}

function onEvent(type, event) {
  if (seen.has(event.id)) return;
  seen.add(event.id);
  addEvent(type, event);
  if (type === "backup" && backups && feed) backups.refresh();
  if (!store) return;
  touched = ++changeClock;
  const changed = applyEvent(store, type, event);
  render();
  if (changed) {
    announce(`${name} is now ${store.status}.`);
    scheduleLoad(); // the row has more than the event says (URLs, error text, timestamps)
  }
}

// -- actions ------------------------------------------------------------------------------------

function actionError(error) {
  setText($("#d-action-error"), error instanceof ApiError ? error.message : String(error));
}

const ACTIONS = {
  retry: { button: "#d-retry", said: "Retrying" },
  repair: { button: "#d-repair", said: "Repairing" },
  "check-drift": { button: "#d-check", said: "Checking for drift:" },
  suspend: { button: "#d-suspend", said: "Suspending" },
  resume: { button: "#d-resume", said: "Resuming" },
};

/** POST /stores/<name>/<action>; the store that comes back is shown at once. */
async function act(action) {
  const { button, said } = ACTIONS[action];
  setText($("#d-action-error"), "");
  $(button).disabled = true;
  try {
    store = await api(`${storePath(name)}/${action}`, { method: "POST" });
    touched = ++changeClock;
    render();
    announce(`${said} ${name}.`);
    $("#d-delete").focus();
    if (feed && !feed.running) feed.start();
  } catch (error) {
    actionError(error);
  } finally {
    $(button).disabled = false;
  }
}

async function remove() {
  setText($("#d-action-error"), "");
  if (!(await confirmDelete(name))) {
    $("#d-delete").focus();
    return;
  }
  try {
    store = await api(storePath(name), { method: "DELETE" });
    touched = ++changeClock;
    render();
    announce(`Deleting ${name}.`);
    $("#store-heading").focus();
  } catch (error) {
    actionError(error);
  }
}

function hideCredentials() {
  window.clearTimeout(hideTimer);
  const panel = $("#d-creds");
  if (panel.hidden) return;
  panel.hidden = true;
  for (const id of ["#c-user", "#c-password"]) $(id).textContent = "";
  $("#c-url").textContent = "";
  $("#c-url").removeAttribute("href");
  const button = $("#d-reveal");
  button.setAttribute("aria-expanded", "false");
  setText(button, "Reveal admin credentials");
}

async function toggleCredentials() {
  setText($("#d-action-error"), "");
  if (!$("#d-creds").hidden) {
    hideCredentials();
    return;
  }
  const button = $("#d-reveal");
  button.disabled = true;
  try {
    const credentials = await api(`${storePath(name)}/credentials`);
    const url = $("#c-url");
    url.textContent = credentials.admin_url || "–";
    if (credentials.admin_url) url.href = credentials.admin_url;
    $("#c-user").textContent = credentials.admin_user;
    $("#c-password").textContent = credentials.admin_password;
    $("#d-creds").hidden = false;
    button.setAttribute("aria-expanded", "true");
    setText(button, "Hide admin credentials");
    hideTimer = window.setTimeout(hideCredentials, CREDENTIALS_SHOWN_MS);
  } catch (error) {
    actionError(error);
  } finally {
    button.disabled = false;
  }
}

async function copyPassword() {
  const password = $("#c-password");
  const button = $("#c-copy");
  try {
    await navigator.clipboard.writeText(password.textContent);
    setText(button, "Copied");
  } catch {
    const range = document.createRange();
    range.selectNodeContents(password);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    setText(button, "Selected: press Ctrl+C");
  }
  window.setTimeout(() => setText(button, "Copy"), 2500);
}

// -- start --------------------------------------------------------------------------------------

startSession(async () => {
  for (const action of Object.keys(ACTIONS)) {
    $(ACTIONS[action].button).addEventListener("click", () => act(action));
  }
  $("#d-delete").addEventListener("click", remove);
  $("#d-reveal").addEventListener("click", toggleCredentials);
  $("#c-copy").addEventListener("click", copyPassword);
  edit = setupEdit({
    name,
    current: () => store,
    saved(changed) {
      store = changed;
      touched = ++changeClock;
      render();
    },
  });
  backups = setupBackups({ name, current: () => store });
  // History first, then the store, then only what happens after: replaying old events over a
  // fresh snapshot would show stale states for a moment.
  while (!(await loadHistory()) || !(await load())) {
    if (!$("#d-missing").hidden) return;
    await new Promise((resolve) => window.setTimeout(resolve, 2000));
  }
  feed = new EventFeed(name, {
    onEvent,
    onEnd() {
      scheduleLoad();
    },
    onGone() {
      showMissing();
    },
  });
  feed.lastId = Math.max(0, ...seen);
  feed.start();
  backups.refresh();
  onReconnect(() => {
    if (feed.running) feed.reconnectNow();
    load();
  });
});
