"""Backend housekeeping for ``Fleet``: stale locks of killed processes (file and object-store
backends, ``stacks.locks``), and on the file backend the checkpoint writes a kill interrupted and
the traces ``pulumi stack rm`` leaves behind.

A crashed ``pulumi`` leaves its lock under ``.pulumi/locks/organization/<project>/<stack>/``. A
lock whose process is gone (same host, dead pid) is stale and removed; a lock held by a live
process means the store is busy; a lock of another host is removed once it has outlived the grace
a fenced worker gets (``clear_stale_locks``). The waiting is bounded: a killed Automation API
host's ``pulumi`` child usually exits within seconds once its program server disappears.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

from stacks.errors import StoreBusyError
from stacks.locks import FileLocks, stack_locks
from stacks.runtime import PROJECT_NAME, FleetConfig


def _backend_root(config: FleetConfig) -> Path | None:
    url = config.resolved_backend_url()
    if not url.startswith("file://"):
        return None  # ``stack rm --remove-backups`` clears an object store's history
    return Path(urlparse(url).path) / ".pulumi"


def purge_traces(config: FleetConfig, name: str) -> None:
    """Remove what ``stack rm`` keeps in a file backend: the ``.bak`` checkpoint, backups, history
    and the empty lock folder (they hold the store's encrypted state). Call after ``stack rm``."""
    root = _backend_root(config)
    if root is None:
        return
    for folder in (root / "backups" / PROJECT_NAME / name, root / "history" / PROJECT_NAME / name):
        shutil.rmtree(folder, ignore_errors=True)
    for leftover in (root / "stacks" / PROJECT_NAME).glob(f"{name}.json*"):
        leftover.unlink(missing_ok=True)
    # A lock a killed pulumi left (one killed at the very start of a store's first update can leave
    # it even after the stack is gone) goes too; a live process's lock and its folder stay.
    store = stack_locks(config)
    if isinstance(store, FileLocks) and not _live_lock_holders(config, name, remove_stale=True):
        shutil.rmtree(store.folder(name), ignore_errors=True)


def repair_interrupted_writes(config: FleetConfig, name: str) -> None:
    """Undo a file-backend write that a kill interrupted, so the stack opens again.

    The file backend writes a checkpoint to a temporary file, then its ``.attrs`` sidecar, then
    renames the temporary file over the checkpoint. Killed in between, it leaves the previous
    checkpoint (intact), a ``.tmp`` file and an empty or partial ``.attrs``, which every later read
    fails on ("failed to load checkpoint: EOF"). A missing sidecar is read as default attributes,
    so the broken sidecar and the temporary file are removed; the checkpoint itself is kept.
    """
    root = _backend_root(config)
    if root is None or _live_lock_holders(config, name):
        return  # a running pulumi may be writing these files right now
    for leftover in (root / "stacks" / PROJECT_NAME).glob(f"{name}.json*"):
        if leftover.name.endswith(".tmp"):
            leftover.unlink(missing_ok=True)
        elif leftover.name.endswith(".attrs"):
            try:
                json.loads(leftover.read_text())
            except ValueError:
                leftover.unlink(missing_ok=True)
            except OSError:
                continue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(config: FleetConfig, name: str, seen: dict[str, float]) -> tuple[list[str], list[str]]:
    """One look at the stack's locks: removes those of dead processes on this host, and those of
    other hosts first seen (in ``seen``) at least ``foreign_lock_grace_seconds`` ago. Returns the
    holders still live and the foreign holders removed."""
    store = stack_locks(config)
    if store is None:
        return [], []
    host = socket.gethostname()
    grace = config.foreign_lock_grace_seconds
    live, removed = [], []
    for lock in store.locks(name):
        if lock.hostname == host:
            if _alive(lock.pid):
                live.append(lock.holder)
            else:
                store.remove(lock)
            continue
        first = seen.setdefault(lock.key, time.monotonic())
        if grace is not None and time.monotonic() - first >= grace:
            store.remove(lock)
            removed.append(lock.holder)
        else:
            live.append(lock.holder)
    return live, removed


def _live_lock_holders(config: FleetConfig, name: str, *, remove_stale: bool = False) -> list[str]:
    """Who holds the stack's lock ("pid N on host"); with ``remove_stale``, locks of dead
    processes on this host are removed first."""
    store = stack_locks(config)
    if store is None:
        return []
    if remove_stale:
        return _sweep(config.model_copy(update={"foreign_lock_grace_seconds": None}), name, {})[0]
    return [lock.holder for lock in store.locks(name)]


def clear_stale_locks(config: FleetConfig, name: str, *, wait: float = 30.0) -> list[str]:
    """Remove the locks of dead processes; raise ``StoreBusyError`` if a live one keeps its lock.

    A lock written on another host cannot be checked for a live process. The caller of an
    operation holds the store's lease (``api.reconciler``), and a worker that loses its lease stops
    its engine (which then releases the lock) within ``lease_seconds``; so a foreign lock still
    there ``foreign_lock_grace_seconds`` after it was first seen is a dead worker's, and removed.
    Without that setting (a notebook ``Fleet``) a foreign lock is never removed. Returns the
    foreign holders whose locks were removed."""
    grace = config.foreign_lock_grace_seconds or 0.0
    deadline = time.monotonic() + max(wait, grace + 2.0)
    seen: dict[str, float] = {}
    removed: list[str] = []
    while True:
        live, gone = _sweep(config, name, seen)
        removed += gone
        if not live:
            return removed
        if time.monotonic() >= deadline:
            raise StoreBusyError(f"store '{name}' is locked by another operation ({', '.join(live)})")
        time.sleep(1.0)
