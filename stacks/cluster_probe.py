"""Is the cluster there? A probe of the kubeconfig's API server that a frozen server fails.

``stacks.Fleet.cluster_reachable`` calls it (``kubectl_argv`` serves ``stacks.volumes`` too); the
API's ``/readyz`` and the reconciler (which holds work while the cluster is away) ask the fleet. A
TCP connection alone is not enough: a stopped (SIGSTOP) API server still completes the handshake.
So the probe asks the server's own ``/readyz`` through ``kubectl get --raw`` (which speaks every
kubeconfig auth method) with a short timeout.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml


def kube_server(kubeconfig: Path | None) -> str | None:
    """The API server URL of the kubeconfig's current context (default ``~/.kube/config``)."""
    path = kubeconfig or Path("~/.kube/config").expanduser()
    try:
        data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    current = data.get("current-context")
    contexts = {c["name"]: c["context"] for c in data.get("contexts") or []}
    clusters = {c["name"]: c["cluster"] for c in data.get("clusters") or []}
    cluster_name = contexts.get(current, {}).get("cluster") if current else None
    if cluster_name is None and clusters:
        cluster_name = next(iter(clusters))
    server = clusters.get(cluster_name or "", {}).get("server")
    return str(server) if server else None


def _tcp(server: str, timeout: float) -> bool:
    parsed = urlparse(server)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "localhost", port), timeout=timeout):
            return True
    except OSError:
        return False


def kubectl_argv(kubeconfig: Path | None, *, tools_dir: Path) -> list[str] | None:
    """The toolchain's ``kubectl`` (else the one on PATH) with the kubeconfig; None if there is none."""
    kubectl = tools_dir / "bin" / "kubectl"
    command = str(kubectl) if kubectl.exists() else shutil.which("kubectl")
    if command is None:
        return None
    return [command, "--kubeconfig", str(kubeconfig)] if kubeconfig is not None else [command]


def api_server_ready(kubeconfig: Path | None, *, tools_dir: Path, timeout: float = 3.0) -> bool:
    """Whether the API server answers its ``/readyz`` within ``timeout`` seconds (only the TCP
    handshake is checked when no ``kubectl`` is found)."""
    server = kube_server(kubeconfig)
    if server is None or not _tcp(server, timeout):
        return False
    kubectl = kubectl_argv(kubeconfig, tools_dir=tools_dir)
    if kubectl is None:
        return True
    args = [*kubectl, "get", "--raw", "/readyz", f"--request-timeout={max(1, round(timeout))}s"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 2, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == "ok"
