"""A throwaway PostgreSQL server from the Debian packages, for the tests that need a real one.

Started on a free loopback port in a temporary directory (as the ``postgres`` user when the tests
run as root, since PostgreSQL refuses to run as root) and stopped afterwards. Trust auth on
127.0.0.1 only; nothing outside the test run can reach it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.live import free_port


@contextmanager
def temporary_database(admin_url: str, prefix: str = "storestack_test") -> Iterator[str]:
    """A new database on the server behind ``admin_url``, dropped (connections forced off) after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class PostgresError(RuntimeError):
    """The PostgreSQL test server could not be started."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise PostgresError("PostgreSQL is not installed (Debian package 'postgresql'); run `make setup`")
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.bin = _bin_dir()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if proc.returncode != 0:
            raise PostgresError(f"{' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "storestack", "--auth=trust", "-E", "UTF8"
        )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        return f"postgresql+psycopg://storestack@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(PostgresError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
