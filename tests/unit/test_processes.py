"""The process ledger: engine processes of a SIGKILLed control plane are stopped by the next one's
start, identified by pid and start time (a reused pid, or a live owner's processes, are never hit)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from stacks.processes import ProcessLedger, running, start_time

OWNER = """
import subprocess, sys, time
from pathlib import Path
from stacks.processes import ProcessLedger
ledger = ProcessLedger(Path(sys.argv[1]))
plugin = subprocess.Popen(["sleep", "300"], start_new_session=True)  # like pulumi's plugins
ledger.record()
print(plugin.pid, flush=True)
time.sleep(300)
"""


def _gone(pid: int, started: int | None, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not running(pid, started):
            return True
        time.sleep(0.1)
    return False


def test_a_killed_owners_processes_are_stopped_by_the_next_start(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path)], cwd=repo, stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    plugin = int(owner.stdout.readline())
    plugin_start = start_time(plugin)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert running(plugin, plugin_start)  # it outlived its owner
    stopped = ProcessLedger(tmp_path).reap_leftovers()
    assert stopped == [plugin]
    assert _gone(plugin, plugin_start)
    assert list(tmp_path.glob("*.json")) == []


def test_live_owners_and_reused_pids_are_left_alone(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        host = socket.gethostname()
        me = os.getpid()
        # a live owner (this test process) with the bystander recorded
        (tmp_path / f"{host}-{me}-{start_time(me)}.json").write_text(
            json.dumps(
                {
                    "pid": me,
                    "start": start_time(me),
                    "processes": [[bystander.pid, start_time(bystander.pid)]],
                }
            )
        )
        # a dead owner whose recorded pid now belongs to another process (another start time)
        (tmp_path / f"{host}-999999-1.json").write_text(
            json.dumps({"pid": 999999, "start": 1, "processes": [[bystander.pid, 12345]]})
        )
        assert ProcessLedger(tmp_path).reap_leftovers() == []
        assert bystander.poll() is None
        assert len(list(tmp_path.glob("*.json"))) == 1  # the dead owner's ledger is gone
    finally:
        bystander.kill()
        bystander.wait()


def test_a_clean_stop_leaves_no_ledger(tmp_path: Path) -> None:
    ledger = ProcessLedger(tmp_path, interval=0.05)
    ledger.start()
    time.sleep(0.2)
    assert ledger.path.exists()
    ledger.stop()
    assert not ledger.path.exists()


MARKED = """
import os, subprocess, sys, time
from stacks.processes import OWNER_VAR, owner_token
env = {**os.environ, OWNER_VAR: owner_token()}
plugin = subprocess.Popen(["sleep", "300"], start_new_session=True, env=env)  # started too late for a ledger
print(plugin.pid, flush=True)
time.sleep(300)
"""


def test_a_process_marked_with_a_dead_owner_is_stopped_without_any_ledger(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen([sys.executable, "-c", MARKED], cwd=repo, stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    plugin = int(owner.stdout.readline())
    plugin_start = start_time(plugin)
    bystander = subprocess.Popen(["sleep", "300"])  # unmarked: never touched
    try:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        assert ProcessLedger(tmp_path).reap_leftovers() == [plugin]
        assert _gone(plugin, plugin_start)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
