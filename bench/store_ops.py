"""Benchmark: one store's up, no-op up, update and destroy on the simulated cluster.

Run: ``uv run python bench/store_ops.py`` (starts a private simulated cluster, uses a temporary data
dir, removes both). Prints wall times and peak memory (this process, and the largest child: the
pulumi CLI or the Kubernetes provider). Numbers, not assertions: compare runs by eye.
"""

from __future__ import annotations

import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

import yaml
from pydantic import SecretStr

from stacks import Fleet, FleetConfig, StoreSpec
from toolchain.cluster import SimCluster
from toolchain.pins import tools_dir

REPO = Path(__file__).resolve().parents[1]


def timed(label: str, fn, *args) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn(*args)
    elapsed = time.perf_counter() - started
    print(f"{label:<22} {elapsed:7.1f} s", flush=True)
    return elapsed


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="storestack-bench-") as tmp:
        cluster = SimCluster(tools_dir=tools_dir(), cluster_dir=Path(tmp, "cluster"))
        timed("cluster up", cluster.up)
        try:
            config = FleetConfig(
                data_dir=Path(tmp, "data"),
                passphrase=SecretStr(secrets.token_urlsafe(24)),
                kubeconfig=cluster.kubeconfig,
                tools_dir=tools_dir(),
                environment="sim",
            )
            fleet = Fleet(config)
            spec = StoreSpec(name="bench")
            timed("up (create)", fleet.up, spec)
            timed("up (no change)", fleet.up, spec)
            env = yaml.safe_load((REPO / "environments" / "sim.yaml").read_text())
            env["resources"]["wordpress"]["limits"]["memory"] = "300Mi"
            Path(tmp, "changed.yaml").write_text(yaml.safe_dump(env))
            changed = Fleet(config.model_copy(update={"environment": str(Path(tmp, "changed.yaml"))}))
            timed("up (update in place)", changed.up, spec)
            timed("destroy + stack rm", changed.destroy, "bench")
        finally:
            cluster.down(log=lambda _m: None)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {own:.0f} MiB, largest child process {child:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
