"""Day-2 operations end to end on the simulated cluster, through ``storestack serve`` and the real
Pulumi engine: drift (a NetworkPolicy deleted and a Deployment edited with kubectl) found by the
periodic check, reported, and repaired; and a store that expires deleted with everything in its
namespace. (Suspend and resume, which need pods that really stop, are on the real node.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import LiveServer
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster
NAMESPACE = "store-drifter"


@pytest.fixture
def checking_server(tools: Path, sim_cluster: SimCluster, tmp_path: Path) -> Iterator[LiveServer]:
    """A server that checks every ready store for drift about every 15 s."""
    live = LiveServer(
        data_dir=tmp_path / "data",
        kubeconfig=sim_cluster.kubeconfig,
        tools_dir=tools,
        extra_env={"STORESTACK_DRIFT_CHECK_SECONDS": "15"},
    ).start()
    try:
        yield live
    finally:
        live.stop()


def _wait_checked(server: LiveServer, name: str, after: str | None, timeout: float = 120) -> dict[str, Any]:
    """The store once a drift check newer than ``after`` has finished."""
    deadline = time.monotonic() + timeout
    with server.client() as api:
        while True:
            store: dict[str, Any] = api.get(f"/stores/{name}").json()
            if store["drift"]["checked_at"] not in (None, after):
                return store
            if time.monotonic() > deadline:
                events = api.get(f"/stores/{name}/events").json()
                drift = [e["message"] for e in events if e["kind"].startswith("drift")]
                raise AssertionError(f"no drift check finished: {store['drift']}; drift events: {drift}")
            time.sleep(0.5)


def _policies(cluster: SimCluster) -> set[str]:
    found = json.loads(cluster.kubectl("get", "networkpolicies", "-n", NAMESPACE, "-o", "json"))["items"]
    return {item["metadata"]["name"] for item in found}


def test_drift_made_with_kubectl_is_found_by_the_periodic_check_and_repaired(
    checking_server: LiveServer, sim_cluster: SimCluster
) -> None:
    server = checking_server
    with server.client() as api:
        assert api.post("/stores", json={"name": "drifter", "engine": "woocommerce"}).status_code == 202
        server.wait_status("drifter", "ready")
        first = _wait_checked(server, "drifter", None)  # nobody asked: the periodic check came
        assert first["drift"]["drifted"] is False, first["drift"]
        policies = _policies(sim_cluster)
        assert "default-deny" in policies, policies

        started = time.monotonic()
        sim_cluster.kubectl("delete", "networkpolicy", "default-deny", "-n", NAMESPACE)
        # An edit of a field the program sets (kubectl takes it over from Pulumi's field manager).
        sim_cluster.kubectl("set", "env", "deployment/wordpress", "-n", NAMESPACE, "WORDPRESS_DB_NAME=other")
        assert api.post("/stores/drifter/check-drift").status_code == 202
        found = _wait_checked(server, "drifter", first["drift"]["checked_at"])
        detected = time.monotonic() - started
        summary = found["drift"]["summary"] or ""
        assert found["drift"]["drifted"] is True, found["drift"]
        assert "create NetworkPolicy" in summary and "default-deny" in summary, summary
        print(f"\n[day2] drift summary: {summary}")
        assert "Deployment" in summary and "wordpress" in summary, summary
        assert found["status"] == "ready"  # reported, not acted on: automatic repair is off
        assert "default-deny" not in _policies(sim_cluster)
        events = api.get("/stores/drifter/events").json()
        drift_events = [e for e in events if e["kind"] == "drift"]
        assert drift_events and drift_events[-1]["message"].startswith("drift found"), drift_events
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        assert 'storestack_store_drifted{store="drifter"} 1.0' in metrics

        started = time.monotonic()
        assert api.post("/stores/drifter/repair").status_code == 202
        repaired = server.wait_status("drifter", "ready")
        took = time.monotonic() - started
        assert repaired["drift"]["drifted"] is False
        assert "default-deny" in _policies(sim_cluster), "the repair did not put the policy back"
        deployment = json.loads(
            sim_cluster.kubectl("get", "deployment", "wordpress", "-n", NAMESPACE, "-o", "json")
        )
        env = {
            e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["WORDPRESS_DB_NAME"] != "other", "the repair left the hand edit"
        clean_from = repaired["drift"]["checked_at"]
        assert api.post("/stores/drifter/check-drift").status_code == 202
        clean = _wait_checked(server, "drifter", clean_from)
        assert clean["drift"]["drifted"] is False, clean["drift"]
        print(f"\n[day2] drift found {detected:.1f}s after the kubectl edits; repaired in {took:.1f}s")

        assert api.delete("/stores/drifter").status_code == 202
        server.wait_status("drifter", "deleted")


def test_an_expiring_store_is_deleted_with_its_namespace(server: LiveServer, sim_cluster: SimCluster) -> None:
    with server.client() as api:
        body = {"name": "shortlived", "engine": "woocommerce", "expires_in_seconds": 60}
        created = api.post("/stores", json=body)
        assert created.status_code == 202, created.text
        assert created.json()["expires_at"] is not None
        server.wait_status("shortlived", "ready")
        assert "namespace/store-shortlived" in sim_cluster.kubectl("get", "namespaces", "-o", "name")
        gone = server.wait_status("shortlived", "deleted", timeout=240)
        assert gone["deleted_at"] >= created.json()["expires_at"]
        events = api.get("/stores/shortlived/events").json()
        expired = [e for e in events if e["kind"] == "expired"]
        assert expired and expired[0]["actor"] != "alice", events
    deadline = time.monotonic() + 60
    while "namespace/store-shortlived" in sim_cluster.kubectl("get", "namespaces", "-o", "name"):
        assert time.monotonic() < deadline, "the expired store's namespace is still there"
        time.sleep(1)
