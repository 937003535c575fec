"""Two ``storestack worker`` processes on one real PostgreSQL, the real engine and the simulated
cluster: every store is provisioned, and no store is ever worked by both workers at once."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import REPO, LiveServer
from tests.pg import temporary_database
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

NAMES = ("pg-a", "pg-b", "pg-c", "pg-d")


@pytest.fixture
def database(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, prefix="e2e") as url:
        yield url


def _intervals(events: list[dict]) -> dict[str, tuple[dt.datetime, dt.datetime]]:  # type: ignore[type-arg]
    spans: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    for event in events:
        if event["kind"] != "progress":
            continue
        at = dt.datetime.fromisoformat(event["created_at"])
        first, last = spans.get(event["actor"], (at, at))
        spans[event["actor"]] = (min(first, at), max(last, at))
    return spans


def test_two_workers_share_one_postgres(
    database: str, tools: Path, sim_cluster: SimCluster, tmp_path: Path
) -> None:
    server = LiveServer(
        data_dir=tmp_path / "data",
        kubeconfig=sim_cluster.kubeconfig,
        tools_dir=tools,
        extra_env={"STORESTACK_DATABASE_URL": database, "STORESTACK_WORKER_CONCURRENCY": "1"},
        serve_args=("--no-worker",),
    ).start()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"],
            cwd=REPO,
            env={**server.env, "STORESTACK_WORKER_ID": f"worker-{i}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in (1, 2)
    ]
    try:
        with server.client() as api:
            for name in NAMES:
                assert api.post("/stores", json={"name": name, "engine": "woocommerce"}).status_code == 202
            for name in NAMES:
                server.wait_status(name, "ready", timeout=400)
            actors: set[str] = set()
            for name in NAMES:
                spans = _intervals(api.get(f"/stores/{name}/events").json())
                actors |= set(spans)
                ordered = sorted(spans.values())
                for (_, end), (start, _) in itertools.pairwise(ordered):
                    assert end <= start, f"{name} was worked by two workers at once: {spans}"
            assert actors == {"worker-1", "worker-2"}, "both workers should have taken stores"
            for name in NAMES:
                assert api.delete(f"/stores/{name}").status_code == 202
            for name in NAMES:
                server.wait_status(name, "deleted", timeout=400)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.stop()
