"""File-backend housekeeping for ``Fleet``: stale locks of killed processes, checkpoint writes a
kill interrupted, and the traces ``pulumi stack rm`` leaves behind.

With the file backend a crashed ``pulumi`` leaves its lock file under
``.pulumi/locks/organization/<project>/<stack>/``. A lock whose process is gone (same host, dead
pid) is stale and removed; a lock held by a live process means the store is busy. The waiting is
bounded: a killed Automation API host's ``pulumi`` child usually exits within seconds once its
program server disappears.
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
from stacks.runtime import PROJECT_NAME, FleetConfig


def _backend_root(config: FleetConfig) -> Path | None:
    url = config.resolved_backend_url()
    if not url.startswith("file://"):
        return None  # other backends manage their own leases and history
    return Path(urlparse(url).path) / ".pulumi"


def _lock_dir(config: FleetConfig, name: str) -> Path | None:
    root = _backend_root(config)
    return None if root is None else root / "locks" / "organization" / PROJECT_NAME / name


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
    if not _live_lock_holders(config, name, remove_stale=True):
        lock_dir = _lock_dir(config, name)
        if lock_dir is not None:
            shutil.rmtree(lock_dir, ignore_errors=True)


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


def _live_lock_holders(config: FleetConfig, name: str, *, remove_stale: bool = False) -> list[str]:
    """Who holds the stack's lock ("pid N on host"); with ``remove_stale``, locks of dead
    processes on this host are removed first."""
    lock_dir = _lock_dir(config, name)
    if lock_dir is None or not lock_dir.is_dir():
        return []
    host = socket.gethostname()
    holders = []
    for lock in lock_dir.glob("*.json"):
        try:
            content = json.loads(lock.read_text())
        except (OSError, ValueError):
            continue
        pid, lock_host = int(content.get("pid", 0)), content.get("hostname")
        if lock_host == host and not _alive(pid):
            if remove_stale:
                lock.unlink(missing_ok=True)
                lock.with_name(lock.name + ".attrs").unlink(missing_ok=True)  # the blob's metadata
        else:
            holders.append(f"pid {pid} on {lock_host}")
    return holders


def clear_stale_locks(config: FleetConfig, name: str, *, wait: float = 30.0) -> None:
    """Remove lock files of dead processes; raise ``StoreBusyError`` if a live one keeps its lock."""
    deadline = time.monotonic() + wait
    while True:
        holders = _live_lock_holders(config, name, remove_stale=True)
        if not holders:
            return
        if time.monotonic() >= deadline:
            raise StoreBusyError(f"store '{name}' is locked by another operation ({', '.join(holders)})")
        time.sleep(1.0)
