"""A Medusa store as a Pulumi stack on the simulated cluster (real API server, engine and provider):
its objects pass admission and quota, Pulumi's awaits hold (StatefulSet ready, setup Job complete,
server Deployment available), a second ``up`` changes nothing, ``destroy`` leaves nothing. Real
containers, the order and the storefront check: ``tests/realnode/test_medusa.py``."""

from __future__ import annotations

import base64
import json

import pytest

from stacks import Fleet, FleetConfig, StoreSpec
from tests.cluster.test_store import _assert_gone, _objects
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster


def test_medusa_store_lifecycle(fleet_config: FleetConfig, sim_cluster: SimCluster) -> None:
    fleet = Fleet(fleet_config)
    spec = StoreSpec(name="headless", engine="medusa", admin_email="ops@example.com")
    info = fleet.up(spec)
    assert info.url == "http://headless.sim.storestack.test/"
    assert info.admin_url == "http://headless.sim.storestack.test/app/"
    assert info.admin_user == "ops@example.com"
    ip, port = info.web_address.split(":")
    assert port == "9000" and ip.count(".") == 3, info.web_address

    objs = _objects(sim_cluster, "store-headless")
    (deployment,) = objs["Deployment"]
    assert deployment["metadata"]["name"] == "medusa" and deployment["status"]["availableReplicas"] == 1
    (statefulset,) = objs["StatefulSet"]
    assert statefulset["metadata"]["name"] == "postgres" and statefulset["status"]["readyReplicas"] == 1
    (job,) = objs["Job"]
    assert job["metadata"]["name"] == "medusa-setup" and job["status"]["succeeded"] == 1
    assert "CronJob" not in objs
    claims = {c["metadata"]["name"]: c["status"]["phase"] for c in objs["PersistentVolumeClaim"]}
    assert claims == {"postgres-data": "Bound", "medusa-uploads": "Bound"}
    (quota,) = objs["ResourceQuota"]
    assert quota["spec"]["hard"]["pods"] == "4"  # the medusa: section's
    (secret,) = [s for s in objs["Secret"] if s["metadata"]["name"] == "store-credentials"]
    password = fleet.credentials("headless").admin_password.get_secret_value()
    assert base64.b64decode(secret["data"]["medusa-admin-password"]).decode() == password
    without_secrets = {k: v for k, v in objs.items() if k != "Secret"}
    assert password not in json.dumps(without_secrets)

    assert set(fleet.preview(spec)) == {"same"}
    fleet.destroy("headless")
    _assert_gone(sim_cluster, fleet_config, "headless")
