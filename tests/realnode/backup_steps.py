"""Backup, restore and clone steps the real-node store tests share, through the API of a
``storestack serve`` whose ``STORESTACK_BACKUP_URL`` is a prefix of the session's object store."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any
from unittest import mock

import pytest

from stacks.backups import BackupNotFoundError, Backups
from stacks.cluster_probe import kubectl_argv
from tests.live import LiveServer
from tests.objstore import ObjectStore
from tests.realnode import probe
from tests.realnode.conftest import record
from toolchain.cluster import SimCluster


def wait_job(server: LiveServer, name: str, job_id: int, *, timeout: float = 600) -> dict[str, Any]:
    """Poll the store's backup jobs until ``job_id`` has ended; returns it."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    with server.client() as api:
        while time.monotonic() < deadline:
            jobs = {j["id"]: j for j in api.get(f"/stores/{name}/backups").json()["jobs"]}
            job = jobs[job_id]
            if job["state"] in ("complete", "failed"):
                return job
            time.sleep(0.5)
    raise AssertionError(f"backup job {job_id} of {name} did not end in {timeout}s: {job}")


def back_up(server: LiveServer, bucket: ObjectStore, name: str, engine: str, secrets: Sequence[str]) -> str:
    """Back the store up through the API; the manifest lists both parts and no object of the
    backup holds a secret in its key or metadata. Returns the backup's id."""
    with server.client() as api:
        asked = api.post(f"/stores/{name}/backups")
        assert asked.status_code == 202, asked.text
        job = wait_job(server, name, asked.json()["id"])
        assert job["state"] == "complete", job
        [backup] = api.get(f"/stores/{name}/backups").json()["backups"]
    assert backup["id"] == job["backup_id"] and backup["engine"] == engine
    assert sorted(backup["parts"]) == ["database.sql.gz", "files.tar.gz"] and all(backup["parts"].values())
    record(f"{engine}_backup", {"seconds": job["seconds"], "bytes": backup["size"], "parts": backup["parts"]})
    client = bucket.client()
    keys = [key for key in bucket.keys(prefix="") if f"/{name}/{backup['id']}/" in key]
    assert len(keys) == 3, keys  # the two parts and the manifest
    for key in keys:
        head = client.head_object(Bucket=bucket.bucket, Key=key)
        visible = (
            key
            + repr(head.get("Metadata"))
            + (
                client.get_object(Bucket=bucket.bucket, Key=key)["Body"].read().decode()
                if key.endswith(".json")
                else ""
            )
        )
        assert not [s for s in secrets if s in visible], f"a secret is in {key}"
    return str(backup["id"])


def backup_with_the_database_down(
    server: LiveServer, cluster: SimCluster, name: str, statefulset: str
) -> None:
    """With the database's pod gone, a backup fails and says why, and no backup is added."""
    namespace = f"store-{name}"
    with server.client() as api:
        before = [b["id"] for b in api.get(f"/stores/{name}/backups").json()["backups"]]
    cluster.kubectl("scale", "statefulset", statefulset, "-n", namespace, "--replicas=0")
    cluster.kubectl("wait", "--for=delete", f"pod/{statefulset}-0", "-n", namespace, "--timeout=120s")
    try:
        with server.client() as api:
            job = wait_job(server, name, api.post(f"/stores/{name}/backups").json()["id"])
            after = [b["id"] for b in api.get(f"/stores/{name}/backups").json()["backups"]]
        assert job["state"] == "failed", job
        assert f"making database.sql.gz in pod/{statefulset}-0 failed" in job["error"], job["error"]
        assert "not found" in job["error"], job["error"]
        print(f"[realnode] backup with the database down: {job['error']}")
        assert after == before, "a failed backup was listed"
    finally:
        cluster.kubectl("scale", "statefulset", statefulset, "-n", namespace, "--replicas=1")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            pods = probe.app_pods(cluster, namespace, role="database")
            if pods and all(c["ready"] for p in pods for c in p["status"].get("containerStatuses", [])):
                break
            time.sleep(2)
        else:
            raise AssertionError("the database did not come back")


def restore(server: LiveServer, name: str, backup_id: str, engine: str) -> None:
    """Restore through the API: the store goes through ``restoring`` to ``ready``."""
    with server.client() as api:
        asked = api.post(f"/stores/{name}/backups/{backup_id}/restore")
        assert asked.status_code == 202, asked.text
        job = wait_job(server, name, asked.json()["id"])
    assert job["state"] == "complete", job
    record(f"{engine}_restore_seconds", job["seconds"])
    assert server.wait_status(name, "ready", timeout=60)["status"] == "ready"
    with server.client() as api:
        events = [e["message"] for e in api.get(f"/stores/{name}/events").json() if e["kind"] == "backup"]
    assert events[-1] == f"restore of {name}'s backup {backup_id} complete", events


def clone(server: LiveServer, name: str, source: str, backup_id: str, **body: Any) -> dict[str, Any]:
    """Create a store from another's backup through the API; waits until it is ready."""
    started = time.monotonic()
    with server.client() as api:
        payload = {"name": name, "from_backup": {"store": source, "backup_id": backup_id}, **body}
        response = api.post("/stores", json=payload)
        assert response.status_code == 202, response.text
    store = server.wait_status(name, "ready", timeout=900)
    record(
        f"{body.get('engine', 'woocommerce')}_clone_post_to_ready_seconds",
        round(time.monotonic() - started, 1),
    )
    with server.client() as api:
        [job] = api.get(f"/stores/{name}/backups").json()["jobs"]
        credentials = api.get(f"/stores/{name}/credentials").json()
    assert (job["kind"], job["state"], job["source_store"]) == ("clone", "complete", source), job
    return {"store": store, "credentials": credentials}


def retention_prunes(server: LiveServer, cluster: SimCluster, name: str, engine: str, keep: str) -> None:
    """Two scheduled backups of the real store (through the stack layer, in the server's bucket):
    retention that keeps one a day deletes the older one, object by object, and leaves the newer
    one and ``keep`` (made on demand) alone."""
    kubectl = kubectl_argv(cluster.kubeconfig, tools_dir=cluster.tools_dir)
    assert kubectl is not None
    keys = {k: v for k, v in server.env.items() if k.startswith("AWS_")}  # the server's bucket keys
    with mock.patch.dict(os.environ, keys):
        backups = Backups(server.env["STORESTACK_BACKUP_URL"], kubectl)
        older = backups.create(name, engine=engine, namespace=f"store-{name}", kind="scheduled")
        time.sleep(1.1)  # ids start with the second they were made in
        newer = backups.create(name, engine=engine, namespace=f"store-{name}", kind="scheduled")
        assert backups.prune(name, keep_daily=1, keep_weekly=1) == [older.id]
        assert sorted(b.id for b in backups.list(name)) == sorted([keep, newer.id])
        with pytest.raises(BackupNotFoundError):
            backups.get(name, older.id)
        backups.delete(name, newer.id)
