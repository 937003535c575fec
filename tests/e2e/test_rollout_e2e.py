"""A fleet rollout end to end on the simulated cluster, through ``storestack serve`` and the real
Pulumi engine: a revision that upgrades WordPress (a new image: the Deployment rolls and the setup
Job runs again) is rolled out over six stores, canary first. One store's setup pods fail on the new
image (a kwok Stage), so its ``up`` fails: the rollout stops, that store and the canary are back on
the previous image, and the four others were never touched. With the failure gone, a second rollout
moves all six, in waves of 1, 2 and 3, two stores at a time; the per-wave and total times print."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.live import LiveServer
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster
STORES = [f"roll-{i}" for i in range(6)]
FAILING = "roll-1"  # the first store after the canary
NEW_IMAGE = "wordpress:6.9.0-php8.3-apache"
FAIL_STAGE = f"""\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: storestack-test-rollout-setup-fails
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  weight: 1  # beats the default pod stages (weight 0) for the pods it selects
  selector:
    matchLabels:
      app.kubernetes.io/name: woocommerce-setup
      app.kubernetes.io/instance: {FAILING}
    matchExpressions:
      - jq:
          key: '.metadata.annotations["storestack.io/wordpress-image"]'
          operator: In
          values: [{NEW_IMAGE}]
      - jq: {{key: .metadata.deletionTimestamp, operator: DoesNotExist}}
      - jq: {{key: .status.phase, operator: In, values: [Pending]}}
  next:
    statusTemplate: |
      phase: Failed
      reason: StorestackTestFailure
      message: this test's setup pods of {FAILING} fail on {NEW_IMAGE}
"""


def _deployment(cluster: SimCluster, name: str) -> dict[str, Any]:
    raw = cluster.kubectl("get", "deployment", "wordpress", "-n", f"store-{name}", "-o", "json")
    found: dict[str, Any] = json.loads(raw)
    return found


def _image(cluster: SimCluster, name: str) -> str:
    containers = _deployment(cluster, name)["spec"]["template"]["spec"]["containers"]
    return str(next(c["image"] for c in containers if c["name"] == "wordpress"))


def _wait_rollout(api: httpx.Client, rollout_id: int, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        rollout: dict[str, Any] = api.get(f"/rollouts/{rollout_id}").json()
        if rollout["state"] in ("succeeded", "failed", "aborted"):
            return rollout
        if time.monotonic() > deadline:
            raise AssertionError(f"rollout {rollout_id} still {rollout['state']}: {rollout['counts']}")
        time.sleep(0.5)


def test_a_rollout_stops_on_a_failed_store_rolls_it_and_the_canary_back_and_then_completes(
    server: LiveServer, sim_cluster: SimCluster
) -> None:
    with server.client() as api:
        for name in STORES:
            assert api.post("/stores", json={"name": name, "engine": "woocommerce"}).status_code == 202
        for name in STORES:
            server.wait_status(name, "ready")
        old_image = _image(sim_cluster, STORES[0])
        before = {name: _deployment(sim_cluster, name)["metadata"]["generation"] for name in STORES}
        revision = api.post(
            "/revisions",
            json={"changes": {"images": {"wordpress": NEW_IMAGE}}, "description": "WordPress 6.9"},
        )
        assert revision.status_code == 201, revision.text
        target = revision.json()["number"]

        sim_cluster.add_kwok_stages(FAIL_STAGE)
        try:
            started = api.post("/rollouts", json={"revision": target, "canary": 1, "max_concurrency": 1})
            assert started.status_code == 201, started.text
            failed = _wait_rollout(api, started.json()["id"])
        finally:
            sim_cluster.remove_kwok_stages(FAIL_STAGE)
        states = {s["store"]: s["state"] for s in failed["stores"]}
        print(f"\nfailed rollout: {failed['seconds']}s; {failed['message']}; stores {states}")
        assert failed["state"] == "failed", failed
        assert FAILING in failed["message"]
        assert states["roll-0"] == "rolled_back" and states[FAILING] == "rolled_back"
        for name in ("roll-0", FAILING):
            store = server.wait_status(name, "ready")
            assert (store["revision"], store["applied_revision"]) == (0, 0)
            assert _image(sim_cluster, name) == old_image
        for name in STORES[2:]:  # never moved: not one field of their Deployment changed
            assert states[name] == "skipped"
            assert _deployment(sim_cluster, name)["metadata"]["generation"] == before[name]
            assert _image(sim_cluster, name) == old_image
        events = api.get(f"/stores/{FAILING}/events").json()
        assert any(e["kind"] == "rollout" and "rollback" in e["message"] for e in events)

        second = api.post(
            "/rollouts", json={"revision": target, "canary": 1, "growth": 2, "max_concurrency": 2}
        )
        assert second.status_code == 201, second.text
        done = _wait_rollout(api, second.json()["id"])
        waves = [(w["wave"], w["stores"], w["seconds"]) for w in done["wave_detail"]]
        print(
            f"rollout of {len(STORES)} stores: {done['seconds']}s in total; waves (wave, stores, s): {waves}"
        )
        assert done["state"] == "succeeded", done
        assert [w["stores"] for w in done["wave_detail"]] == [1, 2, 3]
        for name in STORES:
            store = api.get(f"/stores/{name}").json()
            assert (store["status"], store["applied_revision"]) == ("ready", target)
            assert _image(sim_cluster, name) == NEW_IMAGE
        listed = {r["number"]: r["stores"] for r in api.get("/revisions").json()}
        assert listed[target] == len(STORES) and listed[0] == 0
