"""A size-plan change on the real node, through the API: the store's new pods run with the plan's
memory limits, enforced by their cgroups, on the same volumes."""

from __future__ import annotations

import time

import pytest

from tests.live import LiveServer
from tests.realnode import probe
from tests.realnode.conftest import record
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

STORE = "plan1"
NAMESPACE = f"store-{STORE}"


def _cgroup_limits(cluster: SimCluster) -> dict[str, int]:
    return probe.memory_limits_mib(cluster, NAMESPACE)


def _claims(cluster: SimCluster) -> dict[str, str]:
    return probe.claim_uids(cluster, NAMESPACE)


def test_a_plan_change_gives_the_pods_the_plans_limits_on_the_same_volumes(
    real_server: LiveServer, real_cluster: SimCluster
) -> None:
    cluster = real_cluster
    with real_server.client() as api:
        assert api.post("/stores", json={"name": STORE, "engine": "woocommerce"}).status_code == 202
        real_server.wait_status(STORE, "ready", timeout=600)
        assert _cgroup_limits(cluster) == {"mysql": 512, "wordpress": 384}  # realnode's defaults
        claims = _claims(cluster)
        t0 = time.monotonic()
        response = api.patch(f"/stores/{STORE}", json={"plan": "larger"})
        assert response.status_code == 202, response.text
        store = real_server.wait_status(STORE, "ready", timeout=600)
        assert store["plan"] == "larger"
        changed_in = time.monotonic() - t0
        deadline = time.monotonic() + 120  # the old pods' containers may still be stopping
        while (limits := _cgroup_limits(cluster)) != {"mysql": 768, "wordpress": 512}:
            assert time.monotonic() < deadline, limits
            time.sleep(2)
        assert _claims(cluster) == claims, "the plan change replaced a claim"
        record("plan_change_to_ready_seconds", round(changed_in, 1))
        assert api.delete(f"/stores/{STORE}").status_code == 202
    real_server.wait_status(STORE, "deleted", timeout=600)
