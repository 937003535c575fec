"""Control-plane replicas "on several hosts" for the replica tests: each ``storestack worker`` runs
in its own UTS namespace (``unshare --uts``, so its own host name, which Pulumi writes into its
stack locks) with its own data dir, and shares with the others only what separate hosts would: the
database, the object-store backend, the passphrase and the cluster.

Used by ``tests/e2e/test_replicas_e2e.py``; needs root (as the real-node tier does).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.live import REPO, reap_orphaned_providers


class Worker:
    """One ``storestack worker`` process named ``host`` (its host name and its worker id)."""

    def __init__(self, host: str, env: dict[str, str], data_dir: Path) -> None:
        self.host = host
        self.log_path = data_dir.parent / f"{host}.log"
        self.env = {
            **env,
            "STORESTACK_DATA_DIR": str(data_dir),
            "STORESTACK_WORKER_ID": host,
            "HOME": str(data_dir.parent),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = 'hostname "$1" && exec "$2" -m api.cli worker'
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--uts", "sh", "-c", command, "sh", self.host, sys.executable],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the worker and its pulumi children: a host that died mid-operation."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            reap_orphaned_providers()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
