"""The simulated Kubernetes cluster: a real control plane on 127.0.0.1 with kwok-simulated nodes.

Used by ``storestack cluster up|down|status``, the demo and the cluster tests. It drives ``kwokctl``
with the binary runtime, pointed at the binaries ``toolchain.build`` put in the tool cache, so
nothing is downloaded: etcd, kube-apiserver, kube-controller-manager (with the host-path
provisioner, so PVCs really bind) and kube-scheduler run as local processes, and kwok plays the
kubelets (pods become Ready, Job pods Succeed) of the nodes annotated ``kwok.x-k8s.io/node=fake``.
``up`` then adds a few fake nodes and a default StorageClass and writes the kubeconfig to
``<cluster_dir>/kubeconfig``. ``up(real_node=True)`` also starts one real node
(``toolchain.node.RealNode``), where containers really run; kwok leaves that node alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from toolchain import cluster_heal as heal
from toolchain.node import NodeError, RealNode
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


KWOKCTL_CONFIG = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
componentsPatches:
  # The API server alone also listens beyond loopback, so a real node's pods (CoreDNS) reach it
  # through the node's bridge; it shows the admin's certificate to the kubelet (logs, exec).
  - name: kube-apiserver
    extraArgs:
      - {{key: bind-address, value: 0.0.0.0}}
      - {{key: kubelet-client-certificate, value: "{pki}/admin.crt"}}
      - {{key: kubelet-client-key, value: "{pki}/admin.key"}}
      - {{key: kubelet-preferred-address-types, value: "InternalIP,Hostname"}}
  # One instance each, so no leader election: with it, an API server that stalls for longer than
  # the renew deadline (10 s) makes them exit ("leaderelection lost") and the cluster stops
  # scheduling and reconciling for good.
  - name: kube-controller-manager
    extraArgs:
      - {{key: enable-hostpath-provisioner, value: "true"}}
      - {{key: pvclaimbinder-sync-period, value: 2s}}
      - {{key: leader-elect, value: "false"}}
  - name: kube-scheduler
    extraArgs:
      - {{key: leader-elect, value: "false"}}
  # kwok plays only the nodes it made (they carry this annotation), never the real node.
  - name: kwok-controller
    extraArgs:
      - {{key: manage-all-nodes, value: "false"}}
      - {{key: manage-nodes-with-annotation-selector, value: kwok.x-k8s.io/node=fake}}
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
    real_node: bool = False
    dead: tuple[str, ...] = ()
    """Components whose process is gone (``up`` restarts them)."""

    @property
    def healthy(self) -> bool:
        return self.running and not self.dead

    def describe(self) -> str:
        died = f"; these components died: {', '.join(self.dead)} (`storestack cluster up` restarts them)"
        if not self.running:
            return f"simulated cluster '{CLUSTER_NAME}' is not running" + (died if self.dead else "")
        if self.dead:
            return f"simulated cluster '{CLUSTER_NAME}' answers at {self.server}, but{died[1:]}"
        real = ", one of them real" if self.real_node else ""
        return (
            f"simulated cluster '{CLUSTER_NAME}' is running: {self.server} "
            f"(Kubernetes {self.version}, {self.nodes} nodes{real}); kubeconfig: {self.kubeconfig}"
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

    @property
    def node(self) -> RealNode:
        """The cluster's real node (started only by ``up(real_node=True)``)."""
        return RealNode(
            tools_dir=self.tools_dir, node_dir=self.cluster_dir / "node", kubeconfig=self.kubeconfig,
            kubectl=self.kubectl,
        )  # fmt: skip

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

    @property
    def _kwok_dir(self) -> Path:
        return self.cluster_dir / "kwok" / "clusters" / CLUSTER_NAME

    def _heal(self, current: ClusterStatus, log: Callable[[str], None]) -> ClusterStatus:
        """Restart the components that died, keeping the cluster's state; never make a new, empty
        cluster in its place without saying so (an error tells how)."""
        log(f"[cluster] restarting what died: {', '.join(current.dead)} (the cluster's state is kept)")
        heal.restart(self._kwok_dir, list(current.dead))
        deadline = time.monotonic() + 60
        status = self.status()
        while not status.healthy and time.monotonic() < deadline:
            time.sleep(1)
            status = self.status()
        if not status.healthy:
            raise ClusterError(
                f"the existing cluster could not be restarted ({status.describe()}); "
                "`storestack cluster down` then `up` makes a new, empty one"
            )
        return status

    def _kwok_kubeconfig(self) -> Path:
        return self.cluster_dir / "kwok" / "clusters" / CLUSTER_NAME / "kubeconfig.yaml"

    def up(
        self, *, nodes: int = 3, real_node: bool = False, log: Callable[[str], None] = print
    ) -> ClusterStatus:
        """Start the cluster (or confirm it is running) and return its status."""
        started = time.monotonic()
        if real_node:
            try:
                self.node.preflight(log)
            except NodeError as exc:
                raise ClusterError(f"the real node cannot start: {exc}") from None
        current = self.status()
        if current.dead:
            current = self._heal(current, log)
        if current.running:
            log(f"[cluster] already running ({current.server})")
            if real_node and not self.node.running():
                self._start_real_node(log)
                return self.status()
            return current
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        # A cluster (and real node) left half-made by a crash is cleaned before starting again.
        self._down_node(api_reachable=False, log=log)
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
            f"--config={self._write_kwokctl_config()}",
            timeout=300,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
            self._kwokctl("delete", "cluster", timeout=120)
            raise ClusterError(f"kwokctl could not create the cluster:\n{tail}")
        shutil.copyfile(self._kwok_kubeconfig(), self.kubeconfig)
        self.kubeconfig.chmod(0o600)
        heal.record(self._kwok_dir)
        log(f"[cluster] control plane up; adding {nodes} simulated nodes and the default StorageClass")
        scaled = self._kwokctl("scale", "node", f"--replicas={nodes}", timeout=120)
        if scaled.returncode != 0:
            raise ClusterError(f"kwokctl could not add nodes: {scaled.stderr.strip()}")
        self.kubectl("apply", "-f", "-", stdin=STORAGE_CLASS)
        self._wait_nodes_ready(nodes, timeout=120)
        if real_node:
            self._start_real_node(log)
        status = self.status()
        log(f"[cluster] up in {time.monotonic() - started:.1f}s: {status.describe()}")
        return status

    def _start_real_node(self, log: Callable[[str], None]) -> None:
        server = self.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
        try:
            self.node.up(apiserver_port=int(server.strip().rsplit(":", 1)[1]), log=log)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self._down_node(api_reachable=True, log=log)
            raise ClusterError(f"the real node could not start: {exc}") from None

    def _down_node(self, *, api_reachable: bool, log: Callable[[str], None]) -> None:
        try:
            self.node.down(api_reachable=api_reachable, log=log)
        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
            raise ClusterError(
                f"the real node could not be stopped cleanly: {exc}; see {self.node.layout.logs}"
            ) from None

    def component_pid(self, component: str) -> int:
        """The pid of a running control-plane process (``kube-apiserver``, ``etcd``, ...)."""
        pid_file = self.cluster_dir / "kwok" / "clusters" / CLUSTER_NAME / "pids" / f"{component}.pid"
        try:
            return int(pid_file.read_text().strip())
        except (OSError, ValueError) as exc:
            raise ClusterError(f"{component} is not running (no pid file {pid_file})") from exc

    def add_kwok_stages(self, stages_yaml: str) -> None:
        """Add kwok Stages (a test's pod failure, a custom lifecycle) to the running cluster: kwok
        reads its stages from its config file at start, so the file is extended and the kwok
        controller restarted with its own command line."""
        text = self._kwok_config().read_text()
        self._restart_kwok(text + ("" if text.endswith("\n") else "\n") + "---\n" + stages_yaml)

    def remove_kwok_stages(self, stages_yaml: str) -> None:
        """Take back Stages that ``add_kwok_stages`` added; the controller restarts without them and
        moves the pods they held on by the remaining stages."""
        text = self._kwok_config().read_text()
        block = "---\n" + stages_yaml
        if block in text:
            self._restart_kwok(text.replace(block, "", 1))

    def _kwok_config(self) -> Path:
        return self.cluster_dir / "kwok" / "clusters" / CLUSTER_NAME / "kwok.yaml"

    def _restart_kwok(self, config_text: str) -> None:
        """Write the kwok controller's config and restart it with its own command line."""
        kwok_dir = self.cluster_dir / "kwok" / "clusters" / CLUSTER_NAME
        pid_file = kwok_dir / "pids" / "kwok-controller.pid"
        self._kwok_config().write_text(config_text)
        pid = int(pid_file.read_text().strip())
        args = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        # The new controller would wait out the old one's node leases (minutes) before it manages
        # any pod: hand them over at once.
        nodes = json.loads(self.kubectl("get", "nodes", "-o", "json"))["items"]
        fake = [
            n["metadata"]["name"]
            for n in nodes
            if n["metadata"].get("annotations", {}).get("kwok.x-k8s.io/node") == "fake"
        ]
        if fake:
            self.kubectl("delete", "lease", "-n", "kube-node-lease", "--ignore-not-found", *fake)
        with (kwok_dir / "logs" / "kwok-controller.log").open("ab") as log:
            proc = subprocess.Popen(  # the same command line kwokctl started it with
                [a.decode() for a in args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        pid_file.write_text(str(proc.pid))

    def _write_kwokctl_config(self) -> Path:
        """Extra component flags, as a kwokctl config file (kwokctl 0.8's ``--extra-args`` mis-indexes
        a second component's flags)."""
        path = self.cluster_dir / "kwokctl.yaml"
        pki = self.cluster_dir / "kwok" / "clusters" / CLUSTER_NAME / "pki"
        path.write_text(KWOKCTL_CONFIG.format(pki=pki))
        return path

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
        """Stop every process of the cluster (the real node's too) and remove its state."""
        try:
            self._down_node(api_reachable=self.status().running, log=log)
        finally:
            proc = self._kwokctl("delete", "cluster", timeout=120)
        shutil.rmtree(self.node.layout.volumes, ignore_errors=True)  # the stores' data, with the cluster
        if proc.returncode != 0 and "not exist" not in (proc.stdout + proc.stderr):
            raise ClusterError(f"kwokctl could not delete the cluster: {proc.stderr.strip()}")
        self.kubeconfig.unlink(missing_ok=True)
        shutil.rmtree(self.cluster_dir / "kwok", ignore_errors=True)
        log("[cluster] down: processes stopped, state removed")

    def status(self) -> ClusterStatus:
        """Whether the API server answers, its address, version and node count, and which of the
        cluster's processes died."""
        dead = tuple(heal.dead(self._kwok_dir))
        if not self.kubeconfig.exists():
            return ClusterStatus(False, self.kubeconfig, None, None, 0, dead=dead)
        try:
            version = json.loads(self.kubectl("version", "-o", "json", timeout=10))
            nodes = json.loads(self.kubectl("get", "nodes", "-o", "json", timeout=10))
            server = self.kubectl(
                "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}", timeout=10
            )
        except (ClusterError, subprocess.TimeoutExpired):
            return ClusterStatus(False, self.kubeconfig, None, None, 0, dead=dead)
        return ClusterStatus(
            True,
            self.kubeconfig,
            server.strip(),
            version.get("serverVersion", {}).get("gitVersion"),
            len(nodes["items"]),
            real_node=self.node.running(),
            dead=dead,
        )
