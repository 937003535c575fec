"""Backups of a store in an S3-compatible bucket: made, listed, restored, pruned.

``stacks.Fleet.backups`` gives a ``Backups`` for the fleet's bucket (``FleetConfig.backup_url``); the
library, notebooks and the tests call it.

A backup is the engine's parts (``stacks.backup_parts``: a consistent database dump and an archive
of the app's files), each made by the engine's own tools in the store's own containers through the
API server's exec (``kubectl exec``), streamed to the control plane, hashed and uploaded. The
bucket's credentials never enter a store's namespace: a store that holds a key to the bucket could
read or delete every store's backups, its own included. That is also why a schedule belongs to the
control plane, not to a CronJob in the store's namespace.

In the bucket: ``<prefix>/<store>/<id>/<part>`` and ``<prefix>/<store>/<id>/manifest.json``. The
manifest is written last and is what makes a backup complete: a backup without one (it failed, or
is still being made) is never listed or restored, and ``prune`` removes its parts once it is an hour
old. The manifest holds no secret: store, engine, images, sizes, sha256 and times.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from pydantic import BaseModel, SecretStr, ValidationError

from stacks.backup_parts import PLANS, EnginePlan, Part, Rebind
from stacks.errors import FleetError
from stacks.s3 import Bucket, open_bucket

MANIFEST = "manifest.json"
PART_TIMEOUT_SECONDS = 1800  # one part's dump or load; a hung exec is killed after it
ORPHAN_AGE = dt.timedelta(hours=1)  # an incomplete backup's parts older than this are removed
CHUNK = 1 << 20


class BackupError(FleetError):
    """A backup or restore could not be done; the message says which part and why."""

    code = "backup_failed"


class BackupNotFoundError(FleetError):
    code = "backup_not_found"


class PartInfo(BaseModel):
    key: str
    size: int
    sha256: str


class Backup(BaseModel):
    """A complete backup, as its manifest says."""

    id: str
    store: str
    engine: str
    kind: str  # manual, scheduled
    created_at: dt.datetime
    seconds: float
    images: dict[str, str]  # container -> image the data was made with
    parts: dict[str, PartInfo]

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts.values())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class _Hashing:
    """A write-only file that hashes and counts what goes through it to ``out``."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.digest, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


class Backups:
    """The backups of a fleet's stores in one bucket, made and restored with ``kubectl``."""

    def __init__(self, url: str, kubectl: Sequence[str], *, log: Callable[[str], None] | None = None) -> None:
        try:
            self._bucket: Bucket = open_bucket(url, read_timeout=60)
        except ValueError as exc:
            raise BackupError(f"backup_url: {exc}") from None
        self._kubectl = list(kubectl)
        self._log = log or (lambda _line: None)

    # -- making -----------------------------------------------------------------------------

    def create(self, store: str, *, engine: str, namespace: str, kind: str = "manual") -> Backup:
        """Back the store up now; returns the complete backup. Raises ``BackupError`` (and leaves
        no manifest) when a part cannot be made whole."""
        plan = _plan(engine)
        started, clock = utcnow(), time.monotonic()
        backup_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        images = self._images(namespace, plan)
        parts: dict[str, PartInfo] = {}
        try:
            for part in plan.parts:
                self._log(f"[backup {store}] {part.name}: dumping from {part.target}")
                parts[part.name] = self._make(store, backup_id, namespace, part)
        except BaseException:
            self._delete_keys([info.key for info in parts.values()])
            raise
        backup = Backup(
            id=backup_id,
            store=store,
            engine=engine,
            kind=kind,
            created_at=started,
            seconds=round(time.monotonic() - clock, 2),
            images=images,
            parts=parts,
        )
        self._bucket.client.put_object(
            Bucket=self._bucket.name,
            Key=self._key(store, backup_id, MANIFEST),
            Body=backup.model_dump_json(indent=2).encode(),
            ContentType="application/json",
        )
        self._log(f"[backup {store}] {backup_id} complete: {backup.size} bytes in {backup.seconds}s")
        return backup

    def _make(self, store: str, backup_id: str, namespace: str, part: Part) -> PartInfo:
        with tempfile.TemporaryFile() as spool:
            hashing = _Hashing(spool)
            tail = b""
            with self._exec(namespace, part, part.dump, stdin=False, what=f"making {part.name}") as proc:
                assert proc.stdout is not None
                sink: Any = gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0) if part.gzip else hashing
                for chunk in iter(lambda: proc.stdout.read(CHUNK), b""):  # type: ignore[union-attr]
                    sink.write(chunk)
                    tail = (tail + chunk)[-512:]
                if part.gzip:
                    sink.close()
            if part.complete_marker is not None and part.complete_marker not in tail:
                raise BackupError(f"{part.name}: the dump from {part.target} ended before it was complete")
            spool.seek(0)
            key = self._key(store, backup_id, part.name)
            self._bucket.client.upload_fileobj(spool, self._bucket.name, key)
            return PartInfo(key=key, size=hashing.size, sha256=hashing.digest.hexdigest())

    @contextlib.contextmanager
    def _exec(
        self, namespace: str, where: Part | Rebind, script: str, *, stdin: bool, what: str
    ) -> Iterator[subprocess.Popen[bytes]]:
        """``kubectl exec`` of ``script`` in the container of ``where``; raises ``BackupError`` naming
        ``what`` with the tail of its stderr when it fails; killed after ``PART_TIMEOUT_SECONDS``."""
        argv = [*self._kubectl, "exec", "-n", namespace, "-c", where.container]
        argv += ["-i"] if stdin else []
        argv += [where.target, "--", "sh", "-c", script]
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL if stdin else subprocess.PIPE,
                stderr=errors,
            )
            watchdog = threading.Timer(PART_TIMEOUT_SECONDS, proc.kill)
            watchdog.start()
            try:
                yield proc
                if proc.stdin is not None:
                    with contextlib.suppress(BrokenPipeError):
                        proc.stdin.close()
                code = proc.wait()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                watchdog.cancel()
            if code != 0:
                errors.seek(0)
                reason = errors.read()[-600:].decode(errors="replace").strip() or f"exit code {code}"
                raise BackupError(f"{what} in {where.target} failed: {reason}")

    def _images(self, namespace: str, plan: EnginePlan) -> dict[str, str]:
        containers = {part.container for part in plan.parts}
        try:
            out = subprocess.run(
                [*self._kubectl, "get", "pods", "-n", namespace, "-o", "json"],
                capture_output=True,
                timeout=30,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise BackupError(f"the store's pods could not be read: {type(exc).__name__}") from None
        images: dict[str, str] = {}
        for pod in json.loads(out)["items"]:
            for container in pod["spec"]["containers"]:
                if container["name"] in containers:
                    images[container["name"]] = container["image"]
        return images

    # -- reading ----------------------------------------------------------------------------

    def list(self, store: str) -> list[Backup]:
        """The store's complete backups, newest first."""
        found = []
        for key in self._bucket.keys(f"{store}/"):
            if key.endswith("/" + MANIFEST):
                with contextlib.suppress(ValidationError, self._bucket.client.exceptions.NoSuchKey):
                    found.append(self._read_manifest(key))
        return sorted(found, key=lambda b: (b.created_at, b.id), reverse=True)

    def get(self, store: str, backup_id: str) -> Backup:
        try:
            return self._read_manifest(self._key(store, backup_id, MANIFEST))
        except self._bucket.client.exceptions.NoSuchKey:
            raise BackupNotFoundError(f"store {store} has no complete backup {backup_id}") from None

    def _read_manifest(self, key: str) -> Backup:
        body = self._bucket.client.get_object(Bucket=self._bucket.name, Key=key)["Body"].read()
        return Backup.model_validate_json(body)

    # -- restoring --------------------------------------------------------------------------

    def restore(self, backup: Backup, *, store: str, namespace: str) -> None:
        """Put the backup's data into ``store`` (the one it was made of, or a clone of it with the
        same engine): each part is downloaded and its sha256 checked before anything is changed,
        then loaded; the app's pods are restarted and waited for."""
        plan = _plan(backup.engine)
        with contextlib.ExitStack() as stack:
            files: dict[str, IO[bytes]] = {}
            for part in plan.parts:
                info = backup.parts.get(part.name)
                if info is None:
                    raise BackupError(f"backup {backup.id} has no {part.name}")
                files[part.name] = stack.enter_context(tempfile.TemporaryFile())
                self._download(info, files[part.name])
            for part in plan.parts:
                self._log(f"[restore {store}] {part.name}: loading into {part.target}")
                spool = files[part.name]
                with self._exec(namespace, part, part.load, stdin=True, what=f"loading {part.name}") as proc:
                    source: Any = gzip.GzipFile(fileobj=spool, mode="rb") if part.gzip else spool
                    _feed(proc, part.load_prefix, source)
        self._restart_app(plan, namespace)

    def rebind(
        self, engine: str, *, namespace: str, url: str, login: str, email: str, password: SecretStr
    ) -> None:
        """Make restored data of another store this store's own (a clone): its URL, and its admin
        with this store's password (sent on stdin, never in an argv)."""
        rebind = _plan(engine).rebind
        self._log(f"[clone {namespace}] making the data the store's own ({url}, admin {login})")
        with self._exec(
            namespace, rebind, rebind.script(url, login, email), stdin=True, what="rebinding"
        ) as proc:
            _feed(proc, password.get_secret_value().encode() + b"\n", io.BytesIO())

    def _download(self, info: PartInfo, out: IO[bytes]) -> None:
        hashing = _Hashing(out)
        try:
            self._bucket.client.download_fileobj(self._bucket.name, info.key, hashing)
        except self._bucket.client.exceptions.ClientError as exc:
            raise BackupError(f"{info.key} could not be read: {exc.response['Error'].get('Code')}") from None
        if hashing.digest.hexdigest() != info.sha256 or hashing.size != info.size:
            raise BackupError(f"{info.key} is damaged: its sha256 or size is not the manifest's")
        out.seek(0)

    def _restart_app(self, plan: EnginePlan, namespace: str) -> None:
        kubectl = [*self._kubectl, "-n", namespace]
        for args in (
            # --wait: until the old pods are gone, so the rollout status is the new pods'
            ["delete", "pods", "-l", f"app.kubernetes.io/name={plan.app_deployment}", "--timeout=300s"],
            ["rollout", "status", f"deploy/{plan.app_deployment}", "--timeout=600s"],
        ):
            done = subprocess.run([*kubectl, *args], capture_output=True, text=True, timeout=660, check=False)
            if done.returncode != 0:
                raise BackupError(
                    f"the app did not come back after the restore: {done.stderr.strip()[-300:]}"
                )

    # -- pruning ----------------------------------------------------------------------------

    def prune(
        self, store: str, *, keep_daily: int, keep_weekly: int, now: dt.datetime | None = None
    ) -> builtins.list[str]:
        """Delete the scheduled backups retention does not keep: the newest of each of the last
        ``keep_daily`` days that have one and of the last ``keep_weekly`` ISO weeks, and always the
        newest; and the parts of incomplete backups older than an hour. Backups made on demand are
        the user's: they stay until deleted (or the store is). Returns the deleted ids."""
        now = now or utcnow()
        backups = self.list(store)
        scheduled = [b for b in backups if b.kind == "scheduled"]
        kept = set(keep_ids(scheduled, keep_daily=keep_daily, keep_weekly=keep_weekly))
        deleted = [b.id for b in scheduled if b.id not in kept]
        complete = {b.id for b in backups}
        stale: builtins.list[str] = []
        for key in self._bucket.keys(f"{store}/"):
            backup_id = key.rsplit("/", 2)[-2]
            orphan = backup_id not in complete and _started(backup_id) < now - ORPHAN_AGE
            if backup_id in deleted or orphan:
                stale.append(key)
        # The manifest goes first: a backup half deleted is incomplete, never listed.
        self._delete_keys(sorted(stale, key=lambda k: not k.endswith(MANIFEST)))
        return deleted

    def purge(self, store: str, *, made_before: dt.datetime, keep: str | None = None) -> int:
        """Delete every object of the store's backups made before ``made_before`` (a deleted
        store's, not those of a later store of the same name), complete or not, except the backup
        ``keep``; returns how many backups went."""
        gone: set[str] = set()
        keys = []
        for key in self._bucket.keys(f"{store}/"):
            backup_id = key.rsplit("/", 2)[-2]
            if backup_id != keep and _started(backup_id) < made_before:
                keys.append(key)
                gone.add(backup_id)
        self._delete_keys(sorted(keys, key=lambda k: not k.endswith(MANIFEST)))
        return len(gone)

    def delete(self, store: str, backup_id: str) -> None:
        self.get(store, backup_id)
        keys = self._bucket.keys(f"{store}/{backup_id}/")
        self._delete_keys(sorted(keys, key=lambda k: not k.endswith(MANIFEST)))

    def _delete_keys(self, keys: builtins.list[str]) -> None:
        for key in keys:
            self._bucket.client.delete_object(Bucket=self._bucket.name, Key=key)

    def _key(self, store: str, backup_id: str, name: str) -> str:
        return self._bucket.key(f"{store}/{backup_id}/{name}")


def _feed(proc: subprocess.Popen[bytes], prefix: bytes, source: IO[bytes]) -> None:
    """Write ``prefix`` then ``source`` to the process's stdin. A process that stops reading (it
    failed) ends the writing quietly: its exit code and stderr say why."""
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(prefix)
        for chunk in iter(lambda: source.read(CHUNK), b""):
            proc.stdin.write(chunk)


def keep_ids(backups: Sequence[Backup], *, keep_daily: int, keep_weekly: int) -> list[str]:
    """Which backups retention keeps (grandfather-father-son): the newest of each day, for the
    ``keep_daily`` newest days that have a backup; the same per ISO week; and the newest overall."""
    newest_first = sorted(backups, key=lambda b: (b.created_at, b.id), reverse=True)
    kept: list[str] = [newest_first[0].id] if newest_first else []
    for count, period in ((keep_daily, _day), (keep_weekly, _week)):
        seen: list[tuple[int, ...]] = []
        for backup in newest_first:
            key = period(backup.created_at)
            if key not in seen and len(seen) < count:
                seen.append(key)
                kept.append(backup.id)
    return sorted(set(kept))


def _day(when: dt.datetime) -> tuple[int, ...]:
    return (when.year, when.month, when.day)


def _week(when: dt.datetime) -> tuple[int, ...]:
    year, week, _ = when.isocalendar()
    return (year, week)


def _started(backup_id: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(backup_id.split("-")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)  # not ours: old enough to go


def _plan(engine: str) -> EnginePlan:
    try:
        return PLANS[engine]
    except KeyError:
        raise BackupError(f"no backup plan for engine {engine!r}") from None
