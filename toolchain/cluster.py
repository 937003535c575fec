"""The simulated Kubernetes cluster: a real control plane on 127.0.0.1 with kwok-simulated nodes.

Used by ``storestack cluster up|down|status``, the demo and the cluster tests. It drives ``kwokctl``
with the binary runtime, pointed at the binaries ``toolchain.build`` put in the tool cache, so
nothing is downloaded: etcd, kube-apiserver, kube-controller-manager (with the host-path
provisioner, so PVCs really bind) and kube-scheduler run as local processes, and kwok plays the
kubelets (pods become Ready, Job pods Succeed). ``up`` then adds a few fake nodes and a default
StorageClass and writes the kubeconfig to ``<cluster_dir>/kubeconfig``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from toolchain.pins import KUBERNETES_VERSION

CLUSTER_NAME = "storestack"

STORAGE_CLASS = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
"""


class ClusterError(RuntimeError):
    """The simulated cluster could not be started, stopped or read; the message says why."""


@dataclasses.dataclass(frozen=True)
class ClusterStatus:
    """What ``status`` reports."""

    running: bool
    kubeconfig: Path
    server: str | None
    version: str | None
    nodes: int

    def describe(self) -> str:
        if not self.running:
            return f"simulated cluster '{CLUSTER_NAME}' is not running"
        return (
            f"simulated cluster '{CLUSTER_NAME}' is running: {self.server} "
            f"(Kubernetes {self.version}, {self.nodes} nodes); kubeconfig: {self.kubeconfig}"
        )


@dataclasses.dataclass(frozen=True)
class SimCluster:
    """The simulated cluster whose state lives in ``cluster_dir``, using binaries in ``tools_dir``."""

    tools_dir: Path
    cluster_dir: Path

    @property
    def kubeconfig(self) -> Path:
        return self.cluster_dir / "kubeconfig"

    @property
    def bin_dir(self) -> Path:
        return self.tools_dir / "bin"

    def _binary(self, name: str) -> Path:
        path = self.bin_dir / name
        if not path.exists():
            raise ClusterError(
                f"{name} is not built (looked in {self.bin_dir}); run the setup command (make setup) first"
            )
        return path

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            KWOK_WORKDIR=str(self.cluster_dir / "kwok"),
            KWOK_KUBE_VERSION=KUBERNETES_VERSION,
            KWOK_KUBECTL_BINARY=str(self._binary("kubectl")),
            KWOK_RUNTIME="binary",
            PATH=f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}",
        )
        return env

    def _kwokctl(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [str(self._binary("kwokctl")), "--name", CLUSTER_NAME, *args],
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"kwokctl {' '.join(args)} did not finish in {timeout:.0f}s") from exc

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        """Run kubectl against the simulated cluster and return its stdout."""
        proc = subprocess.run(
            [str(self._binary("kubectl")), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def _kwok_kubeconfig(self) -> Path:
        return self.cluster_dir / "kwok" / "clusters" / CLUSTER_NAME / "kubeconfig.yaml"

    def up(self, *, nodes: int = 3, log: Callable[[str], None] = print) -> ClusterStatus:
        """Start the cluster (or confirm it is running) and return its status."""
        started = time.monotonic()
        current = self.status()
        if current.running:
            log(f"[cluster] already running ({current.server})")
            return current
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        # A cluster left half-made by a crash is cleaned before starting again.
        self._kwokctl("delete", "cluster", timeout=120)
        log("[cluster] starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok")
        proc = self._kwokctl(
            "create",
            "cluster",
            "--runtime=binary",
            "--kubeconfig=",
            "--wait=3m",
            f"--kube-apiserver-binary={self._binary('kube-apiserver')}",
            f"--kube-controller-manager-binary={self._binary('kube-controller-manager')}",
            f"--kube-scheduler-binary={self._binary('kube-scheduler')}",
            f"--kwok-controller-binary={self._binary('kwok')}",
            f"--etcd-binary={self._binary('etcd')}",
            "--extra-args=kube-controller-manager=enable-hostpath-provisioner=true",
            "--extra-args=kube-controller-manager=pvclaimbinder-sync-period=2s",
            timeout=300,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
            self._kwokctl("delete", "cluster", timeout=120)
            raise ClusterError(f"kwokctl could not create the cluster:\n{tail}")
        shutil.copyfile(self._kwok_kubeconfig(), self.kubeconfig)
        self.kubeconfig.chmod(0o600)
        log(f"[cluster] control plane up; adding {nodes} simulated nodes and the default StorageClass")
        scaled = self._kwokctl("scale", "node", f"--replicas={nodes}", timeout=120)
        if scaled.returncode != 0:
            raise ClusterError(f"kwokctl could not add nodes: {scaled.stderr.strip()}")
        self.kubectl("apply", "-f", "-", stdin=STORAGE_CLASS)
        self._wait_nodes_ready(nodes, timeout=120)
        status = self.status()
        log(f"[cluster] up in {time.monotonic() - started:.1f}s: {status.describe()}")
        return status

    def _wait_nodes_ready(self, count: int, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = json.loads(self.kubectl("get", "nodes", "-o", "json"))
            ready = [
                n
                for n in out["items"]
                if any(
                    c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", [])
                )
            ]
            if len(ready) >= count:
                return
            time.sleep(1)
        raise ClusterError(f"the {count} simulated nodes did not become Ready in {timeout:.0f}s")

    def down(self, *, log: Callable[[str], None] = print) -> None:
        """Stop every process of the cluster and remove its state."""
        proc = self._kwokctl("delete", "cluster", timeout=120)
        if proc.returncode != 0 and "not exist" not in (proc.stdout + proc.stderr):
            raise ClusterError(f"kwokctl could not delete the cluster: {proc.stderr.strip()}")
        self.kubeconfig.unlink(missing_ok=True)
        shutil.rmtree(self.cluster_dir / "kwok", ignore_errors=True)
        log("[cluster] down: processes stopped, state removed")

    def status(self) -> ClusterStatus:
        """Whether the API server answers, its address, version and node count."""
        if not self.kubeconfig.exists():
            return ClusterStatus(False, self.kubeconfig, None, None, 0)
        try:
            version = json.loads(self.kubectl("version", "-o", "json", timeout=10))
            nodes = json.loads(self.kubectl("get", "nodes", "-o", "json", timeout=10))
            server = self.kubectl(
                "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}", timeout=10
            )
        except (ClusterError, subprocess.TimeoutExpired):
            return ClusterStatus(False, self.kubeconfig, None, None, 0)
        return ClusterStatus(
            True,
            self.kubeconfig,
            server.strip(),
            version.get("serverVersion", {}).get("gitVersion"),
            len(nodes["items"]),
        )
