"""A store changed over HTTP (``PATCH``), end to end: ``storestack serve``, the real Pulumi engine and
the simulated cluster. The change is an in-place ``up``: only the objects whose spec changed are
replaced (the setup Job, which writes the title into WordPress), the workloads' pods, the volumes
and the credentials stay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.live import LiveServer
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster
NAMESPACE = "store-renamed"


def _objects(cluster: SimCluster) -> dict[str, Any]:
    """uid and generation of every workload, claim and pod, and the setup Job's environment."""
    found = json.loads(
        cluster.kubectl(
            "get", "deployments,statefulsets,pvc,pods,jobs,secrets", "-n", NAMESPACE, "-o", "json"
        )
    )["items"]
    seen: dict[str, Any] = {}
    for item in found:
        meta = item["metadata"]
        if item["kind"] == "Pod" and "job-name" in meta.get("labels", {}):
            continue  # the setup Job's own pod goes with the Job
        seen[f"{item['kind']}/{meta['name']}"] = (meta["uid"], meta.get("generation"))
    job = next(item for item in found if item["kind"] == "Job")
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    seen["job-env"] = {e["name"]: e.get("value") for e in env if e["name"] in ("STORE_TITLE", "ADMIN_EMAIL")}
    return seen


def test_a_patch_replaces_only_what_changed(server: LiveServer, sim_cluster: SimCluster) -> None:
    with server.client() as api:
        body = {"name": "renamed", "engine": "woocommerce", "title": "First Title"}
        assert api.post("/stores", json=body).status_code == 202
        server.wait_status("renamed", "ready")
        before = _objects(sim_cluster)
        credentials = api.get("/stores/renamed/credentials").json()

        response = api.patch(
            "/stores/renamed", json={"title": "Second Title", "admin_email": "boss@example.org"}
        )
        assert response.status_code == 202, response.text
        store = server.wait_status("renamed", "ready")
        assert store["title"] == "Second Title"
        after = _objects(sim_cluster)

        assert before["job-env"] == {"STORE_TITLE": "First Title", "ADMIN_EMAIL": "admin@example.com"}
        assert after["job-env"] == {"STORE_TITLE": "Second Title", "ADMIN_EMAIL": "boss@example.org"}
        job = "Job/woocommerce-setup"
        assert after[job][0] != before[job][0], "the setup Job was not re-run"
        kept = {key: value for key, value in before.items() if key not in (job, "job-env")}
        assert any(key.startswith("Pod/") for key in kept) and any(
            key.startswith("PersistentVolumeClaim/") for key in kept
        )
        assert {key: after.get(key) for key in kept} == kept, (
            "an object whose spec did not change was replaced"
        )
        assert api.get("/stores/renamed/credentials").json() == credentials

        events = api.get("/stores/renamed/events").json()
        changed = [e for e in events if e["kind"] == "changed"]
        assert changed and changed[0]["data"]["before"]["title"] == "First Title", events
        last_up = events[[e["kind"] for e in events].index("changed") :]
        steps = [e["message"] for e in last_up if e["kind"] == "progress"]
        assert any("Job" in step and "woocommerce-setup" in step for step in steps), steps

        assert api.delete("/stores/renamed").status_code == 202
        server.wait_status("renamed", "deleted")


def test_a_plan_and_domain_change_resizes_the_workloads_and_the_quota_and_adds_a_host(
    server: LiveServer, sim_cluster: SimCluster
) -> None:
    namespace = "store-resized"

    def sizes() -> dict[str, Any]:
        found = json.loads(
            sim_cluster.kubectl(
                "get", "deployments,statefulsets,resourcequota,pvc", "-n", namespace, "-o", "json"
            )
        )["items"]
        seen: dict[str, Any] = {}
        for item in found:
            key = f"{item['kind']}/{item['metadata']['name']}"
            if item["kind"] == "ResourceQuota":
                seen[key] = item["spec"]["hard"]["limits.memory"]
            elif item["kind"] == "PersistentVolumeClaim":
                seen[key] = item["metadata"]["uid"]
            else:
                seen[key] = item["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        return seen

    with server.client() as api:
        assert api.post("/stores", json={"name": "resized", "engine": "woocommerce"}).status_code == 202
        server.wait_status("resized", "ready")
        before = sizes()
        credentials = api.get("/stores/resized/credentials").json()
        response = api.patch("/stores/resized", json={"plan": "medium", "domains": ["resized.example.net"]})
        assert response.status_code == 202, response.text
        store = server.wait_status("resized", "ready")
        assert store["plan"] == "medium" and store["domains"] == ["resized.example.net"]
        ingress = json.loads(sim_cluster.kubectl("get", "ingress", "store", "-n", namespace, "-o", "json"))
        hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
        assert hosts == ["resized.sim.storestack.test", "resized.example.net"], hosts
        after = sizes()
        assert before["Deployment/wordpress"] == {"cpu": "250m", "memory": "256Mi"}  # sim's defaults
        assert after["Deployment/wordpress"] == {"cpu": "500m", "memory": "512Mi"}  # the medium plan
        assert after["StatefulSet/mysql"] == {"cpu": "500m", "memory": "512Mi"}
        assert (before["ResourceQuota/store-quota"], after["ResourceQuota/store-quota"]) == ("1Gi", "2Gi")
        claims = {key: uid for key, uid in before.items() if key.startswith("PersistentVolumeClaim/")}
        assert len(claims) == 2 and {key: after[key] for key in claims} == claims  # the data stays
        assert api.get("/stores/resized/credentials").json() == credentials
        assert api.delete("/stores/resized").status_code == 202
        server.wait_status("resized", "deleted")
