"""The lock objects Pulumi's self-managed (DIY) backends keep per stack, on a file backend or in an
S3-compatible object store: listed and removed by ``stacks.recovery``.

A running ``pulumi`` update writes ``.pulumi/locks/organization/<project>/<stack>/<uuid>.json``
(``{"pid", "username", "hostname", "timestamp"}``) next to the state and deletes it when it ends;
a killed one leaves it behind and every later operation on the stack fails with "the stack is
currently locked". ``stack_locks`` gives the lock store of a fleet's backend: the data dir's files
for ``file://``, the bucket (through boto3, with the same ``AWS_*`` variables and URL options the
pulumi CLI uses) for ``s3://``; ``None`` for a backend that manages its own leases (Pulumi Cloud).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from stacks.runtime import PROJECT_NAME, FleetConfig
from stacks.s3 import open_bucket


@dataclasses.dataclass(frozen=True)
class StackLock:
    """One lock object: who wrote it and when."""

    key: str
    pid: int
    hostname: str
    timestamp: dt.datetime | None

    @property
    def holder(self) -> str:
        return f"pid {self.pid} on {self.hostname}"

    @classmethod
    def parse(cls, key: str, raw: bytes) -> StackLock | None:
        """The lock in ``raw``; ``None`` if it is not a readable lock (being written, or foreign)."""
        try:
            content = json.loads(raw)
            when = content.get("timestamp")
            return cls(
                key=key,
                pid=int(content.get("pid", 0)),
                hostname=str(content.get("hostname", "")),
                timestamp=dt.datetime.fromisoformat(when) if isinstance(when, str) else None,
            )
        except (ValueError, TypeError, AttributeError):
            return None


class LockStore(Protocol):
    """Where one backend keeps its stack locks."""

    def locks(self, name: str) -> list[StackLock]:
        """The store's stack's readable locks."""
        ...

    def remove(self, lock: StackLock) -> None:
        """Delete one lock (and its metadata); a missing one is fine."""
        ...


def _lock_prefix(name: str) -> str:
    return f".pulumi/locks/organization/{PROJECT_NAME}/{name}/"


class FileLocks:
    """Locks of a ``file://`` backend: files under the state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root  # the folder that holds ``.pulumi``

    def folder(self, name: str) -> Path:
        return self.root / _lock_prefix(name)

    def locks(self, name: str) -> list[StackLock]:
        found = []
        for path in sorted(self.folder(name).glob("*.json")):
            try:
                lock = StackLock.parse(str(path), path.read_bytes())
            except OSError:
                continue
            if lock is not None:
                found.append(lock)
        return found

    def remove(self, lock: StackLock) -> None:
        path = Path(lock.key)
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".attrs").unlink(missing_ok=True)  # the blob's metadata


class ObjectStoreLocks:
    """Locks of an ``s3://bucket[/prefix]?endpoint=...&disableSSL=...&region=...`` backend."""

    def __init__(self, url: str) -> None:
        self._bucket = open_bucket(url)
        self._client = self._bucket.client
        self.bucket = self._bucket.name
        self.prefix = self._bucket.prefix

    def keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix`` (relative to the backend's root)."""
        return self._bucket.keys(prefix)

    def locks(self, name: str) -> list[StackLock]:
        found = []
        for key in self.keys(_lock_prefix(name)):
            if not key.endswith(".json"):
                continue
            try:
                body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except self._client.exceptions.NoSuchKey:
                continue  # released while we listed
            lock = StackLock.parse(key, body)
            if lock is not None:
                found.append(lock)
        return found

    def remove(self, lock: StackLock) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=lock.key)


def stack_locks(config: FleetConfig) -> LockStore | None:
    """The lock store of the fleet's backend; ``None`` where the backend keeps no lock objects."""
    url = config.resolved_backend_url()
    if url.startswith("file://"):
        return FileLocks(Path(urlparse(url).path))
    if url.startswith("s3://"):
        return _object_store(url)
    return None


@functools.cache
def _object_store(url: str) -> ObjectStoreLocks:
    return ObjectStoreLocks(url)  # one client per backend: boto3 clients are thread-safe
