// Storestack dashboard, the rollout panel of the store list page (admins only): the newest rollout
// (its state, how many stores are done, each wave) with Pause, Resume and Abort, and how many live
// stores are on each environment revision. Read from /api/v1/rollouts and /api/v1/revisions every
// few seconds while a rollout runs, less often otherwise. Started by dashboard.js.

import { $, api, setText } from "./common.js";

const ACTIVE_MS = 2000;
const IDLE_MS = 15000;
const ACTIVE_STATES = new Set(["running", "paused", "rolling_back"]);
let timer = 0;
let current = null;

function waveName(number) {
  return number === 0 ? "canary" : String(number);
}

function counted(states) {
  return Object.entries(states)
    .sort()
    .map(([state, n]) => `${n} ${state.replace("_", " ")}`)
    .join(", ");
}

function render(rollout, revisions) {
  $("#rollouts").hidden = false;
  const list = $("#revisions");
  list.replaceChildren(
    ...revisions.map((revision) => {
      const item = document.createElement("li");
      const what = revision.changed_fields.join(", ") || "the environment file";
      item.textContent = `revision ${revision.number}: ${revision.stores} store${revision.stores === 1 ? "" : "s"} (${what})`;
      return item;
    }),
  );
  current = rollout;
  $("#rollout-none").hidden = rollout !== null;
  $("#rollout-current").hidden = rollout === null;
  if (rollout === null) return;
  const total = rollout.stores.length;
  const done = rollout.stores.filter((s) => !["pending", "updating", "rolling_back"].includes(s.state)).length;
  setText($("#rollout-summary"), `#${rollout.id} to revision ${rollout.revision}`);
  const badge = $("#rollout-state");
  badge.dataset.status = rollout.state;
  setText(badge, rollout.state.replace("_", " "));
  const where = ACTIVE_STATES.has(rollout.state)
    ? `at ${waveName(rollout.wave)} of ${rollout.waves} waves; ${done} of ${total} stores done`
    : `${rollout.message} (${rollout.seconds ?? "?"} s)`;
  setText($("#rollout-message"), where);
  const bar = $("#rollout-progress");
  bar.max = Math.max(1, total);
  bar.value = done;
  $("#rollout-waves").replaceChildren(
    ...rollout.wave_detail.map((wave) => {
      const row = document.createElement("tr");
      for (const text of [waveName(wave.wave), String(wave.stores), counted(wave.states), wave.seconds ?? "–"]) {
        const cell = document.createElement("td");
        cell.textContent = String(text);
        row.append(cell);
      }
      return row;
    }),
  );
  $("#rollout-pause").hidden = rollout.state !== "running";
  $("#rollout-resume").hidden = rollout.state !== "paused";
  $("#rollout-abort").hidden = !["running", "paused"].includes(rollout.state);
}

async function refresh() {
  window.clearTimeout(timer);
  try {
    const [rollouts, revisions] = await Promise.all([api("/api/v1/rollouts"), api("/api/v1/revisions")]);
    render(rollouts[0] || null, revisions);
  } catch (error) {
    if (error.status === 403) return; // not an admin: no panel
    setText($("#rollout-error"), error.message);
  }
  timer = window.setTimeout(refresh, current && ACTIVE_STATES.has(current.state) ? ACTIVE_MS : IDLE_MS);
}

async function act(action) {
  if (!current) return;
  setText($("#rollout-error"), "");
  try {
    await api(`/api/v1/rollouts/${current.id}/${action}`, { method: "POST" });
  } catch (error) {
    setText($("#rollout-error"), error.message);
  }
  refresh();
}

/** Show the panel to admins; refreshes itself until the page goes. */
export function startRollouts(principal) {
  if (!principal || principal.role !== "admin") return;
  for (const action of ["pause", "resume", "abort"]) {
    $(`#rollout-${action}`).addEventListener("click", () => act(action));
  }
  refresh();
}
