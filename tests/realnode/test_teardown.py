"""The real node's ``down`` (part of ``storestack cluster down``): every process it started is gone,
and the host keeps no mount, iptables rule, ipset, bridge, veth, network namespace, cgroup, container or
sandbox of it. Runs after the other real-node tests (file order); a later test starts the node again."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from toolchain import node_host
from toolchain.cluster import SimCluster
from toolchain.node import DAEMONS, RealNode
from toolchain.node_config import BRIDGE, NODE_NAME

pytestmark = pytest.mark.cluster


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


def test_down_leaves_nothing_behind(real_cluster: SimCluster) -> None:
    node = real_cluster.node
    layout = node.layout
    assert node.running() and BRIDGE in _links()
    assert node_host.leftover_iptables_rules(), (
        "kube-proxy programmed no rules: the check below proves nothing"
    )
    # A policy of its own, so kube-router surely holds ipsets whatever the earlier tests left.
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "teardown-probe", "namespace": "default"},
        "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]},
    }
    real_cluster.kubectl("apply", "-f", "-", stdin=json.dumps(policy))
    deadline = time.monotonic() + 60
    while not node_host.our_ipsets() and time.monotonic() < deadline:
        time.sleep(1)
    assert node_host.our_ipsets(), "kube-router made no ipsets: the check below proves nothing"
    assert node_host.kubepods_cgroups() and node_host.mounts_under(layout.root)
    netns_before = set(p.name for p in Path("/var/run/netns").iterdir())
    assert any(n.startswith("cni-") for n in netns_before)
    sysctls_before_up = json.loads(layout.host_snapshot.read_text())["sysctls"]
    assert (
        sysctls_before_up and Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/forwarding").read_text().strip() == "1"
    )

    node.down(api_reachable=True)
    node.down(api_reachable=True)  # a second down finds nothing to do

    _assert_nothing_left(real_cluster, node, sysctls_before_up)
    assert NODE_NAME not in real_cluster.kubectl("get", "nodes", "-o", "name")
    real_cluster.kubectl("delete", "networkpolicy", "teardown-probe", "-n", "default")


def _assert_nothing_left(cluster: SimCluster, node: RealNode, sysctls_before_up: dict[str, str]) -> None:
    layout = node.layout
    assert not node.running()
    assert not node_host.processes_mentioning(str(layout.socket)), "containerd or a shim still runs"
    for binary in ("kubelet", "kube-proxy", "kube-router", "local-path-provisioner"):
        assert not node_host.processes_mentioning(str(cluster.bin_dir / binary)), binary
    assert node_host.mounts_under(layout.root) == []
    assert node_host.leftover_iptables_rules() == []
    assert node_host.our_ipsets() == []
    links = _links()
    assert BRIDGE not in links and "veth" not in links, links
    assert not [n for n in Path("/var/run/netns").iterdir() if n.name.startswith("cni-")]
    assert node_host.kubepods_cgroups() == []
    assert not layout.state.exists()
    for name, value in sysctls_before_up.items():  # what the kubelet and kube-proxy changed is back
        assert Path("/proc/sys", name).read_text().strip() == value, name
    assert node_host.registered() is None


def test_a_node_killed_without_down_is_cleaned_up_by_the_next_one(
    real_cluster: SimCluster, tmp_path: Path
) -> None:
    """kill -9 of the whole node (what a test run or a machine's session cut off does) leaves its
    cgroups, rules, bridge and mounts; another data dir's node must not take them for a foreign
    Kubernetes and refuse to start (CI did, once): it takes the abandoned node down first."""
    node = real_cluster.node
    assert node.running() and node_host.registered() == node.node_dir
    sysctls_before_up = json.loads(node.layout.host_snapshot.read_text())["sysctls"]
    daemons = [pid for name in DAEMONS if (pid := node._pid(name))]
    for pid in daemons + node_host.processes_mentioning(str(node.layout.socket)) + node_host.kubepods_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(node_host.alive(pid) for pid in daemons) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not node.running()
    assert node_host.foreign_kubernetes(), "the kill left nothing behind: the check below proves nothing"

    other = dataclasses.replace(node, node_dir=tmp_path / "node")
    other.preflight()  # no error: the leftovers were ours, and are gone now

    _assert_nothing_left(real_cluster, node, sysctls_before_up)
    assert node_host.foreign_kubernetes() is None
    real_cluster.kubectl("delete", "node", NODE_NAME, "--ignore-not-found")
