"""What a store's day-2 spec fields declare (Pulumi mocks): custom domains become Ingress rules and
TLS hosts with WordPress still on its primary host, a size plan replaces the containers' resources
and the quota, and a suspended store's workloads have no replica and its CronJob starts no run."""

from __future__ import annotations

from typing import Any

import environments
from stacks.types import StoreSpec
from tests.unit.conftest import deploy_store

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
CRONJOB = "kubernetes:batch/v1:CronJob"
QUOTA = "kubernetes:core/v1:ResourceQuota"


def _objects(deployed: Any) -> list[tuple[str, str]]:
    return sorted((r.typ, r.name) for r in deployed.resources)


def _limits(workload: Any) -> dict[str, str]:
    limits: dict[str, str] = workload.spec["template"]["spec"]["containers"][0]["resources"]["limits"]
    return limits


def test_custom_domains_are_ingress_rules_and_tls_hosts_and_wp_home_stays() -> None:
    spec = StoreSpec(name="shop", domains=("shop.example.com", "www.shop.example.com"))
    deployed = deploy_store(environments.load("prod"), spec)
    ingress = deployed.one(INGRESS, "store")
    hosts = ["shop.stores.example.com", "shop.example.com", "www.shop.example.com"]
    assert [rule["host"] for rule in ingress.spec["rules"]] == hosts
    backends = {str(rule["http"]["paths"][0]["backend"]["service"]) for rule in ingress.spec["rules"]}
    assert len(backends) == 1  # every host goes to the one WordPress Service
    assert ingress.spec["tls"] == [{"hosts": hosts, "secretName": "shop-tls"}]
    wordpress = deployed.one(DEPLOYMENT, "wordpress")
    env = {e["name"]: e.get("value") for e in wordpress.spec["template"]["spec"]["containers"][0]["env"]}
    assert "https://shop.stores.example.com" in str(env), env  # WP_HOME: the primary host


def test_a_plan_replaces_the_resources_and_the_quota() -> None:
    env = environments.load("sim")
    default = deploy_store(env, StoreSpec(name="shop"))
    medium = deploy_store(env, StoreSpec(name="shop", plan="medium"))
    assert _limits(default.one(DEPLOYMENT, "wordpress")) == {"cpu": "250m", "memory": "256Mi"}
    assert _limits(medium.one(DEPLOYMENT, "wordpress")) == {"cpu": "500m", "memory": "512Mi"}
    assert _limits(medium.one(STATEFULSET, "mysql")) == {"cpu": "500m", "memory": "512Mi"}
    assert medium.one(QUOTA, "store-quota").spec["hard"]["limits.memory"] == "2Gi"
    assert default.one(QUOTA, "store-quota").spec["hard"]["limits.memory"] == "1Gi"


def test_a_suspended_store_runs_nothing_and_keeps_everything_else() -> None:
    env = environments.load("sim")
    running = deploy_store(env, StoreSpec(name="shop"))
    suspended = deploy_store(env, StoreSpec(name="shop", suspended=True))
    assert suspended.one(DEPLOYMENT, "wordpress").spec["replicas"] == 0
    assert suspended.one(STATEFULSET, "mysql").spec["replicas"] == 0
    assert suspended.one(CRONJOB, "wp-cron").spec["suspend"] is True
    assert running.one(DEPLOYMENT, "wordpress").spec["replicas"] == 1
    assert running.one(CRONJOB, "wp-cron").spec["suspend"] is False
    assert _objects(suspended) == _objects(running)  # the same objects: claims, Secret, Ingress stay
