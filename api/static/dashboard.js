// Storestack dashboard, the store list page (GET /): lists the caller's stores, creates and
// deletes them, and keeps every row live. Rows of stores that are pending, provisioning or deleting
// follow the store's event stream (at most MAX_FEEDS at once, so the browser's few connections per
// host stay free for everything else); the list itself is re-read every few seconds as a safety net
// and to pick up stores made elsewhere (the CLI, another tab).

import {
  $,
  ACTIVE,
  ApiError,
  EventFeed,
  announce,
  api,
  applyEvent,
  confirmDelete,
  conn,
  microseconds,
  onReconnect,
  renderSlot,
  setBadge,
  setText,
  setTime,
  startSession,
  storePath,
} from "./common.js";
import { startRollouts } from "./rollouts.js";

const MAX_FEEDS = 3;
const EVENTS_PAGE = 1000;
const REFRESH_ACTIVE_MS = 2500;
const REFRESH_IDLE_MS = 15000;
const ENGINE_LABELS = { woocommerce: "WooCommerce", medusa: "MedusaJS" };

/** name -> {store, row, feed, touched, leaving, seeding, syncTimer, needsFetch} */
const entries = new Map();
let principal = null;
let changeClock = 0; // bumped by every local change; a list read older than a change loses to it
let refreshTimer = 0;
let idempotencyKey = null;

// -- list ---------------------------------------------------------------------------------------

async function refreshList() {
  window.clearTimeout(refreshTimer);
  const startedAt = changeClock;
  try {
    const { items } = await api("/api/v1/stores");
    setText($("#list-error"), "");
    $("#stores-loading").hidden = true;
    reconcile(items, startedAt);
  } catch (error) {
    if (error instanceof ApiError && error.status !== 0) setText($("#list-error"), error.message);
  } finally {
    scheduleRefresh();
  }
}

function scheduleRefresh() {
  window.clearTimeout(refreshTimer);
  const unfollowed = [...entries.values()].some(
    (e) => ACTIVE.has(e.store.status) && !(e.feed && e.feed.running),
  );
  if (document.visibilityState === "hidden") return;
  refreshTimer = window.setTimeout(refreshList, unfollowed ? REFRESH_ACTIVE_MS : REFRESH_IDLE_MS);
}

function reconcile(items, startedAt) {
  const seen = new Set();
  for (const store of items) {
    seen.add(store.name);
    upsert(store, startedAt);
  }
  for (const [name, entry] of entries) {
    if (!seen.has(name) && entry.touched <= startedAt) removeEntry(name, { animate: true });
  }
  reorder();
  afterChange();
}

/** Take a store snapshot from the API. Events applied after the snapshot was asked for win. */
function upsert(store, startedAt = changeClock) {
  let entry = entries.get(store.name);
  if (!entry) {
    entry = { store, row: makeRow(store.name), feed: null, touched: 0, leaving: false, seeding: false };
    entries.set(store.name, entry);
  } else if (entry.leaving) {
    return entry;
  } else if (entry.touched > startedAt) {
    const { status, progress, desired } = entry.store;
    entry.store = { ...store, status, progress, desired };
  } else {
    entry.store = store;
    // What the row now shows includes every event up to this time: the feed skips older ones.
    entry.seenUntil = Math.max(entry.seenUntil || 0, microseconds(store.updated_at));
  }
  if (entry.store.status === "deleted") {
    removeEntry(store.name, { animate: true });
    return entry;
  }
  render(entry);
  return entry;
}

function newestFirst(a, b) {
  return b.store.created_at.localeCompare(a.store.created_at) || a.store.name.localeCompare(b.store.name);
}

/** Newest first. Rows fading out stay where they are. */
function reorder() {
  const list = $("#stores");
  const sorted = [...entries.values()]
    .filter((e) => !e.leaving)
    .sort(newestFirst);
  const skipLeaving = (el) => {
    while (el && el.classList.contains("leaving")) el = el.nextElementSibling;
    return el;
  };
  let cursor = skipLeaving(list.firstElementChild);
  for (const entry of sorted) {
    if (cursor === entry.row) cursor = skipLeaving(cursor.nextElementSibling);
    else list.insertBefore(entry.row, cursor);
  }
}

function afterChange() {
  const visible = [...entries.values()].filter((e) => !e.leaving).length;
  $("#stores-empty").hidden = visible > 0 || !$("#stores-loading").hidden;
  setText($("#store-count"), visible ? `${visible} ${visible === 1 ? "store" : "stores"}` : "");
  manageFeeds();
  scheduleRefresh();
}

// -- rows ---------------------------------------------------------------------------------------

function makeRow(name) {
  const row = $("#store-row").content.firstElementChild.cloneNode(true);
  row.dataset.store = name;
  const link = $(".store-name", row);
  link.href = `/stores/${encodeURIComponent(name)}`;
  link.textContent = name;
  const details = $(".store-details", row);
  details.href = link.href;
  details.setAttribute("aria-label", `Details of ${name}`);
  const remove = $(".store-delete", row);
  remove.setAttribute("aria-label", `Delete ${name}`);
  remove.addEventListener("click", () => deleteStore(name));
  return row;
}

function render(entry) {
  const { store, row } = entry;
  setText($(".store-title", row), store.title || "");
  setText($(".store-engine", row), ENGINE_LABELS[store.engine] || store.engine);
  setTime($(".store-created", row), store.created_at);
  const expires = store.desired === "present" ? store.expires_at : null;
  $(".store-expiry", row).hidden = !expires;
  setTime($(".store-expires", row), expires);
  const someoneElse = principal && principal.role === "admin" && store.owner !== principal.owner;
  setText($(".store-owner", row), someoneElse ? `· ${store.owner}` : "");
  const on = store.applied_revision ?? store.revision;
  const moving = store.applied_revision !== null && store.applied_revision !== store.revision;
  $(".store-revision", row).hidden = !(on || store.revision);
  setText($(".store-revision-number", row), moving ? `${on} → ${store.revision}` : String(on));
  setBadge($(".store-status", row), store.status);
  if (row.dataset.status !== store.status) row.dataset.status = store.status;
  renderSlot($(".slot", row), store);
  const remove = $(".store-delete", row);
  remove.disabled = store.status === "deleting" || store.status === "deleted";
}

function removeEntry(name, { animate }) {
  const entry = entries.get(name);
  if (!entry || entry.leaving) return;
  entry.leaving = true;
  if (entry.feed) entry.feed.stop();
  window.clearTimeout(entry.syncTimer);
  const row = entry.row;
  const hadFocus = row.contains(document.activeElement);
  const finish = () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    entries.delete(name);
    if (hadFocus) (next ? $(".store-name", next) : $("#f-name")).focus();
    afterChange();
  };
  if (animate && !window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    row.classList.add("leaving");
    window.setTimeout(finish, 400);
  } else {
    finish();
  }
}

// -- live feeds ---------------------------------------------------------------------------------

function wantedFeeds() {
  return new Set(
    [...entries.values()]
      .filter((e) => !e.leaving && ACTIVE.has(e.store.status))
      .sort(newestFirst)
      .slice(0, MAX_FEEDS)
      .map((e) => e.store.name),
  );
}

function manageFeeds() {
  if (document.visibilityState === "hidden") return; // resumed (from the last event) when shown
  const wanted = wantedFeeds();
  for (const [name, entry] of entries) {
    if (wanted.has(name)) follow(entry);
    else if (entry.feed && entry.feed.running) entry.feed.stop();
  }
}

/** The id of the store's newest event (0 if none). */
async function lastEventId(name) {
  let after = 0;
  for (;;) {
    const page = await api(`${storePath(name)}/events?after=${after}&limit=${EVENTS_PAGE}`);
    if (page.length) after = page[page.length - 1].id;
    if (page.length < EVENTS_PAGE) return after;
  }
}

/**
 * Follow a store's events. The first time, skip its history: note its newest event, read the store
 * again, then stream only what comes after (replaying old events would flash stale states). Events
 * written between that newest event and a read of the store (this one or a list refresh's) are
 * already in what was read: those the feed brings with a time no later than the row's
 * `updated_at` are skipped too (`upsert` keeps it).
 */
async function follow(entry) {
  const name = entry.store.name;
  if (!entry.feed) entry.feed = makeFeed(name);
  if (entry.feed.running || entry.seeding) return;
  if (!entry.feed.lastId) {
    entry.seeding = true;
    try {
      const startedAt = changeClock;
      const lastId = await lastEventId(name);
      const snapshot = await api(storePath(name));
      entry.feed.lastId = lastId;
      upsert(snapshot, startedAt);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) removeEntry(name, { animate: true });
      return; // the next list refresh tries again
    } finally {
      entry.seeding = false;
    }
    if (entry.leaving || !wantedFeeds().has(name) || document.visibilityState === "hidden") return;
  }
  entry.feed.start();
}

function makeFeed(name) {
  return new EventFeed(name, {
    onEvent(type, event) {
      const entry = entries.get(name);
      if (!entry || entry.leaving) return;
      if (microseconds(event.created_at) <= (entry.seenUntil || 0)) return;
      entry.touched = ++changeClock;
      const changed = applyEvent(entry.store, type, event);
      if (changed === "deleted") {
        announce(`Store ${name} was deleted.`);
        removeEntry(name, { animate: true });
        return;
      }
      render(entry);
      if (changed === "ready") announce(`Store ${name} is ready.`);
      if (changed === "failed") announce(`Store ${name} failed.`);
      if (changed) {
        entry.needsFetch = changed === "ready" || changed === "failed";
        // Decide after the burst (a feed's first read replays the store's history at once).
        window.clearTimeout(entry.syncTimer);
        entry.syncTimer = window.setTimeout(() => syncEntry(name), 250);
      }
    },
    onEnd() {
      removeEntry(name, { animate: true });
    },
    onGone() {
      removeEntry(name, { animate: true });
    },
  });
}

async function syncEntry(name) {
  const entry = entries.get(name);
  if (!entry || entry.leaving) return;
  if (entry.needsFetch) {
    entry.needsFetch = false;
    const startedAt = changeClock;
    try {
      upsert(await api(storePath(name)), startedAt);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) removeEntry(name, { animate: true });
    }
  }
  afterChange();
}

// -- create -------------------------------------------------------------------------------------

const FIELDS = ["name", "engine", "title"];

function clearErrors() {
  for (const field of FIELDS) {
    setText($(`#f-${field}-error`), "");
    $(`#f-${field}`).removeAttribute("aria-invalid");
  }
  setText($("#create-error"), "");
}

/** Put the API's message next to the field it names ("name: must be ..."), else under the form. */
function showCreateError(error) {
  let focused = false;
  const unplaced = [];
  const parts = error.status === 409 ? [`name: ${error.message}`] : error.message.split(/; (?=[\w.]+: )/);
  for (const part of parts) {
    const match = /^([\w.]+): ([\s\S]*)$/.exec(part);
    const field = match && FIELDS.includes(match[1]) ? match[1] : null;
    if (field && (error.status === 422 || error.status === 409)) {
      setText($(`#f-${field}-error`), match[2]);
      const input = $(`#f-${field}`);
      input.setAttribute("aria-invalid", "true");
      if (!focused) {
        input.focus();
        focused = true;
      }
    } else {
      unplaced.push(part);
    }
  }
  if (unplaced.length) {
    const text =
      error.status === 0
        ? "Could not reach the Storestack API, so the store may not have been created. Try again: it is safe."
        : unplaced.join("; ");
    setText($("#create-error"), text);
  }
}

async function createStore(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const submit = $("#create-submit");
  if (submit.disabled) return;
  clearErrors();
  const body = { name: $("#f-name").value, engine: $("#f-engine").value };
  const title = $("#f-title").value;
  if (title) body.title = title;
  idempotencyKey = idempotencyKey || crypto.randomUUID();
  submit.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    const store = await api("/api/v1/stores", {
      method: "POST",
      body,
      headers: { "Idempotency-Key": idempotencyKey },
    });
    idempotencyKey = null;
    form.reset();
    const entry = upsert(store);
    entry.touched = ++changeClock;
    entry.row.classList.add("arrived");
    reorder();
    afterChange();
    announce(`Store ${store.name} created; it is ${store.status}.`);
    $("#f-name").focus();
  } catch (error) {
    if (error instanceof ApiError) showCreateError(error);
    else throw error;
  } finally {
    submit.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

// -- delete -------------------------------------------------------------------------------------

async function deleteStore(name) {
  const entry = entries.get(name);
  if (!entry || !(await confirmDelete(name))) {
    if (entry) $(".store-delete", entry.row).focus();
    return;
  }
  try {
    const store = await api(storePath(name), { method: "DELETE" });
    const current = upsert(store);
    current.touched = ++changeClock;
    announce(`Deleting store ${name}.`);
    $(".store-name", current.row).focus();
    afterChange();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) removeEntry(name, { animate: true });
    else setText($("#list-error"), `Could not delete ${name}: ${error.message}`);
  }
}

// -- start --------------------------------------------------------------------------------------

startSession(async (who) => {
  principal = who;
  startRollouts(who);
  const form = $("#create-form");
  form.addEventListener("submit", createStore);
  form.addEventListener("input", (event) => {
    idempotencyKey = null; // a different request now
    const field = event.target.name;
    if (FIELDS.includes(field)) {
      setText($(`#f-${field}-error`), "");
      event.target.removeAttribute("aria-invalid");
    }
  });
  onReconnect(() => {
    refreshList();
    for (const entry of entries.values()) if (entry.feed) entry.feed.reconnectNow();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      refreshList();
    } else {
      window.clearTimeout(refreshTimer);
      for (const entry of entries.values()) if (entry.feed) entry.feed.stop();
    }
  });
  await refreshList();
  if (conn.state === "live" && !entries.size) $("#f-name").focus();
});
