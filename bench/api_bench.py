"""Benchmark the control plane: provisioning latency and throughput, and ``GET /stores`` at scale.

Run: ``uv run python bench/api_bench.py [--stores N] [--concurrency C] [--rows 10000]``.
Starts a private simulated cluster and a real ``storestack serve`` (uvicorn) on a temporary data
dir, POSTs N stores with C reconciler slots, and prints each store's POST -> ready latency and the
throughput; then deletes them. Then fills a second database with ``--rows`` stores (rows only, no
reconciler) and times ``GET /api/v1/stores``. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import Session

from api.db import make_engine, upgrade
from api.models import Store
from tests.live import LiveServer
from toolchain.cluster import SimCluster
from toolchain.pins import tools_dir


def provisioning(cluster: SimCluster, root: Path, *, stores: int, concurrency: int) -> None:
    server = LiveServer(
        data_dir=root / "prov",
        kubeconfig=cluster.kubeconfig,
        tools_dir=tools_dir(),
        extra_env={"STORESTACK_WORKER_CONCURRENCY": str(concurrency)},
    ).start()
    try:
        names = [f"bench-{i:03d}" for i in range(stores)]
        started = time.perf_counter()
        with server.client() as api:
            for name in names:
                response = api.post("/stores", json={"name": name, "engine": "woocommerce"})
                response.raise_for_status()
            done = {n: server.wait_status(n, "ready", timeout=600) for n in names}
        elapsed = time.perf_counter() - started
        latencies = [
            (
                dt.datetime.fromisoformat(s["ready_at"]) - dt.datetime.fromisoformat(s["created_at"])
            ).total_seconds()
            for s in done.values()
        ]
        print(f"provisioning: {stores} stores at concurrency {concurrency}")
        print(
            f"  POST->ready latency: min {min(latencies):.1f}s  median {statistics.median(latencies):.1f}s  "
            f"max {max(latencies):.1f}s"
        )
        print(f"  all ready in {elapsed:.1f}s: throughput {stores / elapsed * 60:.1f} stores/min")
        started = time.perf_counter()
        with server.client() as api:
            for name in names:
                api.delete(f"/stores/{name}").raise_for_status()
        for name in names:
            server.wait_status(name, "deleted", timeout=600)
        print(f"  all deleted in {time.perf_counter() - started:.1f}s")
    finally:
        server.stop()


def list_latency(cluster: SimCluster, root: Path, *, rows: int) -> None:
    data_dir = root / "list"
    data_dir.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{data_dir / 'storestack.db'}")
    upgrade(engine)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with Session(engine) as session:
        for i in range(rows):
            name = f"s{i:05d}"
            session.add(
                Store(
                    name=name,
                    active_name=name,
                    owner="admin",
                    engine="woocommerce",
                    spec_json=json.dumps({"name": name, "engine": "woocommerce"}),
                    desired="present",
                    status="ready",
                    progress_done=28,
                    progress_total=28,
                    progress_step="ready",
                    url=f"http://{name}.sim.storestack.test/",
                    admin_url=f"http://{name}.sim.storestack.test/wp-admin/",
                    namespace=f"store-{name}",
                    created_at=now,
                    updated_at=now,
                    ready_at=now,
                )
            )
        session.commit()
    engine.dispose()
    server = LiveServer(
        data_dir=data_dir, kubeconfig=cluster.kubeconfig, tools_dir=tools_dir(), serve_args=("--no-worker",)
    ).start()
    try:
        timings = []
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}) as client:
            for _ in range(20):
                t0 = time.perf_counter()
                response = client.get("/api/v1/stores", timeout=60)
                timings.append(time.perf_counter() - t0)
                assert response.json()["count"] == rows
        timings.sort()
        page, size = len(response.json()["items"]), len(response.content) / 1e6
        print(f"GET /api/v1/stores with {rows} stores (default page: {page} items, {size:.2f} MB):")
        median, p95 = statistics.median(timings), timings[int(len(timings) * 0.95) - 1]
        print(f"  median {median * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms  max {timings[-1] * 1000:.0f} ms")
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}) as client:
            t0 = time.perf_counter()
            client.get("/api/v1/stores/s05000", timeout=60).raise_for_status()
            print(f"  GET /api/v1/stores/{{name}}: {(time.perf_counter() - t0) * 1000:.0f} ms")
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stores", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storestack-apibench-") as tmp:
        cluster = SimCluster(tools_dir=tools_dir(), cluster_dir=Path(tmp, "cluster"))
        cluster.up(log=lambda _m: None)
        try:
            provisioning(cluster, Path(tmp), stores=args.stores, concurrency=args.concurrency)
            list_latency(cluster, Path(tmp), rows=args.rows)
        finally:
            cluster.down(log=lambda _m: None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
