"""A throwaway S3-compatible object store (versitygw from the tool cache), for the tests that keep
Pulumi state in an ``s3://`` backend instead of a local directory.

The session fixture ``object_store`` (tests/conftest.py) starts one per test session: versitygw's
POSIX backend serving a temporary directory on a free loopback port, with random root
credentials and one empty bucket, stopped afterwards. ``ObjectStore`` is what a test gets: the
Pulumi backend URL, the AWS variables the engine needs to reach it, and a listing of the
bucket's keys to check what the engine wrote (stack state, locks). Nothing outside the test run
can reach it. The data directory's filesystem must support user extended attributes (ext4, xfs,
btrfs; tmpfs only since Linux 6.6): versitygw stores object metadata in them and refuses to start
without them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.live import free_port

BUCKET = "storestack"
START_TIMEOUT = 20.0


class ObjectStoreError(RuntimeError):
    """The object store could not be started."""


@dataclasses.dataclass(frozen=True)
class ObjectStore:
    """A running object store: where it listens, its root credentials and the tests' bucket."""

    endpoint: str  # "127.0.0.1:PORT", plain HTTP
    access_key: str
    secret_key: str
    bucket: str
    region: str = "us-east-1"

    @property
    def backend_url(self) -> str:
        """The Pulumi DIY backend URL (gocloud.dev s3blob) for the bucket.

        The AWS SDK v1 parameter names; pulumi since v3.274 rewrites them for the SDK v2 driver
        (``disable_https``, an ``http://`` endpoint, checksums only when required).
        """
        return self.url()

    def url(self, prefix: str = "") -> str:
        """``backend_url`` with a key prefix: ``s3://bucket/prefix?...`` (the backups' form too)."""
        path = f"/{prefix}" if prefix else ""
        return (
            f"s3://{self.bucket}{path}?endpoint={self.endpoint}&disableSSL=true&s3ForcePathStyle=true"
            f"&region={self.region}"
        )

    def env(self) -> dict[str, str]:
        """The environment variables the Pulumi engine needs to reach the bucket."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }

    def client(self) -> Any:
        """A boto3 S3 client for the store (path-style addressing, this region)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=f"http://{self.endpoint}",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under ``prefix``, sorted."""
        found: list[str] = []
        paginator = self.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return sorted(found)


class ObjectStoreServer:
    """versitygw on ``root/data`` (its log in ``root/log``), serving one bucket on loopback."""

    def __init__(self, root: Path, tools: Path, bucket: str = BUCKET) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "log"
        self.binary = tools / "bin" / "versitygw"
        self.port = free_port()
        self.bucket = bucket
        self._proc: subprocess.Popen[bytes] | None = None

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _wait_for_port(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise ObjectStoreError(
                    f"versitygw exited with code {proc.returncode}; last lines of {self.log}:\n"
                    + self._log_tail()
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return
            if time.monotonic() > deadline:
                raise ObjectStoreError(
                    f"versitygw did not answer on 127.0.0.1:{self.port} within {START_TIMEOUT:.0f}s; "
                    f"last lines of {self.log}:\n" + self._log_tail()
                )
            time.sleep(0.1)

    def start(self) -> ObjectStore:
        if not self.binary.exists():
            raise ObjectStoreError(f"{self.binary} is missing; run `make setup`")
        self.data.mkdir(parents=True, exist_ok=True)
        store = ObjectStore(
            endpoint=f"127.0.0.1:{self.port}",
            access_key=secrets.token_hex(10).upper(),
            secret_key=secrets.token_hex(20),
            bucket=self.bucket,
        )
        # versitygw reads its settings from VGW_* and ROOT_* variables too; a developer's shell
        # must not change this server.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VGW_", "ROOT_"))}
        args = [
            str(self.binary),
            "--access",
            store.access_key,
            "--secret",
            store.secret_key,
            "--region",
            store.region,
            "--port",
            store.endpoint,
            "--quiet",
            "posix",
            str(self.data),
        ]
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        try:
            self._wait_for_port(self._proc)
            store.client().create_bucket(Bucket=self.bucket)
        except Exception:
            self.stop()
            raise
        return store

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
