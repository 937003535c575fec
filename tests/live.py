"""A real ``storestack serve`` (uvicorn) in a subprocess, for the end-to-end and browser tests.

``LiveServer`` starts it on a free loopback port against a data dir and the simulated cluster,
reads the login URL it prints on first start, waits for ``/healthz``, and can be killed (-9) and
started again on the same data dir to test crash recovery and reconnects.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TOKEN_RE = re.compile(r"[?#]token=([A-Za-z0-9_\-]+)")


def slow_setup_stage(stores: tuple[str, ...], seconds: float) -> str:
    """A kwok Stage (``SimCluster.add_kwok_stages``) under which the setup Job of each of ``stores``
    takes ``seconds`` to complete: a store's whole up otherwise takes about 3 s on the simulated
    cluster, too quick for a test that must act, or watch, while it runs."""
    names = ", ".join(stores)
    return f"""\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: storestack-test-slow-setup-{"-".join(stores)}
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  weight: 1  # beats the default pod-complete stage (weight 0) for the pods it selects
  selector:
    matchLabels:
      app.kubernetes.io/name: woocommerce-setup
    matchExpressions:
      - jq: {{key: '.metadata.labels["app.kubernetes.io/instance"]', operator: In, values: [{names}]}}
      - jq: {{key: .metadata.deletionTimestamp, operator: DoesNotExist}}
      - jq: {{key: .status.phase, operator: In, values: [Running]}}
  delay:
    durationMilliseconds: {int(seconds * 1000)}
  next:
    statusTemplate: |
      phase: Succeeded
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def orphaned_providers() -> list[int]:
    """Provider plugins re-parented to init: what a SIGKILLed pulumi leaves (pulumi starts them in
    their own process group, so killing the server's group leaves them running)."""
    found = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().split(b"\0")[0].decode()
            fields = (proc_dir / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            continue
        if fields[1] == "1" and fields[0] != "Z" and cmdline.endswith("/pulumi-resource-kubernetes"):
            found.append(int(proc_dir.name))
    return found


def reap_orphaned_providers() -> None:
    """Kill the test's own orphaned provider plugins (see ``orphaned_providers``)."""
    for pid in orphaned_providers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class LiveServer:
    """One ``storestack serve`` process; ``token`` is the admin token from its first start."""

    def __init__(
        self,
        *,
        data_dir: Path,
        kubeconfig: Path,
        tools_dir: Path,
        extra_env: dict[str, str] | None = None,
        serve_args: tuple[str, ...] = (),
    ):
        self.serve_args = serve_args
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token: str | None = None
        self.login_url: str | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("STORESTACK_", "PULUMI_"))},
            "STORESTACK_DATA_DIR": str(data_dir),
            "STORESTACK_KUBECONFIG": str(kubeconfig),
            "STORESTACK_TOOLS_DIR": str(tools_dir),
            "STORESTACK_ENVIRONMENT": "sim",
            "STORESTACK_BACKOFF_BASE_SECONDS": "1",
            "STORESTACK_LEASE_SECONDS": "10",
            "HOME": str(data_dir.parent),  # the CLI config file lands here, not in the real home
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 60) -> LiveServer:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.serve_args,
            ],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server did not answer /healthz in {timeout}s; log: {self.log()}")

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        with self.log_path.open("a") as log:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                match = TOKEN_RE.search(line)
                if match and self.token is None:
                    self.token = match.group(1)
                    self.login_url = line.strip()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self, *, reap: bool = True) -> None:
        """SIGKILL the whole process group: the server, its workers and any pulumi children; with
        ``reap``, also the provider plugins that outlive it (``reap=False`` leaves them to the next
        server's start, which must stop them itself)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            if reap:
                reap_orphaned_providers()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"} if (token or self.token) else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def wait_at_work(self, name: str, phase: str, *, steps: int = 3, timeout: float = 120) -> None:
        """Wait until the engine is really at work on the store: in ``phase`` with ``steps`` done."""
        deadline = time.monotonic() + timeout
        store: dict = {}  # type: ignore[type-arg]
        with self.client() as client:
            while time.monotonic() < deadline:
                store = client.get(f"/stores/{name}").json()
                if store["status"] == phase and store["progress"]["done"] >= steps:
                    return
                time.sleep(0.2)
        raise AssertionError(f"store {name} never reached {phase} with {steps} steps done: {store}")

    def wait_status(self, name: str, want: str, *, timeout: float = 300) -> dict:  # type: ignore[type-arg]
        deadline = time.monotonic() + timeout
        store: dict = {}  # type: ignore[type-arg]
        with self.client() as client:
            while time.monotonic() < deadline:
                response = client.get(f"/stores/{name}", params={"include_deleted": "true"})
                if response.status_code == 200:
                    store = response.json()
                    if store["status"] == want:
                        return store
                    if store["status"] == "failed" and want != "failed":
                        raise AssertionError(f"store {name} failed: {store['last_error']}")
                time.sleep(0.5)
        raise AssertionError(f"store {name} did not reach {want} in {timeout}s (last: {store})")
