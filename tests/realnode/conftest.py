"""Fixtures of the real-node tier: the session's simulated cluster with its real node started, and a
``storestack serve`` on the ``realnode`` environment. Never skipped: without root or the built
node the tests fail, because CI must run them for real."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer
from tests.objstore import ObjectStore
from toolchain.cluster import SimCluster

MEASUREMENTS = Path(__file__).resolve().parents[2] / "artifacts" / "realnode-measurements.json"


@pytest.fixture
def real_cluster(sim_cluster: SimCluster) -> SimCluster:
    """The session cluster, with the real node up (started on first use, reused after). It is
    started under a private umask (077, what `storestack serve` runs with): the node must not
    inherit it, or no non-root container could read its own image."""
    if not sim_cluster.node.running():
        previous = os.umask(0o077)
        try:
            sim_cluster.up(real_node=True)
        finally:
            os.umask(previous)
    return sim_cluster


@pytest.fixture
def real_server(
    tools: Path, real_cluster: SimCluster, tmp_path: Path, object_store: ObjectStore
) -> Iterator[LiveServer]:
    """``storestack serve`` on the ``realnode`` environment; its backups go to a prefix of its own
    in the session's object store."""
    backups = {
        "STORESTACK_BACKUP_URL": object_store.url(f"backups-{secrets.token_hex(4)}"),
        **object_store.env(),
    }
    live = LiveServer(
        data_dir=tmp_path / "data",
        kubeconfig=real_cluster.kubeconfig,
        tools_dir=tools,
        extra_env={"STORESTACK_ENVIRONMENT": "realnode", **backups},
    ).start()
    assert live.token, f"serve printed no login URL: {live.log()}"
    try:
        yield live
    finally:
        live.stop()


def record(key: str, value: object) -> None:
    """Keep a measurement (timings, memory) in artifacts/ for the README and the notes."""
    MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(MEASUREMENTS.read_text()) if MEASUREMENTS.exists() else {}
    data[key] = value
    MEASUREMENTS.write_text(json.dumps(data, indent=2, sort_keys=True))
    print(f"[realnode] {key}: {json.dumps(value)}")
