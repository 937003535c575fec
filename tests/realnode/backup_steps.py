"""Backup and restore steps the real-node store tests share (``stacks.backups`` against the session's
object store): make a backup and check what is in the bucket, fail one with the database down."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence

import pytest

from stacks.backups import Backup, BackupError, Backups
from stacks.cluster_probe import kubectl_argv
from tests.objstore import ObjectStore
from tests.realnode import probe
from tests.realnode.conftest import record
from toolchain.cluster import SimCluster


def backups_for(cluster: SimCluster, store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> Backups:
    """A ``Backups`` on a fresh prefix of the session's bucket, with the cluster's kubectl."""
    for name, value in store.env().items():
        monkeypatch.setenv(name, value)
    kubectl = kubectl_argv(cluster.kubeconfig, tools_dir=cluster.tools_dir)
    assert kubectl is not None
    return Backups(store.url(f"backups-{secrets.token_hex(4)}"), kubectl, log=print)


def back_up(backups: Backups, name: str, engine: str, secret_values: Sequence[str]) -> Backup:
    """Back the store up; the manifest lists both parts, hashed, and holds no secret."""
    started = time.monotonic()
    backup = backups.create(name, engine=engine, namespace=f"store-{name}")
    record(f"{engine}_backup", {"seconds": round(time.monotonic() - started, 1), "bytes": backup.size})
    assert [b.id for b in backups.list(name)] == [backup.id]
    assert sorted(backup.parts) == ["database.sql.gz", "files.tar.gz"]
    assert all(p.size > 0 and len(p.sha256) == 64 for p in backup.parts.values())
    manifest = backup.model_dump_json()
    assert not [s for s in secret_values if s in manifest], "a secret is in the manifest"
    return backup


def backup_with_the_database_down(
    backups: Backups, cluster: SimCluster, name: str, engine: str, statefulset: str, bucket: ObjectStore
) -> None:
    """With the database's pod gone, a backup fails and says so, and the bucket gains nothing."""
    namespace = f"store-{name}"
    before = bucket.keys()
    cluster.kubectl("scale", "statefulset", statefulset, "-n", namespace, "--replicas=0")
    cluster.kubectl("wait", "--for=delete", f"pod/{statefulset}-0", "-n", namespace, "--timeout=120s")
    try:
        with pytest.raises(BackupError, match=f"database.sql.gz in pod/{statefulset}-0 failed") as failed:
            backups.create(name, engine=engine, namespace=namespace)
        print(f"[realnode] backup with the database down: {failed.value}")
        assert bucket.keys() == before, "a failed backup left objects behind"
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


def restore(backups: Backups, backup: Backup, name: str) -> None:
    started = time.monotonic()
    backups.restore(backup, store=name, namespace=f"store-{name}")
    record(f"{backup.engine}_restore_seconds", round(time.monotonic() - started, 1))
