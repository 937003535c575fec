"""Stack lock recovery (``stacks.recovery``, ``stacks.locks``) on both kinds of self-managed backend:
the data dir's files and a real S3-compatible object store (versitygw). The locks are written in
the shape the pulumi CLI writes them (``.pulumi/locks/organization/<project>/<stack>/<uuid>.json``);
the engine's own locks, left by a killed worker, are in ``tests/e2e/test_replicas_e2e.py``."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from stacks.errors import StoreBusyError
from stacks.locks import StackLock, stack_locks
from stacks.recovery import clear_stale_locks
from stacks.runtime import PROJECT_NAME, FleetConfig
from tests.objstore import ObjectStore

Writer = Callable[[str, bytes], str]


@pytest.fixture(params=["file", "s3"])
def backend(
    request: pytest.FixtureRequest, tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[FleetConfig, Writer]:
    """A fleet config on one backend, and a writer of lock objects into it (returns the key)."""
    config = FleetConfig(data_dir=tmp_path / "data", passphrase=SecretStr("x"), tools_dir=tools)
    if request.param == "file":
        root = config.state_dir

        def write_file(key: str, body: bytes) -> str:
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            return str(path)

        return config, write_file
    store: ObjectStore = request.getfixturevalue("object_store")
    for name, value in store.env().items():
        monkeypatch.setenv(name, value)
    client = store.client()

    def write_object(key: str, body: bytes) -> str:
        client.put_object(Bucket=store.bucket, Key=key, Body=body)
        return key

    return config.model_copy(update={"backend_url": store.backend_url}), write_object


def _lock(write: Writer, stack: str, *, pid: int, host: str) -> str:
    body = json.dumps(
        {"pid": pid, "username": "root", "hostname": host, "timestamp": dt.datetime.now(dt.UTC).isoformat()}
    ).encode()
    return write(f".pulumi/locks/organization/{PROJECT_NAME}/{stack}/{uuid.uuid4()}.json", body)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _stack() -> str:
    return f"lock-{secrets.token_hex(3)}"


def test_a_dead_process_lock_on_this_host_is_removed(backend: tuple[FleetConfig, Writer]) -> None:
    config, write = backend
    name = _stack()
    _lock(write, name, pid=_dead_pid(), host=socket.gethostname())
    store = stack_locks(config)
    assert store is not None and len(store.locks(name)) == 1
    assert clear_stale_locks(config, name, wait=0) == []
    assert store.locks(name) == []


def test_a_live_process_lock_keeps_the_store_busy(backend: tuple[FleetConfig, Writer]) -> None:
    config, write = backend
    name = _stack()
    _lock(write, name, pid=os.getpid(), host=socket.gethostname())
    with pytest.raises(StoreBusyError, match=rf"pid {os.getpid()} on {socket.gethostname()}"):
        clear_stale_locks(config, name, wait=0)
    store = stack_locks(config)
    assert store is not None and len(store.locks(name)) == 1, "a live process's lock must stay"


def test_a_foreign_lock_is_removed_after_the_grace(backend: tuple[FleetConfig, Writer]) -> None:
    config, write = backend
    name = _stack()
    _lock(write, name, pid=4242, host="another-host")
    graced = config.model_copy(update={"foreign_lock_grace_seconds": 1.5})
    assert clear_stale_locks(graced, name, wait=0) == ["pid 4242 on another-host"]
    store = stack_locks(config)
    assert store is not None and store.locks(name) == []


def test_without_a_grace_a_foreign_lock_is_never_removed(backend: tuple[FleetConfig, Writer]) -> None:
    config, write = backend
    name = _stack()
    _lock(write, name, pid=4242, host="another-host")
    with pytest.raises(StoreBusyError, match="another-host"):
        clear_stale_locks(config, name, wait=0)
    store = stack_locks(config)
    assert store is not None and len(store.locks(name)) == 1


def test_unreadable_lock_objects_are_neither_locks_nor_removed(backend: tuple[FleetConfig, Writer]) -> None:
    config, write = backend
    name = _stack()
    write(f".pulumi/locks/organization/{PROJECT_NAME}/{name}/{uuid.uuid4()}.json", b"{half")
    store = stack_locks(config)
    assert store is not None and store.locks(name) == []
    assert clear_stale_locks(config, name, wait=0) == []


def test_lock_parse_reads_what_pulumi_writes() -> None:
    raw = b'{"pid":7,"username":"u","hostname":"h","timestamp":"2026-12-05T05:00:00.5+00:00"}'
    lock = StackLock.parse("k", raw)
    assert lock is not None and lock.holder == "pid 7 on h"
    assert lock.timestamp == dt.datetime(2026, 12, 5, 5, 0, 0, 500000, tzinfo=dt.UTC)
    assert StackLock.parse("k", b"[]") is None


def test_a_backend_prefix_is_kept_in_the_keys(
    object_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stacks.locks import ObjectStoreLocks

    for name, value in object_store.env().items():
        monkeypatch.setenv(name, value)
    url = object_store.backend_url.replace(
        f"s3://{object_store.bucket}?", f"s3://{object_store.bucket}/team-a?"
    )
    locks = ObjectStoreLocks(url)
    stack = _stack()
    key = f"team-a/.pulumi/locks/organization/{PROJECT_NAME}/{stack}/{uuid.uuid4()}.json"
    object_store.client().put_object(
        Bucket=object_store.bucket, Key=key, Body=b'{"pid":1,"hostname":"h","timestamp":null}'
    )
    [lock] = locks.locks(stack)
    assert lock.key == key
    locks.remove(lock)
    assert object_store.keys(f"team-a/.pulumi/locks/organization/{PROJECT_NAME}/{stack}/") == []
