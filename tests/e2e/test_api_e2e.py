"""The control plane end to end: ``storestack serve`` over real HTTP, the real Pulumi engine and the
simulated cluster. POST -> pending -> provisioning -> ready -> DELETE -> deleted with nothing left;
no secret leaks. (A server killed while provisioning or deleting: ``test_crash_trials``.)"""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from stacks.files import wider_than_private
from tests.live import LiveServer
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster


def _namespaces(cluster: SimCluster) -> list[str]:
    return cluster.kubectl("get", "namespaces", "-o", "name").split()


def _stacks(data_dir: Path) -> list[str]:
    stacks = data_dir / "pulumi" / "state" / ".pulumi" / "stacks" / "storestack"
    return sorted(p.name for p in stacks.glob("*")) if stacks.exists() else []


def test_store_lifecycle_over_http(server: LiveServer, sim_cluster: SimCluster) -> None:
    with server.client() as api:
        response = api.post("/stores", json={"name": "web1", "engine": "woocommerce", "title": "Web One"})
        assert response.status_code == 202, response.text
        assert response.headers["location"].endswith("/api/v1/stores/web1")
        assert response.json()["status"] == "pending"
        seen: set[str] = set()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            store = api.get("/stores/web1").json()
            seen.add(store["status"])
            if store["status"] in ("ready", "failed"):
                break
            time.sleep(0.2)
        assert store["status"] == "ready", store
        assert "provisioning" in seen
        assert store["url"] == "http://web1.sim.storestack.test/"
        assert store["namespace"] == "store-web1"
        assert store["ready_at"] and store["last_error"] is None
        assert store["progress"]["done"] == store["progress"]["total"] > 10
        assert "namespace/store-web1" in _namespaces(sim_cluster)
        deployments = json.loads(sim_cluster.kubectl("get", "deployments", "-n", "store-web1", "-o", "json"))
        assert deployments["items"][0]["status"]["availableReplicas"] == 1

        events = api.get("/stores/web1/events").json()
        items = events["items"] if isinstance(events, dict) else events
        text = json.dumps(items)
        assert "provisioning" in text and "ready" in text and "Deployment" in text

        password = api.get("/stores/web1/credentials").json()["admin_password"]
        assert len(password) >= 24

        # Everything the server and its pulumi processes wrote is private: the data dir 0700, the
        # database, passphrase, Pulumi state and the stack's (encrypted) config 0600.
        assert wider_than_private(server.data_dir) == []
        assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
        written = [p for p in server.data_dir.rglob("*") if p.is_file()]
        names = {p.name for p in written}
        assert {"storestack.db", "passphrase", "web1.json"} <= names, names
        # The stack's config lives in the database (shared by replicas); no local copy stays behind.
        assert "Pulumi.web1.yaml" not in names, names
        assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {0o600}

        assert api.delete("/stores/web1").status_code == 202
        assert api.delete("/stores/web1").status_code == 202  # repeatable
        server.wait_status("web1", "deleted", timeout=300)
        assert "namespace/store-web1" not in _namespaces(sim_cluster)
        assert _stacks(server.data_dir) == []
        assert api.get("/stores").json()["count"] == 0
        assert api.get("/stores", params={"include_deleted": "true"}).json()["count"] == 1

        # The generated password appears nowhere but the credentials endpoint.
        everything = json.dumps(
            [
                api.get("/stores", params={"include_deleted": "true"}).json(),
                api.get("/stores/web1/events").json(),
            ]
        )
        assert password not in everything
        assert password not in server.log()
