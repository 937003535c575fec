"""The control plane as replicas on several hosts: an API replica (``serve --no-worker``) and two
workers, each with its own data dir and host name (``tests.replicas``), sharing only a real
PostgreSQL, a real S3-compatible object store (versitygw) as the Pulumi backend, the passphrase and
the simulated cluster. Every store is provisioned by whichever worker takes it, never by two at
once; a worker killed mid-update leaves its stack lock in the bucket and the other worker takes the
store over once the lease and the lock's grace have passed; deleting leaves nothing anywhere."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.db import make_engine
from api.replicas import DatabaseStackConfigs
from stacks.runtime import PROJECT_NAME
from tests.e2e.test_workers_postgres import _intervals
from tests.live import LiveServer, slow_setup_stage
from tests.objstore import ObjectStore
from tests.pg import temporary_database
from tests.replicas import Worker
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

NAMES = tuple(f"rp-{i}" for i in range(1, 9))
SLOW = "rp-slow"
LEASE_SECONDS, GRACE_SECONDS = 10, 15
STACKS = f".pulumi/stacks/{PROJECT_NAME}/"
LOCKS = f".pulumi/locks/organization/{PROJECT_NAME}/"


@pytest.fixture
def database(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, prefix="replicas") as url:
        yield url


def _stacks(store: ObjectStore) -> set[str]:
    return {
        key.removeprefix(STACKS).removesuffix(".json") for key in store.keys(STACKS) if key.endswith(".json")
    }


def _actor_at_work(api: httpx.Client, name: str) -> str:
    events = api.get(f"/stores/{name}/events").json()
    return str([event for event in events if event["kind"] == "progress"][-1]["actor"])


def test_replicas_share_a_database_and_an_object_store(
    database: str, object_store: ObjectStore, tools: Path, sim_cluster: SimCluster, tmp_path: Path
) -> None:
    shared = {
        "STORESTACK_DATABASE_URL": database,
        "STORESTACK_PULUMI_BACKEND_URL": object_store.backend_url,
        "STORESTACK_PULUMI_PASSPHRASE": secrets.token_urlsafe(24),
        "STORESTACK_WORKER_CONCURRENCY": "1",
        "STORESTACK_LEASE_SECONDS": str(LEASE_SECONDS),
        "STORESTACK_FOREIGN_LOCK_GRACE_SECONDS": str(GRACE_SECONDS),
        **object_store.env(),
    }
    (tmp_path / "api").mkdir()
    server = LiveServer(
        data_dir=tmp_path / "api" / "data",
        kubeconfig=sim_cluster.kubeconfig,
        tools_dir=tools,
        extra_env=shared,
        serve_args=("--no-worker",),
    ).start()
    workers: dict[str, Worker] = {}
    stage = slow_setup_stage((SLOW,), 45)
    configs = DatabaseStackConfigs(make_engine(database))
    try:
        for host in ("replica-1", "replica-2"):
            workers[host] = Worker(host, server.env, tmp_path / host / "data").start()
        with server.client() as api:
            started = time.monotonic()
            for name in NAMES:
                assert api.post("/stores", json={"name": name, "engine": "woocommerce"}).status_code == 202
            for name in NAMES:
                server.wait_status(name, "ready", timeout=400)
            all_ready = time.monotonic() - started
            actors: set[str] = set()
            for name in NAMES:
                spans = _intervals(api.get(f"/stores/{name}/events").json())
                actors |= set(spans)
                for (_, end), (start, _) in itertools.pairwise(sorted(spans.values())):
                    assert end <= start, f"{name} was worked by two workers at once: {spans}"
            assert actors == set(workers), f"both workers should have taken stores: {actors}"
            # The state is in the bucket and the configs in the database, none only on one host.
            assert _stacks(object_store) == set(NAMES)
            assert configs.names() == sorted(NAMES)
            assert object_store.keys(LOCKS) == []
            # The API replica never ran an operation: it reads the credentials from the shared config.
            assert not list((tmp_path / "api" / "data").glob("pulumi/project/Pulumi.rp-*.yaml"))
            credentials = api.get(f"/stores/{NAMES[0]}/credentials")
            assert credentials.status_code == 200, credentials.text
            assert len(credentials.json()["admin_password"]) >= 16

            # A worker killed mid-update: its lock stays in the bucket until the other takes over.
            sim_cluster.add_kwok_stages(stage)
            assert api.post("/stores", json={"name": SLOW, "engine": "woocommerce"}).status_code == 202
            server.wait_at_work(SLOW, "provisioning", steps=3, timeout=120)
            victim = _actor_at_work(api, SLOW)
            [survivor] = set(workers) - {victim}
            assert object_store.keys(LOCKS + SLOW + "/"), "a running update holds a lock in the bucket"
            workers[victim].kill()
            killed = time.monotonic()
            sim_cluster.remove_kwok_stages(stage)
            assert object_store.keys(LOCKS + SLOW + "/"), "the killed update's lock is left behind"
            server.wait_status(SLOW, "ready", timeout=300)
            takeover = time.monotonic() - killed
            assert _actor_at_work(api, SLOW) == survivor
            assert "removed the stack lock of pid" in workers[survivor].log()
            assert f"on {victim}, a worker that lost its lease" in workers[survivor].log()
            assert object_store.keys(LOCKS + SLOW + "/") == []
            print(
                f"\n[replicas] {len(NAMES)} stores ready in {all_ready:.1f}s with 2 workers; "
                f"a store taken over {takeover:.1f}s after its worker was killed "
                f"(lease {LEASE_SECONDS}s, lock grace {GRACE_SECONDS}s)"
            )

            everything = (*NAMES, SLOW)
            for name in everything:
                assert api.delete(f"/stores/{name}").status_code == 202
            for name in everything:
                server.wait_status(name, "deleted", timeout=400)
        namespaces = sim_cluster.kubectl("get", "namespaces", "-o", "name").split()
        assert not [ns for ns in namespaces if ns.startswith("namespace/store-rp-")], namespaces
        assert _stacks(object_store) & set(everything) == set()
        assert object_store.keys(LOCKS) == []
        assert [key for key in object_store.keys(".pulumi/") if "rp-" in key] == [], "no history or backups"
        assert configs.names() == []
        for host in ("api", survivor):  # the killed host's copies died with it
            assert not list((tmp_path / host).glob("data/pulumi/project/Pulumi.rp-*.yaml")), host
    finally:
        sim_cluster.remove_kwok_stages(stage)
        for worker in workers.values():
            worker.stop()
        server.stop()
