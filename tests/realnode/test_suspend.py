"""Suspend and resume on the real node, through the API: a suspended store runs no container (the
kubelet stopped them, nothing answers at its Service), keeps its claims, Secret and credentials;
resumed, it comes back on the same volumes with the posts written before, and the same login works.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest

from tests.live import LiveServer
from tests.realnode import probe
from tests.realnode.conftest import record
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

STORE = "nap1"
NAMESPACE = f"store-{STORE}"
HOST = f"{STORE}.realnode.storestack.test"


def _claims(cluster: SimCluster) -> dict[str, Any]:
    return {
        pvc["metadata"]["name"]: (pvc["metadata"]["uid"], pvc["spec"]["volumeName"], pvc["status"]["phase"])
        for pvc in probe.kget(cluster, "pvc", "-n", NAMESPACE)["items"]
    }


def _running_tasks(cluster: SimCluster) -> set[str]:
    """The store's containers that have a running task in containerd."""
    tasks = {
        line.split()[0] for line in cluster.node.ctr("tasks", "ls").splitlines()[1:] if "RUNNING" in line
    }
    return tasks & set(probe.store_containers_on_node(cluster, NAMESPACE))


def _wait(check: Any, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(1)


def test_suspend_stops_every_container_keeps_the_data_and_resume_brings_it_back(
    real_server: LiveServer, real_cluster: SimCluster
) -> None:
    cluster = real_cluster
    with real_server.client() as api:
        assert api.post("/stores", json={"name": STORE, "engine": "woocommerce"}).status_code == 202
        real_server.wait_status(STORE, "ready", timeout=600)
        password = api.get(f"/stores/{STORE}/credentials").json()["admin_password"]
    wordpress = probe.WordPress(HOST)
    marker = f"napped-{secrets.token_hex(6)}"
    try:
        wordpress.wait_answering()
        done = wordpress.install(title="Napping", user="admin", password=password, email="admin@example.com")
        assert done.status_code == 200 and "Success!" in done.text, done.text[:1000]
        wordpress.login("admin", password)
        post_id = wordpress.create_post(marker, "written before the store was suspended")
    finally:
        wordpress.close()
    claims = _claims(cluster)
    assert len(claims) == 2 and all(phase == "Bound" for _, _, phase in claims.values()), claims
    secret_values = probe.secret_values(cluster, NAMESPACE)
    assert _running_tasks(cluster), "no container of the store runs before the suspend"

    t0 = time.monotonic()
    with real_server.client() as api:
        response = api.post(f"/stores/{STORE}/suspend")
        assert response.status_code == 202, response.text
        store = real_server.wait_status(STORE, "suspended", timeout=600)
    suspended_in = time.monotonic() - t0
    assert store["suspended"] is True
    _wait(lambda: not probe.app_pods(cluster, NAMESPACE), "the store's pods are still there")
    _wait(lambda: not _running_tasks(cluster), "a container of the suspended store still runs")
    stopped_in = time.monotonic() - t0
    assert probe.kget(cluster, "deployment", "wordpress", "-n", NAMESPACE)["spec"]["replicas"] == 0
    assert probe.kget(cluster, "statefulset", "mysql", "-n", NAMESPACE)["spec"]["replicas"] == 0
    assert probe.kget(cluster, "cronjob", "wp-cron", "-n", NAMESPACE)["spec"]["suspend"] is True
    assert _claims(cluster) == claims, "a claim changed while the store was suspended"
    service_ip = probe.kget(cluster, "service", "wordpress", "-n", NAMESPACE)["spec"]["clusterIP"]
    with pytest.raises(httpx.HTTPError):  # no endpoint: refused (or nothing) instead of a page
        httpx.get(f"http://{service_ip}/", headers={"Host": HOST}, timeout=5)
    with probe.through_ingress(HOST, timeout=10) as customer:  # the ingress has nothing to send it to
        answer = customer.get("/")
    assert answer.status_code in (404, 502, 503), (answer.status_code, answer.text[:200])
    assert "wp-" not in answer.text

    t1 = time.monotonic()
    with real_server.client() as api:
        response = api.post(f"/stores/{STORE}/resume")
        assert response.status_code == 202, response.text
        store = real_server.wait_status(STORE, "ready", timeout=600)
        assert api.get(f"/stores/{STORE}/credentials").json()["admin_password"] == password
    resumed_in = time.monotonic() - t1
    assert store["suspended"] is False
    assert _claims(cluster) == claims, "resume did not come back on the same volumes"
    wordpress = probe.WordPress(HOST)
    try:
        wordpress.wait_answering()
        home = wordpress.get("/")
        assert home.status_code == 200 and "Napping" in home.text, (home.status_code, home.headers)
        kept = wordpress.get("/", params={"rest_route": "/wp/v2/posts", "search": marker})
        assert [p["id"] for p in kept.json()] == [post_id], kept.text[:300]
        wordpress.login("admin", password)  # the same admin login, from the same database
    finally:
        wordpress.close()
    assert probe.secret_values(cluster, NAMESPACE) == secret_values
    record(
        "suspend_resume_seconds",
        {
            "suspend_to_status_suspended": round(suspended_in, 1),
            "suspend_to_no_container_running": round(stopped_in, 1),
            "resume_to_ready": round(resumed_in, 1),
        },
    )
    with real_server.client() as api:
        assert api.delete(f"/stores/{STORE}").status_code == 202
    real_server.wait_status(STORE, "deleted", timeout=600)
