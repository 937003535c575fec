"""Engine processes a control-plane process started, recorded so that the next one on the host
stops those a killed one left behind.

The Automation API runs the ``pulumi`` CLI as a child, and pulumi starts its provider plugins in
process groups of their own: when ``storestack serve`` or ``worker`` is SIGKILLed, they outlive it,
re-parented to init, each holding memory and a connection to the cluster. ``ProcessLedger`` writes
this process's descendants (pid and start time, from ``/proc``) to ``<dir>/<host>-<pid>-<start>.json``
every ``interval`` seconds, and ``stacks.Fleet`` marks the environment of its pulumi processes
(inherited by their plugins) with its owner (``OWNER_VAR``); ``reap_leftovers`` (at start) stops
every process recorded in a ledger, or marked, whose owner on this host is gone and that still runs
with the same start time, so a reused pid is never touched and nothing is chosen by its name.
Called by ``api.cli``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path

log = logging.getLogger("storestack.fleet")

OWNER_VAR = "STORESTACK_ENGINE_OWNER"
"""Set in the environment of every pulumi process a ``Fleet`` starts (its plugins inherit it):
``<host>-<pid>-<start time>`` of the process that owns them. A plugin started in the last moment
before a SIGKILL, too late for the ledger, is still found by it."""


def owner_token(pid: int | None = None) -> str:
    """This process's (or ``pid``'s) owner mark: host, pid and start time."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}-{pid}-{start_time(pid)}"


def _environ_owner(pid: int) -> str | None:
    try:
        for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if item.startswith(OWNER_VAR.encode() + b"="):
                return item.split(b"=", 1)[1].decode()
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _marked_by_dead_owners(host: str) -> list[tuple[int, int | None]]:
    """Running processes whose owner mark names a process of this host that is gone."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        mark = _environ_owner(pid)
        if not mark or not mark.startswith(host + "-"):
            continue
        try:
            owner, owner_start = (int(x) for x in mark[len(host) + 1 :].split("-"))
        except ValueError:
            continue
        if not running(owner, owner_start):
            found.append((pid, start_time(pid)))
    return found


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def running(pid: int, started: int | None) -> bool:
    """Whether ``pid`` is still the process that started at ``started`` and has not exited (a
    zombie waiting for its parent to reap it counts as exited)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z" and int(fields[19]) == started
    except (OSError, ValueError, IndexError):
        return False


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return parents


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` in the process tree, now."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found, queue = [], list(children.get(pid, []))
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")
    except (OSError, UnicodeDecodeError):
        return []


def interrupt_engine(pulumi: Path, stack: str) -> list[int]:
    """Send SIGINT to this process's own ``pulumi`` CLI children working on ``stack`` (pulumi
    then cancels the update gracefully: in-flight resource operations finish, the state is saved,
    the lock released); returns their pids."""
    sent, target = [], pulumi.resolve()
    for pid in descendants(os.getpid()):
        argv = _argv(pid)
        if not argv or Path(argv[0]).resolve() != target:
            continue
        if any(a == "--stack" and b == stack for a, b in itertools.pairwise(argv)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
                sent.append(pid)
    return sent


class ProcessLedger:
    """This process's engine processes, on disk; see the module docstring."""

    def __init__(self, directory: Path, *, interval: float = 1.0) -> None:
        self.directory = directory
        self.interval = interval
        self.pid = os.getpid()
        self.host = socket.gethostname()
        me = start_time(self.pid)
        self.path = directory / f"{self.host}-{self.pid}-{me}.json"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reap_leftovers(self, *, grace: float = 3.0) -> list[int]:
        """Stop the processes recorded by dead owners on this host; returns their pids."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stopped: list[int] = []
        for ledger in sorted(self.directory.glob(f"{self.host}-*.json")):
            if ledger == self.path:
                continue
            try:
                record = json.loads(ledger.read_text())
                owner, owner_start = int(record["pid"]), record["start"]
                processes = [(int(p), s) for p, s in record["processes"]]
            except (OSError, ValueError, KeyError, TypeError):
                ledger.unlink(missing_ok=True)
                continue
            if owner_start is not None and running(owner, owner_start):
                continue  # its owner still runs
            stopped += _stop_all([(p, s) for p, s in processes if running(p, s)], grace=grace)
            ledger.unlink(missing_ok=True)
        stopped += _stop_all(
            [(p, s) for p, s in _marked_by_dead_owners(self.host) if running(p, s)], grace=grace
        )
        if stopped:
            log.warning(
                "stopped %d engine processes left by a killed control plane: %s", len(stopped), stopped
            )
        return stopped

    def record(self) -> None:
        """Write this process's descendants now."""
        processes = [[pid, start_time(pid)] for pid in descendants(self.pid)]
        record = {"pid": self.pid, "start": start_time(self.pid), "processes": processes}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self.path)

    def start(self) -> None:
        """Record every ``interval`` seconds in a daemon thread until ``stop``."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._thread = threading.Thread(target=self._run, name="storestack-process-ledger", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.record()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """Stop recording and remove this process's ledger (a clean exit leaves nothing to reap)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.path.unlink(missing_ok=True)


def _stop_all(processes: list[tuple[int, int | None]], *, grace: float) -> list[int]:
    stopped = []
    for pid, _start in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(running(p, s) for p, s in processes):
        time.sleep(0.1)
    for pid, started in processes:
        if running(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return stopped
