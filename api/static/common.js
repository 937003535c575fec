// Storestack dashboard: what both pages share. Imported by dashboard.js and store.js (ES modules,
// no build step, nothing from a CDN).
//
// - The session: the API token arrives in the login URL (`/#token=...`), is kept in
//   sessionStorage (never in the page) and removed from the address bar at once; a tab opened
//   later asks an already signed-in tab for it over a BroadcastChannel.
// - `api()`: JSON calls to /api/v1 with the token as a bearer token; errors carry the API's
//   {code, message}.
// - `EventFeed`: a store's server-sent events read with fetch() (EventSource cannot send an
//   Authorization header), resuming with Last-Event-ID after a drop or a server restart.
// - The connection indicator and the cluster banner, driven by /readyz.
// - Formatting: status badges, the progress/links slot, relative times.

const TOKEN_KEY = "storestack.token";
const NOTICE_KEY = "storestack.notice";
const SIGNED_OUT_KEY = "storestack.signedOut";
const CHANNEL_NAME = "storestack.session";
const HEALTH_EVERY_MS = 5000;
const HEALTH_RETRY_MS = 1500;
const FEED_WATCHDOG_MS = 45000;

export const ACTIVE = new Set(["pending", "provisioning", "restoring", "deleting"]);
export const STATUS_LABELS = {
  pending: "Pending",
  provisioning: "Provisioning",
  ready: "Ready",
  suspended: "Suspended",
  restoring: "Restoring",
  failed: "Failed",
  deleting: "Deleting",
  deleted: "Deleted",
};

// -- small DOM helpers --------------------------------------------------------------------------

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

export function announce(text) {
  const el = $("#announcer");
  if (!el) return;
  el.textContent = "";
  window.setTimeout(() => (el.textContent = text), 50);
}

// -- connection indicator and cluster banner ----------------------------------------------------

const listeners = new Set();

export const conn = {
  state: "connecting",
  /** The API answered (any HTTP status). */
  ok() {
    this.set("live");
  },
  /** A request could not reach the API. */
  lost() {
    this.set("reconnecting");
    health.soon();
  },
  set(state) {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    const el = $("#conn");
    if (el) {
      el.dataset.state = state;
      const text = { live: "Live", reconnecting: "Reconnecting…", connecting: "Connecting…" }[state];
      setText($(".conn-text", el), text);
      el.title = {
        live: "Connected: changes show up as they happen",
        reconnecting: "Lost the connection to the Storestack API; retrying",
        connecting: "Connecting to the Storestack API",
      }[state];
    }
    if (state === "live" && previous === "reconnecting") {
      for (const fn of listeners) fn();
    }
  },
};

/** Call `fn` each time the API answers again after the connection was lost. */
export function onReconnect(fn) {
  listeners.add(fn);
}

function showBanner(checks) {
  const banner = $("#banner");
  if (!banner) return;
  let title = "";
  let text = "";
  if (checks && checks.database === false) {
    title = "The API cannot reach its database.";
    text = "Stores cannot be listed or changed until it is back.";
  } else if (checks && checks.cluster === false) {
    title = "The API cannot reach the Kubernetes cluster.";
    text =
      "New stores wait as pending and running operations retry until it answers again. " +
      "Check that the cluster is up (the simulated one: storestack cluster status).";
  }
  banner.hidden = !title;
  setText($("#banner-title"), title);
  setText($("#banner-text"), text);
}

const health = {
  timer: 0,
  async check() {
    window.clearTimeout(this.timer);
    try {
      const response = await fetch("/readyz", { cache: "no-store", headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => null);
      conn.ok();
      showBanner(body && body.checks);
    } catch {
      conn.set("reconnecting");
    }
    this.schedule(conn.state === "live" ? HEALTH_EVERY_MS : HEALTH_RETRY_MS);
  },
  schedule(ms) {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.check(), ms);
  },
  soon() {
    this.schedule(300);
  },
};

// -- the session (token) ------------------------------------------------------------------------

const channel = "BroadcastChannel" in window ? new BroadcastChannel(CHANNEL_NAME) : null;

function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  // Only the fragment: a query string would reach the server's access log, the fragment never does.
  const fromHash = new URLSearchParams(url.hash.slice(1)).get("token");
  const token = fromHash;
  if (fromHash !== null) {
    url.hash = "";
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    sessionStorage.removeItem(SIGNED_OUT_KEY);
  }
}

function askOtherTabs(waitMs = 300) {
  if (!channel) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (token) => {
      channel.removeEventListener("message", onMessage);
      window.clearTimeout(timer);
      resolve(token);
    };
    const onMessage = (event) => {
      if (event.data && event.data.type === "token" && typeof event.data.token === "string") {
        done(event.data.token);
      }
    };
    const timer = window.setTimeout(() => done(null), waitMs);
    channel.addEventListener("message", onMessage);
    channel.postMessage({ type: "ask" });
  });
}

if (channel) {
  channel.addEventListener("message", (event) => {
    const type = event.data && event.data.type;
    if (type === "ask" && storedToken()) channel.postMessage({ type: "token", token: storedToken() });
    if (type === "logout" && storedToken()) {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.setItem(SIGNED_OUT_KEY, "1");
      window.location.reload();
    }
  });
}

export function authHeader() {
  const token = storedToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The token stopped working (revoked, or the data dir was reset): back to the sign-in form. */
function sessionExpired() {
  if (!storedToken()) return;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.setItem(NOTICE_KEY, "Your token is no longer accepted. Sign in again.");
  window.location.reload();
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.setItem(SIGNED_OUT_KEY, "1"); // do not take a token from another tab right back
  if (channel) channel.postMessage({ type: "logout" });
  window.location.replace(window.location.pathname);
}

function showLogin(message) {
  $("#app").hidden = true;
  $("#who").hidden = true;
  $("#login").hidden = false;
  const error = $("#login-error");
  setText(error, message || "");
  const input = $("#login-token");
  input.setAttribute("aria-invalid", message ? "true" : "false");
  input.focus();
}

/**
 * Sign in (token from the URL, this tab, another tab or the form), then call `onReady(principal)`
 * once. The health loop (indicator, banner) starts right away.
 */
export async function startSession(onReady) {
  takeTokenFromUrl();
  health.check();
  $("#logout").addEventListener("click", logout);
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("#login-token").value.trim();
    if (!value) {
      showLogin("Paste a token first.");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    sessionStorage.removeItem(SIGNED_OUT_KEY);
    $("#login-token").value = "";
    await verify();
  });
  let started = false;
  async function verify() {
    try {
      const principal = await api("/api/v1/whoami", { onUnauthorized: "return" });
      $("#login").hidden = true;
      $("#app").hidden = false;
      $("#who").hidden = false;
      setText($("#who-name"), principal.role === "admin" ? `${principal.owner} (admin)` : principal.owner);
      if (!started) {
        started = true;
        onReady(principal);
      }
    } catch (error) {
      if (error.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin("That token is not valid (it may have been revoked). Check it and try again.");
      } else {
        // The API is down: keep trying; the indicator says so.
        window.setTimeout(verify, HEALTH_RETRY_MS);
      }
    }
  }
  // A login link opened in a tab already on this page only changes the fragment: no reload.
  window.addEventListener("hashchange", () => {
    if (new URLSearchParams(window.location.hash.slice(1)).has("token")) {
      takeTokenFromUrl();
      verify();
    }
  });
  if (!storedToken() && !sessionStorage.getItem(SIGNED_OUT_KEY)) {
    const token = await askOtherTabs();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
  }
  if (!storedToken()) {
    const notice = sessionStorage.getItem(NOTICE_KEY);
    sessionStorage.removeItem(NOTICE_KEY);
    showLogin(notice || "");
    return;
  }
  await verify();
}

// -- HTTP API -----------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Call the API; resolves with the JSON body, rejects with an ApiError (status 0: unreachable). */
export async function api(path, { method = "GET", body, headers = {}, onUnauthorized = "signout" } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      cache: "no-store",
      headers: {
        Accept: "application/json",
        ...authHeader(),
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    conn.lost();
    throw new ApiError(0, "unreachable", "Cannot reach the Storestack API.");
  }
  conn.ok();
  const data = await response.json().catch(() => null);
  if (response.status === 401 && onUnauthorized === "signout") sessionExpired();
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(
      response.status,
      error.code || `http_${response.status}`,
      error.message || response.statusText || "request failed",
    );
  }
  return data;
}

export const storePath = (name) => `/api/v1/stores/${encodeURIComponent(name)}`;

// -- live events --------------------------------------------------------------------------------

/**
 * One store's event stream. `onEvent(type, event)` gets every event (type is the SSE event name:
 * created, status, progress, error, ...); `onEnd()` runs when the server ends the stream (the store
 * was deleted); `onGone()` when the store does not exist. Stopping and starting again resumes after
 * the last event seen, so nothing is delivered twice.
 */
export class EventFeed {
  constructor(name, { onEvent, onEnd, onGone }) {
    this.name = name;
    this.onEvent = onEvent;
    this.onEnd = onEnd;
    this.onGone = onGone;
    this.lastId = 0;
    this.retryMs = 2000;
    this.running = false;
    this.controller = null;
    this.wake = null;
    this.generation = 0;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.generation += 1;
    this.run(this.generation);
  }

  stop() {
    this.running = false;
    this.generation += 1;
    if (this.controller) this.controller.abort();
    this.controller = null;
    if (this.wake) this.wake();
  }

  /** Skip the wait before the next reconnection attempt (the API is back). */
  reconnectNow() {
    if (this.wake) this.wake();
  }

  alive(generation) {
    return this.running && this.generation === generation;
  }

  async run(generation) {
    let failures = 0;
    while (this.alive(generation)) {
      const controller = new AbortController();
      this.controller = controller;
      let ended = false;
      try {
        const headers = { Accept: "text/event-stream", ...authHeader() };
        if (this.lastId) headers["Last-Event-ID"] = String(this.lastId);
        const response = await fetch(`${storePath(this.name)}/events`, {
          headers,
          cache: "no-store",
          signal: controller.signal,
        });
        conn.ok();
        if (response.status === 401) {
          sessionExpired();
          return;
        }
        if (response.status === 404) {
          this.running = false;
          if (this.onGone) this.onGone();
          return;
        }
        if (!response.ok || !response.body) throw new ApiError(response.status, "stream", "stream refused");
        failures = 0;
        ended = await this.read(response.body, controller, generation);
      } catch (error) {
        if (!this.alive(generation)) return;
        if (error instanceof TypeError) conn.lost(); // fetch's network error: the API is gone
        failures += 1;
      }
      if (!this.alive(generation)) return;
      if (ended) {
        this.running = false;
        if (this.onEnd) this.onEnd();
        return;
      }
      const delay = failures ? Math.min(this.retryMs * 2 ** (failures - 1), 15000) : this.retryMs;
      await new Promise((resolve) => {
        const timer = window.setTimeout(resolve, delay);
        this.wake = () => {
          window.clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Parse the text/event-stream body; true when the server sent `end`. */
  async read(body, controller, generation) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let type = "";
    let data = [];
    let id = null;
    let watchdog = window.setTimeout(() => controller.abort(), FEED_WATCHDOG_MS);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || !this.alive(generation)) return false;
        window.clearTimeout(watchdog);
        watchdog = window.setTimeout(() => controller.abort(), FEED_WATCHDOG_MS);
        buffer += value;
        // A trailing CR may be the first half of a CRLF: keep it for the next chunk.
        const holdCr = buffer.endsWith("\r");
        const lines = (holdCr ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
        buffer = lines.pop() + (holdCr ? "\r" : "");
        for (const line of lines) {
          if (line === "") {
            if (id !== null && /^\d+$/.test(id)) this.lastId = Number(id);
            if (data.length) {
              const name = type || "message";
              if (name === "end") return true;
              this.dispatch(name, data.join("\n"));
            }
            type = "";
            data = [];
            id = null;
            continue;
          }
          if (line.startsWith(":")) continue; // keepalive comment
          const colon = line.indexOf(":");
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "event") type = value;
          else if (field === "data") data.push(value);
          else if (field === "id" && !value.includes("\0")) id = value;
          else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
        }
      }
    } finally {
      window.clearTimeout(watchdog);
      reader.cancel().catch(() => {});
    }
  }

  dispatch(type, raw) {
    let event;
    try {
      event = JSON.parse(raw);
    } catch {
      return;
    }
    try {
      this.onEvent(type, event);
    } catch (error) {
      console.error("storestack: event handler failed", error);
    }
  }
}

// -- dialogs ------------------------------------------------------------------------------------

/** Ask, naming the store; resolves true when the user confirms. */
export function confirmDelete(name) {
  const dialog = $("#delete-dialog");
  for (const el of dialog.querySelectorAll("[data-fill=name]")) el.textContent = name;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true });
    dialog.showModal();
  });
}

// -- formatting ---------------------------------------------------------------------------------

const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const exactFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});
const clockFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

export function relativeTime(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  if (abs < 45 * 60) return relativeFormat.format(Math.round(seconds / 60), "minute");
  if (abs < 22 * 3600) return relativeFormat.format(Math.round(seconds / 3600), "hour");
  if (abs < 26 * 86400) return relativeFormat.format(Math.round(seconds / 86400), "day");
  if (abs < 320 * 86400) return relativeFormat.format(Math.round(seconds / (30 * 86400)), "month");
  return relativeFormat.format(Math.round(seconds / (365 * 86400)), "year");
}

export const exactTime = (date) => exactFormat.format(date);
export const clockTime = (date) => clockFormat.format(date);

/** Fill a <time data-relative>: relative text, exact time on hover (title) and for machines. */
export function setTime(el, iso) {
  if (!el) return;
  if (!iso) {
    el.removeAttribute("datetime");
    el.removeAttribute("title");
    setText(el, "");
    return;
  }
  if (el.getAttribute("datetime") === iso) return; // the ticker below keeps every time in step
  const date = new Date(iso);
  el.dateTime = iso;
  el.title = exactTime(date);
  setText(el, relativeTime(date));
}

window.setInterval(() => {
  for (const el of $$("time[data-relative][datetime]")) setText(el, relativeTime(new Date(el.dateTime)));
}, 20000);

export function setBadge(el, status) {
  if (!el) return;
  if (el.dataset.status !== status) el.dataset.status = status;
  setText(el, STATUS_LABELS[status] || status);
}

// Failure codes (from the stacks layer and the reconciler) in plain words.
const FAILURES = {
  cluster_unreachable:
    "Storestack could not reach the Kubernetes cluster, and gave up after several tries. " +
    "Check that the cluster is running, then press Retry.",
  cluster_unavailable:
    "The Kubernetes cluster was overloaded or briefly unavailable, and stayed that way through " +
    "several tries. Press Retry once it is healthy again.",
  quota_exceeded:
    "The cluster refused to create the store’s resources because a resource quota or limit was " +
    "exceeded. Free some capacity (or raise the quota), then press Retry.",
  image_missing:
    "A container image could not be pulled: its tag does not exist or the registry refused it. " +
    "Fix the image in the environment settings, then press Retry.",
  image_pull_failed:
    "A container image could not be pulled, through several tries (the registry or the node’s " +
    "network may be down). Check that the node can reach the registry, then press Retry.",
  invalid_spec:
    "The cluster rejected the store’s configuration as invalid. Retrying will not help until the " +
    "environment settings are fixed.",
  timeout:
    "The operation took too long and was stopped. The cluster may be slow or stuck; press Retry " +
    "to try again.",
  store_busy:
    "Another operation was holding this store’s stack the whole time. Press Retry when it has finished.",
  operation_failed: "The infrastructure engine reported an error while working on this store.",
  internal_error:
    "Storestack itself hit an unexpected error. Press Retry; if it happens again, check the server log.",
};

const FAILURES_SHORT = {
  cluster_unreachable: "could not reach the cluster",
  cluster_unavailable: "the cluster was unavailable",
  quota_exceeded: "a resource quota was exceeded",
  image_missing: "a container image is missing",
  image_pull_failed: "a container image could not be pulled",
  invalid_spec: "the cluster rejected the configuration",
  timeout: "it took too long",
  store_busy: "its stack stayed busy",
  internal_error: "an internal error",
};

export function failureInPlainWords(store) {
  const deleting = store.desired === "absent";
  const what = deleting ? "Deleting this store failed." : "Setting up this store failed.";
  const code = store.last_error && store.last_error.code;
  const why = FAILURES[code] || "The operation failed; the engine’s message below says why.";
  return { heading: what, text: why };
}

/** Show a store's progress, addresses or a note in a slot (see templates/slot.html). */
export function renderSlot(slot, store) {
  if (!slot) return;
  const progress = store.progress || { done: 0, total: 0, step: "" };
  let show;
  if (ACTIVE.has(store.status)) {
    show = "progress";
    const bar = $(".bar", slot);
    const fill = $(".bar-fill", slot);
    const { done, total } = progress;
    let count = "";
    let step = progress.step || "";
    if (store.status === "pending") {
      count = store.attempts ? "Waiting to retry" : "Queued";
      step = step && step !== "queued" ? step : "waiting for a worker";
    } else if (total > 0) {
      count = `Resource ${done} of ${total}`;
    } else {
      count = store.status === "deleting" ? "Deleting" : "Starting";
      if (step === "starting") step = "preparing the stack";
    }
    setText($(".progress-count", slot), count);
    setText($(".progress-step", slot), step);
    $(".progress-step", slot).title = step;
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    fill.style.transform = `scaleX(${fraction})`;
    bar.dataset.kind = store.status;
    bar.setAttribute("aria-label", `Progress of ${store.name}`);
    const waiting = total === 0;
    bar.classList.toggle("bar-waiting", waiting);
    if (waiting) {
      bar.removeAttribute("aria-valuenow");
      bar.removeAttribute("aria-valuemax");
    } else {
      bar.setAttribute("aria-valuenow", String(done));
      bar.setAttribute("aria-valuemax", String(total));
    }
    bar.setAttribute("aria-valuetext", `${count}: ${step}`);
  } else if (store.status === "ready") {
    show = "links";
    const url = $(".store-url", slot);
    setText(url, store.url || "address not known yet");
    url.title = store.url || "";
    for (const [cls, href] of [
      [".open-store", store.url],
      [".open-admin", store.admin_url],
    ]) {
      const link = $(cls, slot);
      link.hidden = !href;
      if (href) link.href = href;
    }
  } else {
    show = "note";
    let main = "";
    let sub = "";
    if (store.status === "failed") {
      main = store.desired === "absent" ? "Deletion failed" : "Provisioning failed";
      const code = store.last_error && store.last_error.code;
      sub = FAILURES_SHORT[code] ? `${FAILURES_SHORT[code]}; see Details to retry` : "see Details to retry";
      $(".note-sub", slot).title = store.last_error ? store.last_error.message : "";
    } else if (store.status === "deleted") {
      main = "Deleted";
      sub = store.deleted_at ? exactTime(new Date(store.deleted_at)) : "";
    } else if (store.status === "suspended") {
      main = "Suspended";
      sub = "no pod runs; its data is kept. Resume brings it back.";
    }
    setText($(".note-main", slot), main);
    setText($(".note-sub", slot), sub);
  }
  if (slot.dataset.show !== show) slot.dataset.show = show;
}

/**
 * An API timestamp ("2026-12-01T10:00:43.123456Z") in microseconds since the epoch: `Date` keeps
 * only milliseconds, and two writes of a store can be less than one apart.
 */
export function microseconds(iso) {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso || "");
  if (!m) return Date.parse(iso) * 1000;
  return Date.parse(m[1] + m[3]) * 1000 + Number((m[2] || "").padEnd(6, "0").slice(0, 6));
}

/**
 * Apply one event to a store object the way the reconciler changed the row in the same
 * transaction, so the page shows what the API would return now. Returns the new status if the
 * event changed it, else null.
 */
export function applyEvent(store, type, event) {
  const data = event.data || {};
  const before = store.status;
  if (type === "progress") {
    store.progress = { done: data.done ?? 0, total: data.total ?? 0, step: data.step || event.message };
    if (store.status === "pending") store.status = data.operation === "destroy" ? "deleting" : "provisioning";
  } else if (type === "waiting") {
    // the cluster is away, or the engine is quiet: say what the store waits for
    store.progress = { ...(store.progress || { done: 0, total: 0 }), step: data.step || event.message };
  } else if (type === "drift" && !data.error) {
    // a drift check finished and found something new (or that the drift is gone)
    const drifted = Boolean(data.drifted);
    store.drift = { drifted, summary: data.summary || null, checked_at: event.created_at };
  } else if (type === "error") {
    // a failed attempt that will be retried: the store is still provisioning or deleting
    store.progress = { ...(store.progress || { done: 0, total: 0 }), step: event.message };
  } else if (data.status) {
    store.status = data.status;
    if (type === "delete_requested" || type === "expired") {
      store.desired = "absent";
      store.progress = { done: 0, total: 0, step: "deletion requested" };
      store.last_error = null;
    } else if (type === "retry_requested" || type === "repair_requested") {
      const step = type === "retry_requested" ? "retry requested" : "repair requested";
      store.progress = { done: 0, total: 0, step };
    } else if (type === "suspend_requested" || type === "resume_requested") {
      store.suspended = type === "suspend_requested";
      const step = store.suspended ? "suspend requested" : "resume requested";
      store.progress = { done: 0, total: 0, step };
    } else if (type === "changed") {
      store.progress = { done: 0, total: 0, step: "change requested" };
      Object.assign(store, data.after || {});
      store.last_error = null;
    } else if (data.status === "provisioning" || data.status === "deleting") {
      store.progress = { done: 0, total: 0, step: "starting" };
      if (data.attempt) store.attempts = data.attempt;
    } else if (data.status === "ready" || data.status === "suspended") {
      const p = store.progress || { done: 0, total: 0 };
      store.progress = { done: Math.max(p.done, p.total), total: p.total, step: "ready" };
      if (data.url) store.url = data.url;
      if (data.admin_url) store.admin_url = data.admin_url;
      store.last_error = null;
    } else if (data.status === "failed" && !(store.last_error && store.last_error.code === data.code)) {
      // until the store is read again, which brings the error's own message
      store.last_error = { code: data.code || "error", message: event.message };
    }
  }
  return store.status !== before ? store.status : null;
}
