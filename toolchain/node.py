"""The real node: one machine of the simulated cluster where containers really run.

``storestack cluster up --real-node`` (``toolchain.cluster.SimCluster.up(real_node=True)``) and the
real-node test tier use it. Beside the kwok nodes it runs containerd (Debian's package, with its
own config, root, state and socket under ``<cluster dir>/node``), a CNI bridge, the kubelet and
kube-proxy built by ``toolchain.build``, kube-router's NetworkPolicy controller (alone: no routing,
no service proxy; what k3s embeds) enforcing the stores' policies on the node's pods, and in
``kube-system`` CoreDNS and Traefik (the ingress controller, at the node's port 80,
``toolchain.node_ingress``). The stand-in store images (``images``) are imported into its
containerd. The node is labelled ``storestack.io/node=real`` and tainted
``storestack.io/real-node=true:NoSchedule``, so only pods that ask for it (the ``realnode``
environment, CoreDNS, Traefik) land there and the kwok tests are unaffected.

``down`` stops every process it started and removes what it added to the host: containers and pod
sandboxes, mounts, network namespaces, veths and the bridge, iptables rules and ipsets, cgroups,
sysctls. Needs root, Linux, and the Debian packages ``make setup`` installs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from toolchain import node_host as host
from toolchain.node_config import (
    GATEWAY,
    HELPER_IMAGE,
    INGRESS_ADDRESS,
    INGRESS_PORT,
    LOCAL_PATH_CONFIGMAP,
    LOCAL_PATH_PROVISIONER,
    NODE_LABEL,
    NODE_NAME,
    SERVICE_CIDR,
    NodeLayout,
    cni_conflist,
    containerd_toml,
    kube_proxy_yaml,
    kubelet_yaml,
)
from toolchain.node_ingress import traefik_manifests
from toolchain.node_manifests import coredns_manifests, local_path_manifests

DAEMONS = ("containerd", "kubelet", "kube-proxy", "kube-router", "local-path-provisioner")
HOST_COMMANDS = (
    "containerd",
    "containerd-shim-runc-v2",
    "runc",
    "ctr",
    "iptables",
    "ip",
    "conntrack",
    "ipset",
)


class NodeError(RuntimeError):
    """The real node could not be started or stopped; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass(frozen=True)
class RealNode:
    """The real node of the cluster whose admin kubeconfig is ``kubeconfig``."""

    tools_dir: Path
    node_dir: Path
    kubeconfig: Path
    kubectl: Callable[..., str]  # SimCluster.kubectl: run kubectl against the cluster

    @property
    def layout(self) -> NodeLayout:
        return NodeLayout(self.node_dir)

    def _binary(self, name: str) -> str:
        path = self.tools_dir / "bin" / name
        if not path.exists():
            raise NodeError(f"{name} is not built (looked in {path.parent}); run `make setup` first")
        return str(path)

    def ctr(self, *args: str, timeout: float = 300) -> str:
        """Run ``ctr`` in the CRI namespace of the node's containerd and return its stdout."""
        try:
            proc = subprocess.run(
                ["ctr", "--address", str(self.layout.socket), "-n", "k8s.io", *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise NodeError(f"ctr {' '.join(args)} did not finish in {timeout:.0f}s") from None
        if proc.returncode != 0:
            raise NodeError(f"ctr {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    # -- up -----------------------------------------------------------------------------------

    def preflight(self, log: Callable[[str], None] = print) -> None:
        """Fail early, with a message saying what is missing, before touching the host. A node of ours
        left without ``down`` (its processes killed) is cleaned up first."""
        if os.geteuid() != 0:
            raise NodeError("the real node needs root (containerd, network namespaces, iptables)")
        missing = [c for c in HOST_COMMANDS if shutil.which(c) is None]
        if missing:
            raise NodeError(f"missing host commands {missing}: run `make setup` (it installs them)")
        for name in ("kubelet", "kube-proxy", "kube-router", "local-path-provisioner"):
            self._binary(name)
        from images.catalog import IMAGES

        absent = [i.name for i in IMAGES if not i.archive(self.tools_dir).is_file()]
        if absent:
            raise NodeError(f"stand-in images not built: {absent}; run `make setup` (python -m images.build)")
        other = host.processes_mentioning("--hostname-override=" + NODE_NAME)
        if other and not self._pid("kubelet"):
            raise NodeError(
                f"another real node is running on this machine (kubelet pid {other[0]}); "
                "one per machine: stop it with `storestack cluster down` in its data dir"
            )
        self._clean_up_abandoned(log)
        if not self.layout.state.exists() and (foreign := host.foreign_kubernetes()):
            raise NodeError(
                f"this host already runs Kubernetes ({foreign}); the real node would share its iptables "
                "chains and cgroups, so it runs only on a host without another kubelet"
            )

    def _clean_up_abandoned(self, log: Callable[[str], None]) -> None:
        """Take down the node another data dir started on this host and left behind: its daemons
        were killed without ``down`` (a test run or session cut off), so its containers' cgroups,
        iptables rules, ipsets, bridge and mounts are still there. One that still runs is refused."""
        previous_dir = host.registered()
        if previous_dir is None or previous_dir == self.node_dir:
            return
        previous = dataclasses.replace(self, node_dir=previous_dir)
        if previous.running():
            raise NodeError(
                f"another real node is running on this machine (its data dir: {previous_dir}); "
                "one per machine: stop it with `storestack cluster down` in its data dir"
            )
        log(f"[node] the real node of {previous_dir} was left running without `down`: cleaning up after it")
        previous.down(api_reachable=False, log=log, abandoned=True)

    def up(self, *, apiserver_port: int, log: Callable[[str], None] = print) -> None:
        """Start containerd, import the images, start kubelet and kube-proxy, deploy CoreDNS."""
        started = time.monotonic()
        self.preflight(log)
        layout = self.layout
        for path in (layout.state, layout.logs, layout.pids, layout.cni_conf_dir, layout.pod_logs):
            path.mkdir(parents=True, exist_ok=True)
        host.register(self.node_dir)
        host.snapshot(layout.host_snapshot)
        layout.containerd_config.write_text(containerd_toml(layout))
        (layout.cni_conf_dir / "10-storestack.conflist").write_text(cni_conflist(layout))
        layout.resolv_conf.write_text("")  # pods use cluster DNS; nothing of the host's resolver
        host.prepare_network()

        log("[node] starting containerd")
        self._start("containerd", ["containerd", "--config", str(layout.containerd_config)])
        self._wait(lambda: layout.socket.exists() and self._ctr_ok(), "containerd to answer", 30)
        self._import_images(log)

        log("[node] starting kubelet and kube-proxy")
        kubelet_port, healthz_port = free_port(), free_port()
        client_ca = self.kubeconfig.parent / "kwok" / "clusters" / "storestack" / "pki" / "ca.crt"
        layout.kubelet_config.write_text(
            kubelet_yaml(layout, port=kubelet_port, healthz_port=healthz_port, client_ca=client_ca)
        )
        layout.kube_proxy_config.write_text(
            kube_proxy_yaml(self.kubeconfig, healthz_port=free_port(), metrics_port=free_port())
        )
        self._start(
            "kubelet",
            [
                self._binary("kubelet"),
                f"--config={layout.kubelet_config}",
                f"--kubeconfig={self.kubeconfig}",
                f"--root-dir={layout.kubelet_root}",
                f"--cert-dir={layout.state / 'kubelet-pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={GATEWAY}",
                f"--node-labels={NODE_LABEL[0]}={NODE_LABEL[1]}",
                "--v=1",
            ],
        )
        self._start("kube-proxy", [self._binary("kube-proxy"), f"--config={layout.kube_proxy_config}"])
        self._wait(self._node_ready, f"node {NODE_NAME} to be Ready", 120)

        log("[node] starting kube-router's NetworkPolicy controller")
        self._start(
            "kube-router",
            [
                self._binary("kube-router"),
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                "--run-loadbalancer=false",
                f"--kubeconfig={self.kubeconfig}",
                f"--hostname-override={NODE_NAME}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--health-port=0",
                "--v=1",
            ],
        )

        log("[node] starting the local-path provisioner (StorageClass local-path)")
        layout.volumes.mkdir(parents=True, exist_ok=True)
        self.kubectl("apply", "-f", "-", stdin=local_path_manifests(layout))
        self._start(
            "local-path-provisioner",
            [
                self._binary("local-path-provisioner"),
                "start",
                f"--kubeconfig={self.kubeconfig}",
                "--namespace=kube-system",
                f"--configmap-name={LOCAL_PATH_CONFIGMAP}",
                f"--provisioner-name={LOCAL_PATH_PROVISIONER}",
                f"--helper-image={HELPER_IMAGE}",
                "--service-account-name=default",
            ],
        )

        log("[node] deploying CoreDNS (kube-system/kube-dns)")
        self._deploy("CoreDNS", "coredns", coredns_manifests(apiserver_port=apiserver_port))
        log(f"[node] deploying Traefik (kube-system/traefik, ingress at {INGRESS_ADDRESS}:{INGRESS_PORT})")
        self._deploy("Traefik", "traefik", traefik_manifests(apiserver_port=apiserver_port))
        log(f"[node] {NODE_NAME} ready in {time.monotonic() - started:.1f}s (logs: {layout.logs})")

    def _deploy(self, what: str, deployment: str, manifests: str) -> None:
        """Apply a system component's objects and wait for its kube-system Deployment to be ready."""
        self.kubectl("apply", "-f", "-", stdin=manifests)
        try:
            status = ("rollout", "status", f"deployment/{deployment}", "--timeout=120s")
            self.kubectl("-n", "kube-system", *status, timeout=130)
        except RuntimeError as exc:
            raise NodeError(f"{what} did not become ready: {exc}; logs in {self.layout.logs}") from None

    def _start(self, name: str, args: list[str]) -> None:
        if self._pid(name):
            return
        logfile = (self.layout.logs / f"{name}.log").open("ab")
        # A fixed umask: containerd unpacks image layers and the kubelet makes pod directories with
        # it, and under a private one (077, as `storestack serve` sets) no non-root container could
        # read its own root filesystem ("stat /coredns: permission denied").
        proc = subprocess.Popen(
            args,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            umask=0o022,
        )
        logfile.close()
        # The start time makes the pid file name this process only, never a later one with its pid.
        (self.layout.pids / name).write_text(f"{proc.pid} {host.start_time(proc.pid)}")
        time.sleep(0.3)
        if proc.poll() is not None:
            raise NodeError(f"{name} exited at once (code {proc.returncode}):\n{self._log_tail(name)}")

    def _log_tail(self, name: str) -> str:
        return "\n".join((self.layout.logs / f"{name}.log").read_text(errors="replace").splitlines()[-10:])

    def _pid(self, name: str) -> int | None:
        """The pid of our daemon ``name`` if it still runs (same pid *and* start time), else None."""
        try:
            pid, started = (self.layout.pids / name).read_text().split()
        except (OSError, ValueError):
            return None
        return int(pid) if host.alive(int(pid)) and host.start_time(int(pid)) == started else None

    def _wait(self, check: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in DAEMONS:
                pid_file = self.layout.pids / name
                if pid_file.exists() and not self._pid(name):
                    raise NodeError(f"{name} died while waiting for {what}:\n{self._log_tail(name)}")
            with contextlib.suppress(Exception):
                if check():
                    return
            time.sleep(1)
        raise NodeError(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.layout.logs}")

    def _ctr_ok(self) -> bool:
        self.ctr("version", timeout=10)
        return True

    def _node_ready(self) -> bool:
        node = json.loads(self.kubectl("get", "node", NODE_NAME, "-o", "json", timeout=10))
        conditions = node["status"].get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _import_images(self, log: Callable[[str], None]) -> None:
        from images.catalog import archives

        present = set(self.ctr("images", "ls", "-q").split())
        for ref, archive in archives(self.tools_dir):
            # The archive's size and mtime change whenever `images.build` writes it anew.
            built = f"{archive.stat().st_size}-{archive.stat().st_mtime_ns}"
            stamp = self.layout.containerd_root / f"imported-{archive.name}"
            if ref in present and stamp.exists() and stamp.read_text() == built:
                continue
            t0 = time.monotonic()
            self.ctr("images", "import", str(archive), timeout=600)
            stamp.write_text(built)
            log(f"[node] imported {ref} in {time.monotonic() - t0:.1f}s")

    # -- down ---------------------------------------------------------------------------------

    def running(self) -> bool:
        return any(self._pid(name) for name in DAEMONS)

    def down(
        self, *, api_reachable: bool, log: Callable[[str], None] = print, abandoned: bool = False
    ) -> None:
        """Stop everything ``up`` started and undo what it did to the host (idempotent). ``abandoned``:
        the host still holds this node's leftovers even if its directory is gone (then the sysctls
        stay as it left them: their record was in that directory)."""
        layout = self.layout
        if not layout.state.exists() and not abandoned:
            return
        if api_reachable and self._pid("kubelet"):
            # Let the kubelet stop the pods itself (that tears down their sandboxes and networks):
            # a NoExecute taint no pod tolerates evicts them all and keeps controllers' new ones off.
            with contextlib.suppress(RuntimeError):
                self.kubectl(
                    "taint", "node", NODE_NAME, "storestack.io/shutdown=true:NoExecute", "--overwrite"
                )
                self._wait(self._no_sandboxes, "the node's pods to stop", 90)
        for name in ("local-path-provisioner", "kube-router", "kube-proxy", "kubelet"):
            if pid := self._pid(name):
                host.stop_pid(pid)
        if pid := self._pid("containerd"):
            self._remove_all_containers()
            host.stop_pid(pid)
        # Shims name our socket; any process still in the kubelet's cgroups is a container's.
        for pid in host.processes_mentioning(str(layout.socket)) + host.kubepods_pids():
            host.stop_pid(pid, timeout=5)
        kube_proxy = self.tools_dir / "bin" / "kube-proxy"
        if kube_proxy.exists():
            host.run([str(kube_proxy), "--cleanup"], check=False)
        host.remove_iptables_rules(layout.host_snapshot)
        host.remove_ipsets()  # kube-router's, once no rule refers to them
        host.unmount_under(self.node_dir)
        host.restore(layout.host_snapshot)
        host.remove_network()
        host.remove_cgroups()
        shutil.rmtree(layout.state, ignore_errors=True)  # volumes (store data) live outside it
        host.unregister(self.node_dir)
        if api_reachable:
            with contextlib.suppress(RuntimeError):
                self.kubectl("delete", "node", NODE_NAME, "--ignore-not-found", timeout=30)
        log(
            "[node] down: containerd, kubelet, kube-proxy, kube-router stopped; host network, mounts, "
            "iptables, ipsets and cgroups restored"
        )

    def _no_sandboxes(self) -> bool:
        return not self.ctr("tasks", "ls", "-q", timeout=10).split()

    def _remove_all_containers(self) -> None:
        with contextlib.suppress(NodeError):
            for task in self.ctr("tasks", "ls", "-q", timeout=30).split():
                with contextlib.suppress(NodeError):
                    self.ctr("tasks", "kill", "-s", "SIGKILL", task, timeout=30)
                with contextlib.suppress(NodeError):
                    self.ctr("tasks", "rm", "-f", task, timeout=30)
            for container in self.ctr("containers", "ls", "-q", timeout=30).split():
                with contextlib.suppress(NodeError):
                    self.ctr("containers", "rm", container, timeout=30)
