"""Cancelling a store's operation at any moment (``stacks.cancel``), and the lock files a killed
engine leaves, removed with the store (``stacks.recovery.purge_traces``)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from stacks.cancel import cancel_operation, register_operation
from stacks.errors import OperationFailedError
from stacks.recovery import purge_traces
from stacks.runtime import FleetConfig


class Engine:
    """Stands for the pulumi CLI: counts the SIGINTs it would get."""

    def __init__(self) -> None:
        self.interrupts = 0

    def interrupt(self) -> None:
        self.interrupts += 1


def test_a_cancel_before_the_engine_starts_stops_the_operation_at_its_checkpoint() -> None:
    engine = Engine()
    with register_operation("early", "up", engine.interrupt) as op:
        assert cancel_operation("early") is True
        with pytest.raises(OperationFailedError) as caught:
            op.checkpoint()
    assert caught.value.code == "cancelled" and caught.value.temporary
    assert "up of store 'early' was cancelled" in caught.value.message
    assert engine.interrupts == 0  # nothing ran that could be interrupted


def test_an_engine_started_just_after_a_cancel_is_interrupted_at_its_first_event() -> None:
    engine, seen = Engine(), []
    with register_operation("racy", "up", engine.interrupt) as op:
        op.checkpoint()  # passed: the cancel comes after it, before the engine's first event
        cancel_operation("racy")
        on_event = op.guard(seen.append)
        on_event("prelude")
        on_event("step")
    assert engine.interrupts == 1  # once: a second SIGINT would stop pulumi without saving
    assert seen == ["prelude", "step"]


def test_a_cancel_while_the_engine_runs_interrupts_it_once() -> None:
    engine = Engine()
    with register_operation("running", "destroy", engine.interrupt) as op:
        on_event = op.guard(lambda _e: None)
        on_event("prelude")
        cancel_operation("running")
        cancel_operation("running")
        on_event("step")
    assert engine.interrupts == 1


def test_cancels_from_many_threads_interrupt_once() -> None:
    engine = Engine()
    with register_operation("busy", "up", engine.interrupt) as op:
        on_event = op.guard(lambda _e: None)
        threads = [threading.Thread(target=cancel_operation, args=("busy",)) for _ in range(8)]
        for t in threads:
            t.start()
        on_event("prelude")
        for t in threads:
            t.join()
    assert engine.interrupts == 1


def test_a_mark_belongs_to_one_operation() -> None:
    engine = Engine()
    assert cancel_operation("idle") is False  # nothing runs: nothing to mark
    with register_operation("shop", "up", engine.interrupt):
        cancel_operation("shop")
    with register_operation("shop", "destroy", engine.interrupt) as op:
        op.checkpoint()  # the destroy that follows a cancelled up is not cancelled
        op.guard(lambda _e: None)("prelude")
    assert engine.interrupts == 0
    assert cancel_operation("shop") is False


def _config(tmp_path: Path) -> FleetConfig:
    return FleetConfig(data_dir=tmp_path, passphrase=SecretStr("x"), tools_dir=tmp_path / "tools")


def _lock(config: FleetConfig, name: str, pid: int) -> Path:
    folder = config.state_dir / ".pulumi" / "locks" / "organization" / "storestack" / name
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / f"{pid}.json"
    lock.write_text(json.dumps({"pid": pid, "hostname": socket.gethostname()}))
    return lock


def test_a_dead_engines_lock_goes_with_the_store(tmp_path: Path) -> None:
    config = _config(tmp_path)
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    lock = _lock(config, "gone", int(dead.stdout))
    purge_traces(config, "gone")
    assert not lock.parent.exists()


def test_a_live_engines_lock_is_left_alone(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with subprocess.Popen(["sleep", "30"]) as live:
        lock = _lock(config, "busy", live.pid)
        purge_traces(config, "busy")
        assert lock.exists()
        live.kill()
