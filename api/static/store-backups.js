// Storestack dashboard, a store's Backups panel (store.js sets it up): the store's backups with
// their age and size, "Back up now", Restore (after a confirmation dialog) and Clone into a new
// store (a dialog asking the new store's name; the page then opens the clone's). Backup and restore
// jobs that have not ended, or failed, are listed with their reason. Refreshed when the store's
// event stream reports a backup event.

import { $, ApiError, announce, api, exactTime, relativeTime, setText, storePath } from "./common.js";

const NAME_RULE = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){2,39}$/;
const JOBS_SHOWN = 3;
const UNITS = ["B", "KiB", "MiB", "GiB"];

function size(bytes) {
  let value = bytes;
  for (const unit of UNITS) {
    if (value < 1024 || unit === "GiB") return unit === "B" ? `${value} B` : `${value.toFixed(1)} ${unit}`;
    value /= 1024;
  }
  return `${bytes} B`;
}

function jobLine(job) {
  const what = job.action === "restore" ? `Restore of ${job.backup_id}` : "Backup";
  if (job.state === "failed") return `${what} failed: ${job.error}`;
  return `${what}: ${job.state}…`;
}

/** Ask to confirm in ``dialog``, showing when the backup was made; resolves to the button's value. */
function ask(dialog, backup) {
  for (const el of dialog.querySelectorAll("[data-fill=when]")) {
    el.textContent = `${relativeTime(new Date(backup.created_at))} (${exactTime(new Date(backup.created_at))})`;
  }
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
}

export function setupBackups({ name, current }) {
  let listing = null;

  function error(reason) {
    setText($("#b-error"), reason instanceof ApiError ? reason.message : String(reason || ""));
  }

  function row(backup) {
    const tr = document.createElement("tr");
    const made = document.createElement("time");
    made.dateTime = backup.created_at;
    made.title = `${exactTime(new Date(backup.created_at))} · ${backup.id}`;
    made.textContent = relativeTime(new Date(backup.created_at));
    const cells = [made, backup.kind, size(backup.size)];
    for (const content of cells) {
      const td = document.createElement("td");
      td.append(content);
      tr.append(td);
    }
    const actions = document.createElement("td");
    const store = current();
    if (store && store.status === "ready") {
      const restore = document.createElement("button");
      restore.type = "button";
      restore.className = "btn btn-small";
      restore.textContent = "Restore…";
      restore.addEventListener("click", () => restoreFrom(backup, restore));
      actions.append(restore, " ");
    }
    const clone = document.createElement("button");
    clone.type = "button";
    clone.className = "btn btn-small";
    clone.textContent = "Clone…";
    clone.addEventListener("click", () => cloneFrom(backup, clone));
    actions.append(clone);
    tr.append(actions);
    return tr;
  }

  function render() {
    const store = current();
    $("#b-create").hidden = !(listing && listing.configured && store && store.status === "ready");
    if (!listing) return;
    const rows = $("#b-rows");
    rows.replaceChildren(...listing.backups.map(row));
    $("#b-table").hidden = listing.backups.length === 0;
    if (!listing.configured) {
      setText($("#b-note"), "Backups are not set up: the control plane needs a bucket (STORESTACK_BACKUP_URL).");
    } else if (listing.backups.length === 0) {
      setText($("#b-note"), "No backups yet.");
    } else {
      const count = listing.backups.length;
      setText($("#b-note"), `${count} ${count === 1 ? "backup" : "backups"}, newest first.`);
    }
    const open = listing.jobs.filter((job) => job.state !== "complete").slice(0, JOBS_SHOWN);
    $("#b-jobs").replaceChildren(
      ...open.map((job) => {
        const li = document.createElement("li");
        li.dataset.state = job.state;
        li.textContent = jobLine(job);
        return li;
      }),
    );
  }

  async function refresh() {
    try {
      listing = await api(`${storePath(name)}/backups`);
      render();
    } catch (reason) {
      if (!(reason instanceof ApiError && reason.status === 404)) error(reason);
    }
  }

  async function create() {
    error("");
    const button = $("#b-create");
    button.disabled = true;
    try {
      await api(`${storePath(name)}/backups`, { method: "POST" });
      announce(`Backing ${name} up.`);
      await refresh();
    } catch (reason) {
      error(reason);
    } finally {
      button.disabled = false;
    }
  }

  async function restoreFrom(backup, button) {
    error("");
    if ((await ask($("#restore-dialog"), backup)) !== "restore") {
      button.focus();
      return;
    }
    try {
      await api(`${storePath(name)}/backups/${encodeURIComponent(backup.id)}/restore`, { method: "POST" });
      announce(`Restoring ${name}.`);
      await refresh();
    } catch (reason) {
      error(reason);
    }
  }

  async function cloneFrom(backup, button) {
    error("");
    const dialog = $("#clone-dialog");
    const input = $("#clone-name");
    setText($("#clone-error"), "");
    input.value = "";
    for (;;) {
      if ((await ask(dialog, backup)) !== "clone") {
        button.focus();
        return;
      }
      const newName = input.value.trim();
      if (!NAME_RULE.test(newName)) {
        setText($("#clone-error"), "3–40 lowercase letters, digits and single dashes, a letter first.");
        continue;
      }
      const store = current();
      const body = { name: newName, engine: store.engine, from_backup: { store: name, backup_id: backup.id } };
      if (store.engine === "medusa" && store.admin_email) body.admin_email = store.admin_email;
      try {
        await api("/api/v1/stores", { method: "POST", body });
        window.location.assign(`/stores/${encodeURIComponent(newName)}`);
        return;
      } catch (reason) {
        setText($("#clone-error"), reason instanceof ApiError ? reason.message : String(reason));
      }
    }
  }

  $("#b-create").addEventListener("click", create);
  return { refresh, render };
}
