"""``storestack serve`` killed with SIGKILL while one store provisions and another is being deleted,
over and over (``STORESTACK_CRASH_TRIALS``, 10 by default): after each restart both converge without a
human, the provider plugins the kill orphaned are stopped by the new server, and once every store is
deleted nothing is left: no engine process, namespace, PersistentVolume, stack, lock, backup, history
or config file. In one trial the provisioning store's namespace is also deleted by hand while the
server is down, so the retried ``up`` must read the cluster back and re-create it. Convergence times
(min/median/max) are printed (``pytest -s``)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from stacks.processes import OWNER_VAR
from tests.live import LiveServer, orphaned_providers
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

TRIALS = int(os.environ.get("STORESTACK_CRASH_TRIALS", "10"))
PREFIX = "kill"
VANISH_TRIAL = 2  # the trial whose new store's namespace is deleted while the server is down


def _engine_processes() -> list[int]:
    """Live processes a Fleet started (the pulumi CLI, its language host and plugins): they carry
    the owner mark in their environment."""
    marked = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            environ = (proc_dir / "environ").read_bytes()
            state = (proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and f"\0{OWNER_VAR}=".encode() in b"\0" + environ:
            marked.append(int(proc_dir.name))
    return marked


def _leftovers(server: LiveServer, cluster: SimCluster) -> dict[str, list[str]]:
    """Every trace of this test's stores, by kind; all lists are empty when nothing is left."""
    root = server.data_dir / "pulumi"
    backend = root / "state" / ".pulumi"
    namespaces = cluster.kubectl("get", "namespaces", "-o", "name").split()
    claims = cluster.kubectl(
        "get", "pv", "-o", "jsonpath={range .items[*]}{.spec.claimRef.namespace}{'\\n'}{end}"
    ).split()
    return {
        "engine processes": [str(pid) for pid in _engine_processes()],
        "namespaces": [n for n in namespaces if n.startswith(f"namespace/store-{PREFIX}")],
        "persistent volumes": [c for c in claims if c.startswith(f"store-{PREFIX}")],
        "backend files": sorted(str(p.relative_to(backend)) for p in backend.rglob(f"{PREFIX}*")),
        "config files": sorted(p.name for p in (root / "project").glob(f"Pulumi.{PREFIX}*")),
    }


def _started(server: LiveServer, name: str, phase: str, done: str) -> None:
    """Wait until the engine has done a step of ``phase`` on the store, or already finished it."""
    deadline = time.monotonic() + 180
    with server.client() as api:
        while time.monotonic() < deadline:
            store = api.get(f"/stores/{name}", params={"include_deleted": "true"}).json()
            if store["status"] == done or (store["status"] == phase and store["progress"]["done"] >= 1):
                return
            time.sleep(0.2)
    raise AssertionError(f"store {name} never started {phase}: {store}")


def test_sigkill_mid_up_and_mid_destroy_converges_every_time(
    server: LiveServer, sim_cluster: SimCluster
) -> None:
    up_times: list[float] = []
    destroy_times: list[float] = []
    in_flight = {"up": 0, "destroy": 0}  # kills that found the operation still running
    previous = f"{PREFIX}-0"
    with server.client() as api:
        assert api.post("/stores", json={"name": previous, "engine": "woocommerce"}).status_code == 202
    server.wait_status(previous, "ready")
    for trial in range(1, TRIALS + 1):
        name = f"{PREFIX}-{trial}"
        with server.client() as api:  # both at once: an up takes about 11 s, a destroy 10 s
            assert api.post("/stores", json={"name": name, "engine": "woocommerce"}).status_code == 202
            assert api.delete(f"/stores/{previous}").status_code == 202
        _started(server, name, "provisioning", "ready")
        _started(server, previous, "deleting", "deleted")
        with server.client() as api:
            statuses = [
                api.get(f"/stores/{n}", params={"include_deleted": "true"}).json()["status"]
                for n in (name, previous)
            ]
        before = set(orphaned_providers())
        server.kill(reap=False)
        in_flight["up"] += statuses[0] == "provisioning"
        in_flight["destroy"] += statuses[1] == "deleting"
        orphaned = set(orphaned_providers()) - before
        if trial == VANISH_TRIAL:
            sim_cluster.kubectl("delete", "namespace", f"store-{name}", "--ignore-not-found", "--wait=true")
        restarted = time.monotonic()
        server.start()
        deadline = time.monotonic() + 15
        while set(orphaned_providers()) & orphaned and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not set(orphaned_providers()) & orphaned, f"trial {trial}: provider processes left running"
        server.wait_status(previous, "deleted")
        destroy_times.append(time.monotonic() - restarted)
        store = server.wait_status(name, "ready")
        up_times.append(time.monotonic() - restarted)
        assert store["namespace"] == f"store-{name}"
        if trial == VANISH_TRIAL:  # re-created, not assumed: the retry read the cluster back first
            assert sim_cluster.kubectl("get", "deployments", "-n", f"store-{name}", "-o", "name").split()
        previous = name
    with server.client() as api:
        assert api.delete(f"/stores/{previous}").status_code == 202
    server.wait_status(previous, "deleted")
    server.stop()
    deadline = time.monotonic() + 60  # PVs are released by the cluster after their namespace goes
    while any(_leftovers(server, sim_cluster).values()) and time.monotonic() < deadline:
        time.sleep(1)
    left = _leftovers(server, sim_cluster)
    for label, times in (("mid-up -> ready", up_times), ("mid-destroy -> deleted", destroy_times)):
        print(
            f"\n[crash trials] {len(times)} kills {label} after the restart: min {min(times):.1f}s, "
            f"median {statistics.median(times):.1f}s, max {max(times):.1f}s"
        )
    print(f"[crash trials] kills with the operation still running: {in_flight} of {TRIALS} each")
    print(f"[crash trials] left after the last delete: {sum(map(len, left.values()))} ({left})")
    assert not any(left.values()), left
