"""A store on the real node, through the API: its MySQL and WordPress containers really run.

POST -> ready (probes passed on real containers), WordPress reaches MySQL by the Service name with
the Secret's credentials and is installed through its web installer (as any first visitor could:
the install race of a store without its setup Job), pretty permalinks and ``/wp-json/``; both pods
deleted -> the store comes back with its data; a backup, a second post and file, a restore -> the
first post and file are there and the second ones are not; a clone of the backup serves them under
its own host and admin password; retention prunes the older of two scheduled backups; no secret in
pod logs, argv or events; memory limits enforced by the cgroups; DELETE -> no container, sandbox or
volume of the store left on the node. A provision through a 30 s API-server freeze and a SIGKILL of
the control plane still converges.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from datetime import datetime

import pytest

from tests.live import LiveServer
from tests.objstore import ObjectStore
from tests.realnode import backup_steps, probe
from tests.realnode.conftest import record
from toolchain.cluster import SimCluster
from toolchain.node_config import NODE_NAME

pytestmark = pytest.mark.cluster

STORE = "real1"
NAMESPACE = f"store-{STORE}"
HOST = f"{STORE}.realnode.storestack.test"
CLONE = "real1copy"
CLONE_HOST = f"{CLONE}.realnode.storestack.test"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _phases(cluster: SimCluster) -> dict[str, float]:
    """Seconds from each pod's creation to its container start and to Ready (kubelet's timestamps)."""
    out = {}
    for pod in probe.app_pods(cluster, NAMESPACE):
        app = pod["metadata"]["labels"].get("app.kubernetes.io/name", pod["metadata"]["name"])
        created = _ts(pod["metadata"]["creationTimestamp"])
        started = _ts(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
        ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
        out[f"{app}: pod created -> container started"] = (started - created).total_seconds()
        out[f"{app}: container started -> Ready"] = (
            _ts(ready["lastTransitionTime"]) - started
        ).total_seconds()
    return out


def _write_upload(cluster: SimCluster, namespace: str, name: str, text: str) -> None:
    """A file in wp-content/uploads, written as WordPress would (its container, its user)."""
    uploads = "/var/www/html/wp-content/uploads"
    script = f'mkdir -p {uploads} && echo "{text}" > {uploads}/{name}'
    cluster.kubectl("exec", "-n", namespace, "deploy/wordpress", "-c", "wordpress", "--", "sh", "-c", script)


def _has_only(host: str, marker: str, post_id: int, later: str) -> None:
    """The store has the post and file of the backup, and not those made after it."""
    wordpress = probe.WordPress(host)
    try:
        wordpress.wait_answering()
        for search, expected in ((marker, [post_id]), (later, [])):
            found = wordpress.get("/wp-json/wp/v2/posts", params={"search": search})
            assert [p["id"] for p in found.json()] == expected, (search, found.text[:300])
        assert wordpress.get("/wp-content/uploads/kept.txt").text.strip() == marker
        assert wordpress.get("/wp-content/uploads/later.txt").status_code == 404
    finally:
        wordpress.close()


def test_store_runs_keeps_its_data_and_leaves_nothing(
    real_server: LiveServer,
    real_cluster: SimCluster,
    object_store: ObjectStore,
) -> None:
    cluster = real_cluster
    with real_server.client() as api:
        t0 = time.monotonic()
        response = api.post("/stores", json={"name": STORE, "engine": "woocommerce", "title": "Real One"})
        assert response.status_code == 202, response.text
        store = real_server.wait_status(STORE, "ready", timeout=600)
        post_to_ready = time.monotonic() - t0
        password = api.get(f"/stores/{STORE}/credentials").json()["admin_password"]
    assert store["url"] == f"http://{HOST}/"

    # The containers really run, on the real node, and passed their probes.
    pods = probe.app_pods(cluster, NAMESPACE)
    assert sorted(p["spec"]["nodeName"] for p in pods) == [NODE_NAME, NODE_NAME]
    running = probe.containers(cluster, NAMESPACE)
    assert sorted(c.name for c in running) == ["mysql", "wordpress"], running
    for container in running:
        probe.task_pid(cluster, container.container_id)  # a real process in containerd
    record("post_to_ready_seconds", round(post_to_ready, 1))
    record("pod_phases_seconds", _phases(cluster))

    # WordPress reaches MySQL by the Service name with the Secret's credentials: the installer
    # (which needs the database) answers, and a first visitor installs the site.
    wordpress = probe.WordPress(HOST)
    try:
        first = wordpress.wait_answering()
        t_first = time.monotonic() - t0
        assert first.status_code == 302 and "install.php" in first.headers["location"], first.headers
        form = wordpress.get("/wp-admin/install.php")
        assert form.status_code == 200 and 'name="weblog_title"' in form.text, form.text[:500]
        done = wordpress.install(title="Real One", user="admin", password=password, email="admin@example.com")
        assert done.status_code == 200 and "Success!" in done.text, done.text[:1000]
        record("post_to_wordpress_answer_seconds", round(t_first, 1))

        wordpress.login("admin", password)
        saved = wordpress.admin_form(
            "options-permalink.php",
            {"selection": "custom", "permalink_structure": "/%postname%/", "submit": "Save"},
        )
        assert saved.status_code == 302, saved.text[:500]
        # As a browser does: follow the redirect; that page load writes the rules into .htaccess.
        assert wordpress.get(saved.headers["location"].split(HOST, 1)[1]).status_code == 200
        root = wordpress.get("/wp-json/")
        assert root.status_code == 200 and root.json()["name"] == "Real One", root.text[:300]
        marker = f"kept-{secrets.token_hex(6)}"
        post_id = wordpress.create_post(marker, "written before the restart")
        assert wordpress.get(f"/{marker}/").status_code == 200  # the pretty permalink of the post
    finally:
        wordpress.close()

    # Memory limits are enforced: each container's cgroup limit is the spec's.
    usage = probe.memory_at_rest(cluster, NAMESPACE)
    record("memory_at_rest", usage)

    secret_values = probe.secret_values(cluster, NAMESPACE)
    assert password in secret_values and len(secret_values) >= 10
    probe.no_secret_anywhere(cluster, NAMESPACE, secret_values, processes=("mariadbd", "apache2"))

    # Restart both pods: the store comes back with its data.
    old = {p["metadata"]["uid"] for p in probe.app_pods(cluster, NAMESPACE)}
    cluster.kubectl("delete", "pods", "--all", "-n", NAMESPACE, "--wait=true", timeout=120)
    probe.wait_restarted(cluster, NAMESPACE, old)
    wordpress = probe.WordPress(HOST)
    try:
        wordpress.wait_answering()
        home = wordpress.get("/")
        assert home.status_code == 200 and "Real One" in home.text, (home.status_code, home.headers)
        kept = wordpress.get("/wp-json/wp/v2/posts", params={"search": marker})
        assert [p["id"] for p in kept.json()] == [post_id], kept.text[:300]
        assert wordpress.get(f"/{marker}/").status_code == 200  # .htaccess (on the volume) kept too
    finally:
        wordpress.close()
    probe.no_secret_anywhere(cluster, NAMESPACE, secret_values, processes=("mariadbd", "apache2"))

    # Back up (the post and a file in wp-content); a second post and file; restore: the first post
    # and file are there, the second ones are not.
    _write_upload(cluster, NAMESPACE, "kept.txt", marker)
    backup_id = backup_steps.back_up(real_server, object_store, STORE, "woocommerce", secret_values)
    later = f"later-{secrets.token_hex(6)}"
    wordpress = probe.WordPress(HOST)
    try:
        wordpress.login("admin", password)
        wordpress.create_post(later, "written after the backup")
    finally:
        wordpress.close()
    _write_upload(cluster, NAMESPACE, "later.txt", later)
    backup_steps.restore(real_server, STORE, backup_id, "woocommerce")
    _has_only(HOST, marker, post_id, later)
    backup_steps.retention_prunes(real_server, cluster, STORE, "woocommerce", keep=backup_id)
    probe.no_secret_anywhere(cluster, NAMESPACE, secret_values, processes=("mariadbd", "apache2"))

    # Clone the backup: the clone serves the post and file under its own host (WordPress's home and
    # site URL are the clone's), and its admin signs in with the clone's own password only.
    made = backup_steps.clone(real_server, CLONE, STORE, backup_id, engine="woocommerce", title="Real Clone")
    clone_password = made["credentials"]["admin_password"]
    assert clone_password != password
    wordpress = probe.WordPress(CLONE_HOST)
    try:
        wordpress.wait_answering()
        root = wordpress.get("/wp-json/").json()
        assert root["home"] == f"http://{CLONE_HOST}" and root["url"] == f"http://{CLONE_HOST}", root
        assert wordpress.get(f"/{marker}/").status_code == 200
        refused = wordpress.try_login("admin", password)
        assert refused.status_code == 200 and "login_error" in refused.text, (
            "the original's password opened it"
        )
        wordpress.login("admin", clone_password)
    finally:
        wordpress.close()
    _has_only(HOST, marker, post_id, later)  # the original is as it was
    probe.delete_leaves_nothing(real_server, cluster, CLONE, volumes=2)

    # Delete: nothing of the store is left on the node.
    probe.delete_leaves_nothing(real_server, cluster, STORE, volumes=2)


def test_a_real_provision_survives_a_frozen_api_server_and_a_killed_server(
    real_server: LiveServer, real_cluster: SimCluster
) -> None:
    """Mid-provision, the API server is frozen for 30 s (the kubelet and the engine both lose it),
    then the control plane is killed with SIGKILL: the store still converges on the real node."""
    name = "real-crash"
    with real_server.client() as api:
        assert api.post("/stores", json={"name": name, "engine": "woocommerce"}).status_code == 202
    real_server.wait_at_work(name, "provisioning", timeout=180)
    apiserver = real_cluster.component_pid("kube-apiserver")
    os.kill(apiserver, signal.SIGSTOP)
    try:
        time.sleep(30)
    finally:
        os.kill(apiserver, signal.SIGCONT)
    resumed = time.monotonic()
    real_server.kill()
    real_server.start()
    real_server.wait_status(name, "ready", timeout=600)
    record(
        "API server frozen 30 s + server killed mid-provision -> ready (s)",
        round(time.monotonic() - resumed, 1),
    )
    pods = probe.app_pods(real_cluster, f"store-{name}")
    assert len(pods) == 2 and all(p["spec"]["nodeName"] == NODE_NAME for p in pods)
    assert sorted(c.name for c in probe.containers(real_cluster, f"store-{name}")) == ["mysql", "wordpress"]
    with real_server.client() as api:
        assert api.delete(f"/stores/{name}").status_code == 202
    real_server.wait_status(name, "deleted", timeout=600)
    assert probe.wait_gone_from_node(real_cluster, f"store-{name}", []) == {"containers": [], "paths": []}
