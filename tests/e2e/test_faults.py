"""Faults, end to end on the simulated cluster: the API server frozen (SIGSTOP) for 30 s while two
stores provision on a fresh server, and the API server killed and brought back a minute later. Every
store converges without a human, no attempt is used up by the outage, and the cluster's own
controllers survive the stall. Convergence times are printed (``pytest -s``)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster


@pytest.fixture
def server(tools: Path, sim_cluster: SimCluster, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(
        data_dir=tmp_path / "data",
        kubeconfig=sim_cluster.kubeconfig,
        tools_dir=tools,
        extra_env={"STORESTACK_WORKER_CONCURRENCY": "2", "STORESTACK_CLUSTER_CHECK_SECONDS": "1"},
    ).start()
    try:
        yield live
    finally:
        live.stop()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _create_at_work(server: LiveServer, name: str) -> None:
    with server.client() as api:
        assert api.post("/stores", json={"name": name, "engine": "woocommerce"}).status_code == 202
    server.wait_at_work(name, "provisioning", steps=3)


def _readyz(server: LiveServer) -> dict[str, object]:
    body: dict[str, object] = httpx.get(f"{server.url}/readyz", timeout=15).json()
    return body


def test_api_server_frozen_30s_while_two_stores_provision_on_a_fresh_server(
    server: LiveServer, sim_cluster: SimCluster
) -> None:
    names = ("freeze-a", "freeze-b")
    with server.client() as api:
        for name in names:  # together, on a server that has run no program yet
            assert api.post("/stores", json={"name": name, "engine": "woocommerce"}).status_code == 202
    for name in names:
        server.wait_at_work(name, "provisioning", steps=3)
    apiserver = sim_cluster.component_pid("kube-apiserver")
    others = {c: sim_cluster.component_pid(c) for c in ("kube-controller-manager", "kube-scheduler")}
    os.kill(apiserver, signal.SIGSTOP)
    try:
        time.sleep(5)
        assert _readyz(server)["checks"] == {"database": True, "cluster": False}
        time.sleep(25)
    finally:
        os.kill(apiserver, signal.SIGCONT)
    resumed = time.monotonic()
    for name in names:
        store = server.wait_status(name, "ready", timeout=420)
        print(f"\n[faults] {name}: ready {time.monotonic() - resumed:.1f}s after the API server resumed")
        assert store["attempts"] == 1 or all(
            e.get("data", {}).get("outage") for e in _errors(server, name)
        ), _errors(server, name)
    assert _readyz(server)["status"] == "ready"
    for component, pid in others.items():
        assert _alive(pid), f"{component} died during the stall"


def _errors(server: LiveServer, name: str) -> list[dict]:  # type: ignore[type-arg]
    with server.client() as api:
        return [e for e in api.get(f"/stores/{name}/events").json() if e["kind"] == "error"]


def test_api_server_killed_mid_up_and_back_a_minute_later(
    server: LiveServer, sim_cluster: SimCluster
) -> None:
    name = "apikill"
    _create_at_work(server, name)
    pid = sim_cluster.component_pid("kube-apiserver")
    os.kill(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.1)
    # Away for 60 s: five attempts with a 1 s backoff would all be spent by then.
    time.sleep(60)
    assert sim_cluster.status().dead == ("kube-apiserver",)
    assert sim_cluster.up().healthy  # restarts what died, keeping the cluster's state
    back = time.monotonic()
    store = server.wait_status(name, "ready", timeout=420)
    print(f"\n[faults] {name}: ready {time.monotonic() - back:.1f}s after the API server came back")
    assert store["attempts"] <= 2, store  # the outage used up none (one retry at most)
    with server.client() as api:
        events = api.get(f"/stores/{name}/events").json()
    assert any(e["kind"] == "waiting" for e in events) or any(
        e.get("data", {}).get("outage") for e in events if e["kind"] == "error"
    ), events


def test_a_delete_during_up_cancels_it_and_the_store_is_deleted(
    server: LiveServer, sim_cluster: SimCluster
) -> None:
    name = "preempt"
    _create_at_work(server, name)
    with server.client() as api:
        asked = time.monotonic()
        assert api.delete(f"/stores/{name}").status_code == 202
        server.wait_status(name, "deleted", timeout=300)
        print(f"\n[faults] {name}: deleted {time.monotonic() - asked:.1f}s after the delete (up cancelled)")
        events = api.get(f"/stores/{name}/events").json()
    assert any(e["message"] == "provisioning cancelled: deletion requested" for e in events), events
    assert f"namespace/store-{name}" not in sim_cluster.kubectl("get", "namespaces", "-o", "name").split()


def test_the_simulated_cluster_tells_which_component_died_and_up_restarts_it(sim_cluster: SimCluster) -> None:
    sim_cluster.kubectl("create", "namespace", "survivor")
    for component in ("kube-scheduler", "kube-apiserver"):
        pid = sim_cluster.component_pid(component)
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.1)
    status = sim_cluster.status()
    assert not status.running and set(status.dead) == {"kube-scheduler", "kube-apiserver"}
    assert "kube-scheduler" in status.describe() and "cluster up" in status.describe()
    healed = sim_cluster.up()
    assert healed.healthy, healed.describe()
    # the cluster was restarted, not rebuilt: what it held is still there
    assert "namespace/survivor" in sim_cluster.kubectl("get", "namespaces", "-o", "name").split()
    sim_cluster.kubectl("delete", "namespace", "survivor", "--wait=false")
