"""Benchmark the control plane as replicas: the same stores through one worker and through two.

Run (root, like the replica tests): ``uv run python bench/replicas.py [--stores 8] [--concurrency 2]``.
Starts a private simulated cluster, a PostgreSQL and a versitygw bucket (the Pulumi backend), an API
replica (``serve --no-worker``) and then, per round, N ``storestack worker`` processes, each with its
own data dir and host name (``tests.replicas.Worker``). Each round POSTs the stores at once and
prints, side by side, the first, median and last POST -> ready; then deletes them. Prints numbers;
asserts nothing.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.live import LiveServer
from tests.objstore import ObjectStoreServer
from tests.pg import PostgresServer, temporary_database
from tests.replicas import Worker
from toolchain.cluster import SimCluster
from toolchain.pins import tools_dir


def one_round(
    *, workers: int, stores: int, concurrency: int, cluster: SimCluster, env: dict[str, str], tmp: Path
) -> list[float]:
    """POST ``stores`` stores with ``workers`` workers at work; each one's POST -> ready in seconds."""
    (tmp / "api").mkdir(parents=True)  # the server's log goes beside its data dir
    server = LiveServer(
        data_dir=tmp / "api" / "data",
        kubeconfig=cluster.kubeconfig,
        tools_dir=tools_dir(),
        extra_env={**env, "STORESTACK_WORKER_CONCURRENCY": str(concurrency)},
        serve_args=("--no-worker",),
    ).start()
    deadline = time.monotonic() + 30
    while server.token is None and time.monotonic() < deadline:  # the login line, read in a thread
        time.sleep(0.1)
    running = [Worker(f"bench-{i}", server.env, tmp / f"bench-{i}" / "data").start() for i in range(workers)]
    names = [f"bw{workers}-{i}" for i in range(stores)]
    try:
        with server.client() as api:
            started = time.monotonic()
            for name in names:
                api.post("/stores", json={"name": name, "engine": "woocommerce"}).raise_for_status()
            ready: dict[str, float] = {}
            failed: set[str] = set()
            while len(ready) + len(failed) < len(names) and time.monotonic() - started < 900:
                for name in set(names) - set(ready) - failed:
                    status = api.get(f"/stores/{name}").json()["status"]
                    if status == "ready":
                        ready[name] = time.monotonic() - started
                    elif status == "failed":
                        failed.add(name)
                time.sleep(0.2)
            for name in names:
                api.delete(f"/stores/{name}")
            for name in names:
                server.wait_status(name, "deleted", timeout=600)
        return sorted(ready.values())
    finally:
        for worker in running:
            worker.stop()
        server.stop()


def _cells(times: list[float]) -> str:
    if not times:
        return "- | - | -"
    return f"{times[0]:.1f} | {statistics.median(times):.1f} | {times[-1]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=2, help="operations per worker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storestack-replicabench-") as tmp:
        root = Path(tmp)
        cluster = SimCluster(tools_dir=tools_dir(), cluster_dir=root / "cluster")
        postgres = PostgresServer(Path(tempfile.mkdtemp(prefix="storestack-pg-")))
        bucket = ObjectStoreServer(root / "s3", tools_dir())
        cluster.up(log=lambda _m: None)
        admin_url = postgres.start()
        store = bucket.start()
        rows = []
        try:
            for workers in (1, 2):
                with temporary_database(admin_url, prefix="replicabench") as database:
                    env = {
                        "STORESTACK_DATABASE_URL": database,
                        "STORESTACK_PULUMI_BACKEND_URL": store.backend_url,
                        "STORESTACK_PULUMI_PASSPHRASE": secrets.token_urlsafe(24),
                        **store.env(),
                    }
                    times = one_round(
                        workers=workers,
                        stores=args.stores,
                        concurrency=args.concurrency,
                        cluster=cluster,
                        env=env,
                        tmp=root / f"round-{workers}",
                    )
                rows.append((workers, times))
        finally:
            bucket.stop()
            postgres.stop()
            cluster.down(log=lambda _m: None)
    print(f"{args.stores} stores, {args.concurrency} operations per worker; POST -> ready (s):")
    print("| workers | ready | first | median | all ready |")
    print("|---|---|---|---|---|")
    for workers, times in rows:
        print(f"| {workers} | {len(times)}/{args.stores} | {_cells(times)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
