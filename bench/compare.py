"""Benchmark: one store through ``kubectl apply``, Helm, ``Fleet`` and the API, side by side.

Run: ``uv run python bench/compare.py [--repeat 3] [--real-node]`` (Helm from ``make helm``; without
it the Helm row is left out and says how to build it). Starts a private simulated cluster (with
``--real-node``, as root: plus the real node, stores on the ``realnode`` environment, real pods) and a
temporary data dir, removes both. Each repetition takes the four paths in turn, each with a store of
its own:

- ``kubectl``: ``kubectl apply --server-side`` of the store's own manifests (``Fleet.render``), then
  ``rollout status`` of the Deployment and the StatefulSet, ``wait`` for the setup Job's completion
  (where the environment has one) and for every claim to be bound; deleted with
  ``kubectl delete namespace --wait``.
- ``helm``: the same manifests as a chart, ``helm upgrade --install --wait --wait-for-jobs``;
  deleted with ``helm uninstall --wait``.
- ``Fleet.up``: create, an ``up`` that changes nothing, ``destroy`` (objects, stack and its traces).
- ``API``: ``POST /api/v1/stores`` to ``ready`` (the server's own ``created_at`` -> ``ready_at``), then
  ``DELETE`` to ``deleted``, on a real ``storestack serve``.

Before each create the bench waits, untimed, until the cluster has finished the previous path's
delete (``Baselines.settle``), so no path is timed beside another's tail. Prints min and median of
each, and the ratio of each median to kubectl's (the API's also to ``Fleet.up``'s). Numbers, not
assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from pydantic import SecretStr

from stacks import Fleet, FleetConfig, StoreSpec
from tests.live import LiveServer
from toolchain.cluster import SimCluster
from toolchain.pins import HELM_VERSION, tools_dir

Timings = dict[str, list[float]]


def _run(argv: list[str], kubeconfig: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HELM_CACHE_HOME": str(kubeconfig.parent / "helm")}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed: {done.stderr.strip()[-500:]}")


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class Baselines:
    """The kubectl and Helm paths, on the manifests ``Fleet.render`` writes for a store."""

    def __init__(self, fleet: Fleet, cluster: SimCluster, work: Path) -> None:
        self.setup_job = fleet.environment.woocommerce_setup
        self.fleet, self.kubeconfig, self.work = fleet, cluster.kubeconfig, work
        self.kubectl = str(tools_dir() / "bin" / "kubectl")
        helm = tools_dir() / "bin" / "helm"
        self.helm = str(helm) if helm.exists() else None

    def _render(self, name: str) -> list[Path]:
        return self.fleet.render(StoreSpec(name=name), self.work / name)

    def kubectl_create(self, name: str) -> float:
        files = self._render(name)
        namespace = next(f for f in files if "-namespace-" in f.name)
        ns = f"store-{name}"
        k = [self.kubectl, "--kubeconfig", str(self.kubeconfig)]

        def create() -> None:
            _run([*k, "apply", "--server-side", "-f", str(namespace)], self.kubeconfig)
            _run([*k, "apply", "--server-side", "-R", "-f", str(self.work / name)], self.kubeconfig)
            for workload in ("deployment/wordpress", "statefulset/mysql"):
                _run([*k, "-n", ns, "rollout", "status", workload, "--timeout=300s"], self.kubeconfig)
            if self.setup_job:
                complete = [*k, "-n", ns, "wait", "--for=condition=complete", "job/woocommerce-setup"]
                _run([*complete, "--timeout=300s"], self.kubeconfig)
            _run(
                [
                    *k,
                    "-n",
                    ns,
                    "wait",
                    "--for=jsonpath={.status.phase}=Bound",
                    "pvc",
                    "--all",
                    "--timeout=300s",
                ],
                self.kubeconfig,
            )

        return _timed(create)

    def ready(self, name: str) -> str:
        """What each path must have reached (checked after its create, untimed): "" when the
        Deployment and StatefulSet have every replica ready, else what is not."""
        k = [self.kubectl, "--kubeconfig", str(self.kubeconfig), "-n", f"store-{name}"]
        out = subprocess.run(
            [*k, "get", "deployments,statefulsets", "-o", "json"], capture_output=True, text=True, check=False
        )
        items = json.loads(out.stdout or "{}").get("items") or []
        counts = [(i, i["status"].get("readyReplicas", 0), i["spec"]["replicas"]) for i in items]
        late = [
            f"{i['kind']} {i['metadata']['name']}: {got}/{want}" for i, got, want in counts if got != want
        ]
        return "; ".join(late) if items else "no workloads"

    def settle(self, timeout: float = 60) -> None:
        """Wait (untimed) until the cluster has finished deleting the previous path's store: no
        namespace or pod being deleted, no volume released and not yet deleted. Every path then
        starts from the same quiet cluster, not beside the tail of another path's delete (``helm
        uninstall --wait`` returns while its pods are still going away). Prints what it waited for."""
        k = [self.kubectl, "--kubeconfig", str(self.kubeconfig), "get", "-A", "-o", "json"]
        started = time.monotonic()
        seen: set[str] = set()
        while time.monotonic() - started < timeout:
            out = subprocess.run([*k, "namespaces,persistentvolumes,pods"], capture_output=True, text=True)
            items = json.loads(out.stdout or "{}").get("items") or []
            busy = {
                f"{i['kind']} {i['metadata']['name']}"
                for i in items
                if i["metadata"].get("deletionTimestamp") or i.get("status", {}).get("phase") == "Released"
            }
            if out.returncode == 0 and not busy:
                if seen:
                    waited = time.monotonic() - started
                    print(f"  (waited {waited:.1f} s for the cluster to finish deleting {len(seen)} objects)")
                return
            seen |= busy
            time.sleep(0.5)
        print(f"  (the cluster was still deleting after {timeout:.0f} s; going on)", flush=True)

    def kubectl_delete(self, name: str) -> float:
        k = [self.kubectl, "--kubeconfig", str(self.kubeconfig)]
        return _timed(
            lambda: _run([*k, "delete", "namespace", f"store-{name}", "--wait=true"], self.kubeconfig)
        )

    def helm_create(self, name: str) -> float:
        assert self.helm is not None
        self._render(name)
        chart = self.work / f"chart-{name}"
        (chart / "templates").mkdir(parents=True)
        shutil.copytree(self.work / name / "1-manifest", chart / "manifests")
        (chart / "Chart.yaml").write_text(
            yaml.safe_dump({"apiVersion": "v2", "name": name, "version": "0.1.0"})
        )
        # The manifests go in as files, not templates: nothing in them is read as Go template syntax.
        template = "\n".join(
            (
                '{{ range $path, $_ := .Files.Glob "manifests/*.yaml" }}',
                "---",
                "{{ $.Files.Get $path }}",
                "{{ end }}",
                "",
            )
        )
        (chart / "templates" / "store.yaml").write_text(template)
        argv = [self.helm, "upgrade", "--install", name, str(chart), "--namespace", "default"]
        return _timed(lambda: _run([*argv, "--wait", "--wait-for-jobs", "--timeout", "5m"], self.kubeconfig))

    def helm_delete(self, name: str) -> float:
        assert self.helm is not None
        argv = [self.helm, "uninstall", name, "--namespace", "default", "--wait", "--timeout", "5m"]
        return _timed(lambda: _run(argv, self.kubeconfig))


def _api_store(server: LiveServer, name: str) -> tuple[float, float]:
    """POST -> ready by the server's own timestamps, and DELETE -> deleted (polled every 0.1 s)."""
    with server.client() as api:
        api.post("/stores", json={"name": name, "engine": "woocommerce"}).raise_for_status()
        store = _poll(api, name, "ready")
        ready = dt.datetime.fromisoformat(store["ready_at"]) - dt.datetime.fromisoformat(store["created_at"])
        started = time.perf_counter()
        api.delete(f"/stores/{name}").raise_for_status()
        _poll(api, name, "deleted")
        return ready.total_seconds(), time.perf_counter() - started


def _poll(api: httpx.Client, name: str, want: str, timeout: float = 600) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        store = api.get(f"/stores/{name}", params={"include_deleted": "true"}).json()
        if store.get("status") == want:
            return store  # type: ignore[no-any-return]
        if store.get("status") == "failed":
            raise RuntimeError(f"store {name} failed: {json.dumps(store.get('last_error'))}")
        time.sleep(0.1)
    raise RuntimeError(f"store {name} did not reach {want} in {timeout:.0f}s")


def measure(root: Path, cluster: SimCluster, repeat: int, environment: str) -> Timings:
    config = FleetConfig(
        data_dir=root / "fleet",
        passphrase=SecretStr(os.urandom(16).hex()),
        kubeconfig=cluster.kubeconfig,
        tools_dir=tools_dir(),
        environment=environment,
    )
    fleet = Fleet(config)
    base = Baselines(fleet, cluster, root / "manifests")
    server = LiveServer(
        data_dir=root / "api",
        kubeconfig=cluster.kubeconfig,
        tools_dir=tools_dir(),
        extra_env={"STORESTACK_ENVIRONMENT": environment},
    ).start()
    t: Timings = {}

    def add(key: str, value: float, store: str | None = None) -> None:
        t.setdefault(key, []).append(value)
        late = base.ready(store) if store else ""
        print(f"  {key:<22} {value:6.1f} s{'  NOT READY: ' + late if late else ''}", flush=True)

    try:
        for i in range(repeat):
            print(f"repetition {i + 1} of {repeat}", flush=True)
            base.settle()
            add("kubectl create", base.kubectl_create(f"cmp-kubectl-{i}"), f"cmp-kubectl-{i}")
            add("kubectl delete", base.kubectl_delete(f"cmp-kubectl-{i}"))
            if base.helm is not None:
                base.settle()
                add("helm create", base.helm_create(f"cmp-helm-{i}"), f"cmp-helm-{i}")
                add("helm delete", base.helm_delete(f"cmp-helm-{i}"))
            spec = StoreSpec(name=f"cmp-fleet-{i}")
            base.settle()
            add("fleet create", _timed(lambda spec=spec: fleet.up(spec)), spec.name)  # type: ignore[misc]
            add("fleet no-op", _timed(lambda spec=spec: fleet.up(spec)))  # type: ignore[misc]
            add("fleet delete", _timed(lambda spec=spec: fleet.destroy(spec.name)))  # type: ignore[misc]
            base.settle()
            ready, deleted = _api_store(server, f"cmp-api-{i}")
            add("api create", ready)
            add("api delete", deleted)
    finally:
        server.stop()
    return t


def report(t: Timings, *, helm_built: bool) -> None:
    def med(key: str) -> float:
        return statistics.median(t[key])

    print(f"\n{'path':<38} {'create -> ready':>26} {'no-op':>8} {'delete':>26}")
    print(f"{'':<38} {'min / median (x kubectl)':>26} {'median':>8} {'min / median (x kubectl)':>26}")
    rows = [
        ("kubectl apply --server-side + wait", "kubectl"),
        (f"helm {HELM_VERSION} --wait --wait-for-jobs", "helm"),
        ("Fleet.up (Storestack)", "fleet"),
        ("API POST -> ready (Storestack)", "api"),
    ]
    for label, key in rows:
        if f"{key} create" not in t:
            print(f"{label:<38} {'not built: make helm' if key == 'helm' and not helm_built else '-':>26}")
            continue
        cells = []
        for op in ("create", "delete"):
            median, ratio = med(f"{key} {op}"), med(f"{key} {op}") / med(f"kubectl {op}")
            cells.append(f"{min(t[f'{key} {op}']):5.1f} s / {median:5.1f} s ({ratio:4.2f})")
        noop = f"{med('fleet no-op'):5.2f} s" if key == "fleet" else "-"
        print(f"{label:<38} {cells[0]:>26} {noop:>8} {cells[1]:>26}")
    print(f"\nAPI POST -> ready / Fleet.up create (medians): {med('api create') / med('fleet create'):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each path (default 3)")
    parser.add_argument("--real-node", action="store_true", help="real pods on the real node (root)")
    args = parser.parse_args()
    environment = "realnode" if args.real_node else "sim"
    print(f"one store on the {environment} environment, {args.repeat} repetitions of each path", flush=True)
    with tempfile.TemporaryDirectory(prefix="storestack-compare-") as tmp:
        cluster = SimCluster(tools_dir=tools_dir(), cluster_dir=Path(tmp, "cluster"))
        cluster.up(log=lambda _m: None, real_node=args.real_node)
        try:
            timings = measure(Path(tmp), cluster, args.repeat, environment)
        finally:
            cluster.down(log=lambda _m: None)
    report(timings, helm_built=(tools_dir() / "bin" / "helm").exists())
    return 0


if __name__ == "__main__":
    sys.exit(main())
