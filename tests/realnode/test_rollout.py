"""A rollout on the real node, through the API: a revision that gives MySQL and WordPress more memory
is rolled out, the store's new containers run with those limits (enforced by their cgroups) on the
same volumes, and a rollout back to revision 0 restores the file's limits. (Waves, a failed store
and the rollback are on the simulated cluster: ``tests/e2e/test_rollout_e2e.py``.)"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.live import LiveServer
from tests.realnode import probe
from tests.realnode.conftest import record
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

STORE = "roll1"
NAMESPACE = f"store-{STORE}"
MORE_MEMORY = {
    "resources": {"mysql": {"limits": {"memory": "768Mi"}}, "wordpress": {"limits": {"memory": "512Mi"}}}
}


def _roll_out(api: httpx.Client, revision: int) -> dict[str, Any]:
    started = api.post("/rollouts", json={"revision": revision, "canary": 1})
    assert started.status_code == 201, started.text
    deadline = time.monotonic() + 600
    while (rollout := api.get(f"/rollouts/{started.json()['id']}").json())["state"] not in (
        "succeeded",
        "failed",
        "aborted",
    ):
        assert time.monotonic() < deadline, rollout
        time.sleep(1)
    assert rollout["state"] == "succeeded", rollout
    return rollout


def _wait_limits(cluster: SimCluster, wanted: dict[str, int]) -> None:
    deadline = time.monotonic() + 120  # the old pods' containers may still be stopping
    while (limits := probe.memory_limits_mib(cluster, NAMESPACE)) != wanted:
        assert time.monotonic() < deadline, limits
        time.sleep(2)


def test_a_rollout_gives_the_running_containers_the_revisions_limits_and_back(
    real_server: LiveServer, real_cluster: SimCluster
) -> None:
    with real_server.client() as api:
        assert api.post("/stores", json={"name": STORE, "engine": "woocommerce"}).status_code == 202
        real_server.wait_status(STORE, "ready", timeout=600)
        assert probe.memory_limits_mib(real_cluster, NAMESPACE) == {"mysql": 512, "wordpress": 384}
        claims = probe.claim_uids(real_cluster, NAMESPACE)
        made = api.post("/revisions", json={"changes": MORE_MEMORY, "description": "more memory"})
        assert made.status_code == 201, made.text

        forward = _roll_out(api, made.json()["number"])
        _wait_limits(real_cluster, {"mysql": 768, "wordpress": 512})
        assert api.get(f"/stores/{STORE}").json()["applied_revision"] == made.json()["number"]
        back = _roll_out(api, 0)
        _wait_limits(real_cluster, {"mysql": 512, "wordpress": 384})
        assert api.get(f"/stores/{STORE}").json()["applied_revision"] == 0
        assert probe.claim_uids(real_cluster, NAMESPACE) == claims, "a rollout replaced a claim"
        record("rollout_to_revision_seconds", forward["seconds"])
        record("rollout_back_seconds", back["seconds"])
        assert api.delete(f"/stores/{STORE}").status_code == 202
    real_server.wait_status(STORE, "deleted", timeout=600)
