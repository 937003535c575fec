"""A MedusaJS store on the real node, through the API: a customer orders, the admin sees the order.

POST (engine medusa) -> ready: PostgreSQL, the setup Job (migrations, seed, admin user) and the Medusa
server really ran, and the storefront check (publishable key, Store API, cart) passed through the
ingress (Traefik). Then, as a customer through the ingress by the store's host name: cart, item,
address, shipping, the system payment provider, complete -> an order; as the store's admin (the
credentials endpoint's e-mail and password) the Admin API lists it, an uploaded product image is
served at /static, and the admin dashboard is served. Both pods deleted -> the order and the image
are still there. A backup, a second order and image, a backup failing with the database down, a
restore -> the first order and image are there and the second ones are not. A clone of the backup
has the first order under its own host and admin, and the original keeps what it had. No secret in any pod
log (the setup pod's included), argv or event. DELETE -> nothing of the store is left on the node.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

import pytest

from tests.live import LiveServer
from tests.objstore import ObjectStore
from tests.realnode import backup_steps, probe
from tests.realnode.conftest import record
from tests.realnode.medusa_shop import MedusaShop
from toolchain.cluster import SimCluster
from toolchain.node_config import NODE_NAME

pytestmark = pytest.mark.cluster

STORE = "medusa1"
NAMESPACE = f"store-{STORE}"
HOST = f"{STORE}.realnode.storestack.test"
ADMIN = "ops@example.com"
CLONE = "medusa2"
CLONE_HOST = f"{CLONE}.realnode.storestack.test"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _phases(cluster: SimCluster) -> dict[str, float]:
    """Seconds of each part, from the kubelet's and the Job controller's timestamps."""
    out: dict[str, float] = {}
    first = None
    for pod in probe.kget(cluster, "pods", "-n", NAMESPACE)["items"]:
        created = _ts(pod["metadata"]["creationTimestamp"])
        first = created if first is None else min(first, created)
        name = pod["metadata"]["labels"]["app.kubernetes.io/name"]
        state = pod["status"]["containerStatuses"][0]["state"]
        started = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        if started:
            out[f"{name}: pod created -> container started"] = (_ts(started) - created).total_seconds()
        ready = next((c for c in pod["status"]["conditions"] if c["type"] == "Ready"), None)
        if name != "medusa-setup" and ready and ready["status"] == "True" and started:
            out[f"{name}: container started -> Ready"] = (
                _ts(ready["lastTransitionTime"]) - _ts(started)
            ).total_seconds()
    job = probe.kget(cluster, "job", "medusa-setup", "-n", NAMESPACE)["status"]
    out["setup job: started -> complete"] = (
        _ts(job["completionTime"]) - _ts(job["startTime"])
    ).total_seconds()
    if first is not None:
        out["first pod created -> setup complete"] = (_ts(job["completionTime"]) - first).total_seconds()
    return out


def test_medusa_store_takes_an_order_keeps_it_and_leaves_nothing(
    real_server: LiveServer,
    real_cluster: SimCluster,
    object_store: ObjectStore,
) -> None:
    cluster = real_cluster
    with real_server.client() as api:
        engines = [e["name"] for e in api.get("/engines").json()]
        assert engines == ["woocommerce", "medusa"], engines
        t0 = time.monotonic()
        body = {"name": STORE, "engine": "medusa", "title": "Medusa Real", "admin_email": ADMIN}
        response = api.post("/stores", json=body)
        assert response.status_code == 202, response.text
        store = real_server.wait_status(STORE, "ready", timeout=900)
        post_to_ready = time.monotonic() - t0
        credentials = api.get(f"/stores/{STORE}/credentials").json()
    assert store["engine"] == "medusa" and store["url"] == f"http://{HOST}/"
    assert store["admin_url"] == f"http://{HOST}/app/"
    assert credentials["admin_user"] == ADMIN
    password = credentials["admin_password"]
    record("medusa_post_to_ready_seconds", round(post_to_ready, 1))
    record("medusa_phases_seconds", _phases(cluster))

    # The containers really run on the real node: PostgreSQL and the Medusa server.
    pods = probe.app_pods(cluster, NAMESPACE)
    assert sorted(p["spec"]["nodeName"] for p in pods) == [NODE_NAME, NODE_NAME]
    assert sorted(c.name for c in probe.containers(cluster, NAMESPACE)) == ["medusa", "postgres"]
    job = probe.kget(cluster, "job", "medusa-setup", "-n", NAMESPACE)
    assert job["status"].get("succeeded") == 1, job["status"]

    shop = MedusaShop(HOST)
    try:
        shop.wait_healthy()
        t_order = time.monotonic()
        order = shop.place_order(email="customer@example.com", country="US")
        record("medusa_order_round_trip_seconds", round(time.monotonic() - t_order, 2))
        record("medusa_order_steps_ms", dict(shop.timings))
        assert order["email"] == "customer@example.com"
        listed = shop.admin_orders(ADMIN, password)
        assert order["id"] in [o["id"] for o in listed], listed
        wrong = shop.client.post(
            "/auth/user/emailpass", json={"email": ADMIN, "password": "not-the-password"}
        )
        assert wrong.status_code == 401, wrong.text[:200]
        image = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(64)
        image_path = shop.upload(ADMIN, password, "product.png", image)
        assert image_path.startswith("/static/"), image_path
        assert shop.client.get(image_path).content == image
        dashboard = shop.admin_dashboard()
        assert dashboard.status_code == 200 and "<html" in dashboard.text.lower(), dashboard.text[:300]
    finally:
        shop.close()
    record("medusa_memory_at_rest", probe.memory_at_rest(cluster, NAMESPACE))

    secret_values = probe.secret_values(cluster, NAMESPACE)
    assert password in secret_values and len(secret_values) == 4
    probe.no_secret_anywhere(cluster, NAMESPACE, secret_values, processes=("postgres", "node"))

    # Restart both pods: the order is still there.
    old = {p["metadata"]["uid"] for p in probe.app_pods(cluster, NAMESPACE)}
    cluster.kubectl("delete", "pods", "-l", probe.APP_PODS, "-n", NAMESPACE, "--wait=true", timeout=120)
    probe.wait_restarted(cluster, NAMESPACE, old)
    shop = MedusaShop(HOST)
    try:
        shop.wait_healthy()
        kept = shop.admin_orders(ADMIN, password)
        assert order["id"] in [o["id"] for o in kept], kept
        assert shop.client.get(image_path).content == image  # the uploads volume kept it
    finally:
        shop.close()
    probe.no_secret_anywhere(cluster, NAMESPACE, secret_values, processes=("postgres", "node"))

    # Back up; a second order and image; a backup with the database down fails; restore: the first
    # order and image are there, the second ones are not.
    backup_id = backup_steps.back_up(real_server, object_store, STORE, "medusa", secret_values)
    shop = MedusaShop(HOST)
    try:
        second = shop.place_order(email="later@example.com", country="US")
        later_image = shop.upload(
            ADMIN, password, "later.png", b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(64)
        )
        assert second["id"] in [o["id"] for o in shop.admin_orders(ADMIN, password)]
    finally:
        shop.close()
    backup_steps.backup_with_the_database_down(real_server, cluster, STORE, "postgres")
    backup_steps.restore(real_server, STORE, backup_id, "medusa")
    shop = MedusaShop(HOST)
    try:
        shop.wait_healthy()
        ids = [o["id"] for o in shop.admin_orders(ADMIN, password)]
        assert order["id"] in ids and second["id"] not in ids, ids
        assert shop.client.get(image_path).content == image
        assert shop.client.get(later_image).status_code == 404
    finally:
        shop.close()
    probe.no_secret_anywhere(cluster, NAMESPACE, secret_values, processes=("postgres", "node"))

    # Clone the backup into a new store: the first order is there, under the clone's own host and
    # admin (its own password; the original's does not open it); an order on the clone is not the
    # original's.
    made = backup_steps.clone(real_server, CLONE, STORE, backup_id, engine="medusa", admin_email=ADMIN)
    clone_password = made["credentials"]["admin_password"]
    assert made["store"]["url"] == f"http://{CLONE_HOST}/" and clone_password != password
    shop = MedusaShop(CLONE_HOST)
    try:
        shop.wait_healthy()
        assert [o["id"] for o in shop.admin_orders(ADMIN, clone_password)] == [order["id"]]
        wrong = shop.client.post("/auth/user/emailpass", json={"email": ADMIN, "password": password})
        assert wrong.status_code == 401, wrong.text[:200]
        on_clone = shop.place_order(email="clone@example.com", country="US")
    finally:
        shop.close()
    shop = MedusaShop(HOST)
    try:
        ids = [o["id"] for o in shop.admin_orders(ADMIN, password)]
        assert order["id"] in ids and on_clone["id"] not in ids, ids
    finally:
        shop.close()
    probe.delete_leaves_nothing(real_server, cluster, CLONE, volumes=2)

    # Delete: nothing of the store is left on the node.
    probe.delete_leaves_nothing(real_server, cluster, STORE, volumes=2)
