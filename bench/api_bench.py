"""Benchmark the control plane: provisioning latency and throughput, and ``GET /stores`` at scale.

Run: ``uv run python bench/api_bench.py [--stores N] [--concurrency C] [--rows 10000]``.
Starts a private simulated cluster and a real ``storestack serve`` (uvicorn) on a temporary data
dir, POSTs N stores with C reconciler slots, and prints the POST -> ready latencies (p50, p95), the
throughput, and the peak memory of the server and of its engine processes; then deletes them and
counts what is left. Then fills a second database with ``--rows`` stores (rows only, no
reconciler) and times ``GET /api/v1/stores``. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlmodel import Session

from api.db import make_engine, upgrade
from api.models import Store
from stacks.processes import descendants
from tests.live import LiveServer
from toolchain.cluster import SimCluster
from toolchain.pins import tools_dir


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class MemorySampler:
    """Samples every 0.5 s the RSS of the server process and, summed, of the engine processes below
    it (the pulumi CLIs and their Kubernetes provider plugins), and how many CLIs run at once."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.server = self.engines = 0.0
        self.most_clis = 0
        self.per_cli: list[float] = []  # engine RSS / running CLIs, at each sample with any running
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            below = descendants(self.pid)
            engines = sum(_rss_mib(p) for p in below)
            clis = sum(1 for p in below if _name(p) == "pulumi")
            self.server = max(self.server, _rss_mib(self.pid))
            self.engines = max(self.engines, engines)
            self.most_clis = max(self.most_clis, clis)
            if clis:
                self.per_cli.append(engines / clis)


def provisioning(cluster: SimCluster, root: Path, *, stores: int, concurrency: int) -> None:
    server = LiveServer(
        data_dir=root / "prov",
        kubeconfig=cluster.kubeconfig,
        tools_dir=tools_dir(),
        extra_env={
            "STORESTACK_WORKER_CONCURRENCY": str(concurrency),
            # The per-owner limits would refuse a burst this size (429): this measures the engine.
            "STORESTACK_MAX_ACTIVE_STORES_PER_OWNER": str(stores),
            "STORESTACK_CREATIONS_PER_OWNER_PER_MINUTE": str(stores),
            "STORESTACK_MAX_ACTIVE_STORES_TOTAL": str(max(stores, 100)),
        },
    ).start()
    assert server.proc is not None
    try:
        names = [f"bench-{i:03d}" for i in range(stores)]
        started = time.perf_counter()
        with MemorySampler(server.proc.pid) as memory:
            with server.client() as api:
                for name in names:
                    response = api.post("/stores", json={"name": name, "engine": "woocommerce"})
                    response.raise_for_status()
                done = {n: server.wait_status(n, "ready", timeout=1800) for n in names}
            elapsed = time.perf_counter() - started
        latencies = sorted(
            (
                dt.datetime.fromisoformat(s["ready_at"]) - dt.datetime.fromisoformat(s["created_at"])
            ).total_seconds()
            for s in done.values()
        )
        failed = [n for n, s in done.items() if s["status"] != "ready"]
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        print(f"provisioning: {stores} stores at concurrency {concurrency}; {len(failed)} failed")
        print(
            f"  POST->ready latency: min {latencies[0]:.1f}s  p50 {statistics.median(latencies):.1f}s  "
            f"p95 {p95:.1f}s  max {latencies[-1]:.1f}s"
        )
        print(f"  all ready in {elapsed:.1f}s: throughput {stores / elapsed * 60:.1f} stores/min")
        per_cli = statistics.median(memory.per_cli) if memory.per_cli else 0.0
        print(
            f"  peak RSS: server {memory.server:.0f} MiB; engine processes together {memory.engines:.0f} MiB "
            f"with up to {memory.most_clis} pulumi CLIs at once (median {per_cli:.0f} MiB per running CLI "
            "with its provider)"
        )
        started = time.perf_counter()
        with server.client() as api:
            for name in names:
                api.delete(f"/stores/{name}").raise_for_status()
        for name in names:
            server.wait_status(name, "deleted", timeout=1800)
        print(f"  all deleted in {time.perf_counter() - started:.1f}s")
        left = [n for n in cluster.kubectl("get", "namespaces", "-o", "name").split() if "store-bench-" in n]
        state = root / "prov" / "pulumi" / "state" / ".pulumi"
        traces = [p for p in state.rglob("*") if "bench-" in p.name]
        print(f"  left behind: {len(left)} namespaces, {len(traces)} files in the Pulumi backend")
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
    parser.add_argument("--rows", type=int, default=10_000, help="0: skip the listing benchmark")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storestack-apibench-") as tmp:
        cluster = SimCluster(tools_dir=tools_dir(), cluster_dir=Path(tmp, "cluster"))
        cluster.up(log=lambda _m: None)
        try:
            provisioning(cluster, Path(tmp), stores=args.stores, concurrency=args.concurrency)
            if args.rows:
                list_latency(cluster, Path(tmp), rows=args.rows)
        finally:
            cluster.down(log=lambda _m: None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
