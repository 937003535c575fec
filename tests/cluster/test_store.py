"""Stores as Pulumi stacks on the simulated cluster: the real engine and provider, default awaits.

Covers the store issue's cluster tests: a store comes up (Deployment available, StatefulSet ready,
setup Job complete) with the specified objects; a second ``up`` changes nothing; changing one
environment value updates in place and keeps the credentials; two stores in parallel; a process
killed during ``up`` is recovered by the next ``up``; ``destroy`` leaves nothing behind; the
``pulumi`` CLI inspects a store's stack.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from stacks import Fleet, FleetConfig, Progress, StoreSpec
from stacks.program import generate_credentials
from stacks.runtime import pulumi_env
from tests.live import reap_orphaned_providers
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]


def _objects(cluster: SimCluster, namespace: str) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    kinds = (
        "deployments,statefulsets,jobs,cronjobs,services,pvc,networkpolicies,"
        "resourcequotas,limitranges,ingresses,secrets,configmaps"
    )
    items = json.loads(cluster.kubectl("get", kinds, "-n", namespace, "-o", "json"))["items"]
    grouped: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for item in items:
        grouped.setdefault(item["kind"], []).append(item)
    return grouped


def _assert_gone(cluster: SimCluster, config: FleetConfig, name: str) -> None:
    namespaces = cluster.kubectl("get", "namespaces", "-o", "name").split()
    assert f"namespace/store-{name}" not in namespaces
    pvs = json.loads(cluster.kubectl("get", "pv", "-o", "json"))["items"]
    assert not [pv for pv in pvs if pv["spec"].get("claimRef", {}).get("namespace") == f"store-{name}"]
    assert not (config.project_dir / f"Pulumi.{name}.yaml").exists()
    # No stack, checkpoint backup, history, lock or config file is left in the backend.
    assert not [p for p in config.state_dir.rglob("*") if name in p.name], "traces left in the backend"


def test_store_lifecycle(fleet_config: FleetConfig, sim_cluster: SimCluster, tmp_path: Path) -> None:
    fleet = Fleet(fleet_config)
    progress: list[Progress] = []
    info = fleet.up(StoreSpec(name="shop1", title="Shop One"), on_progress=progress.append)

    assert info.namespace == "store-shop1"
    assert info.url == "http://shop1.sim.storestack.test/"
    assert info.admin_user == "admin"
    assert progress[-1].done == progress[-1].total >= 15
    assert any("Deployment" in p.step for p in progress)
    assert [p.done for p in progress] == sorted(p.done for p in progress)

    objs = _objects(sim_cluster, "store-shop1")
    (deployment,) = objs["Deployment"]
    assert deployment["status"]["availableReplicas"] == 1
    (statefulset,) = objs["StatefulSet"]
    assert statefulset["status"]["readyReplicas"] == 1
    (job,) = [j for j in objs["Job"] if j["metadata"]["name"] == "woocommerce-setup"]  # not a cron run
    assert job["status"]["succeeded"] == 1
    (cron,) = objs["CronJob"]
    assert cron["spec"]["schedule"] == "*/5 * * * *"
    assert {p["status"]["phase"] for p in objs["PersistentVolumeClaim"]} == {"Bound"}
    assert len(objs["NetworkPolicy"]) >= 4
    assert objs["ResourceQuota"] and objs["LimitRange"]
    (ingress,) = objs["Ingress"]
    assert ingress["spec"]["rules"][0]["host"] == "shop1.sim.storestack.test"
    ns = json.loads(sim_cluster.kubectl("get", "namespace", "store-shop1", "-o", "json"))
    assert ns["metadata"]["labels"]["storestack.io/store"] == "shop1"

    creds = fleet.credentials("shop1")
    password = creds.admin_password.get_secret_value()
    assert len(password) >= 24
    # The first up gave the program its credentials from memory while storing them: the Secret in
    # the cluster holds the stored values.
    (secret,) = [s for s in objs["Secret"] if s["metadata"]["name"] == "store-credentials"]
    assert base64.b64decode(secret["data"]["wordpress-admin-password"]).decode() == password
    # No credential appears outside the Secret: every consumer references it.
    without_secrets = {k: v for k, v in objs.items() if k != "Secret"}
    assert password not in json.dumps(without_secrets)

    # A second up changes nothing.
    assert set(fleet.preview(StoreSpec(name="shop1", title="Shop One"))) == {"same"}
    fleet.up(StoreSpec(name="shop1", title="Shop One"))
    assert set(fleet.preview(StoreSpec(name="shop1", title="Shop One"))) == {"same"}

    # One environment value changed: an in-place update, same credentials.
    env = yaml.safe_load((REPO / "environments" / "sim.yaml").read_text())
    env["resources"]["wordpress"]["limits"]["memory"] = "300Mi"
    changed = tmp_path / "sim-bigger.yaml"
    changed.write_text(yaml.safe_dump(env))
    bigger = Fleet(fleet_config.model_copy(update={"environment": str(changed)}))
    changes = bigger.preview(StoreSpec(name="shop1", title="Shop One"))
    assert changes.get("update", 0) >= 1
    assert not {"create", "delete", "replace"} & set(changes)
    bigger.up(StoreSpec(name="shop1", title="Shop One"))
    (deployment,) = _objects(sim_cluster, "store-shop1")["Deployment"]
    limits = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["memory"] == "300Mi"
    assert bigger.credentials("shop1").admin_password.get_secret_value() == password

    # Drift: an object deleted outside Pulumi shows up in refresh, and the next up restores it.
    policy = objs["NetworkPolicy"][0]["metadata"]["name"]
    sim_cluster.kubectl("delete", "networkpolicy", policy, "-n", "store-shop1")
    drift = bigger.refresh("shop1")
    assert drift.get("delete", 0) == 1
    bigger.up(StoreSpec(name="shop1", title="Shop One"))
    assert policy in sim_cluster.kubectl("get", "networkpolicy", "-n", "store-shop1", "-o", "name")

    assert [s.name for s in fleet.list()] == ["shop1"]
    fleet.destroy("shop1")
    _assert_gone(sim_cluster, fleet_config, "shop1")
    assert fleet.list() == []


def test_two_stores_in_parallel(fleet_config: FleetConfig, sim_cluster: SimCluster) -> None:
    fleet = Fleet(fleet_config)
    errors: list[BaseException] = []

    def run(fn, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            fn(*args)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fleet.up, StoreSpec(name=n))) for n in ("par-a", "par-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(s.name for s in fleet.list()) == ["par-a", "par-b"]
    threads = [threading.Thread(target=run, args=(fleet.destroy, n)) for n in ("par-a", "par-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for name in ("par-a", "par-b"):
        _assert_gone(sim_cluster, fleet_config, name)


def test_killed_up_is_recovered(fleet_config: FleetConfig, sim_cluster: SimCluster) -> None:
    script = textwrap.dedent(
        """
        import sys
        from pydantic import SecretStr
        from stacks import Fleet, FleetConfig, StoreSpec
        config = FleetConfig.model_validate_json(sys.stdin.read())
        Fleet(config).up(StoreSpec(name="crash"))
        """
    )
    payload = fleet_config.model_dump_json()
    payload = json.dumps({**json.loads(payload), "passphrase": fleet_config.passphrase.get_secret_value()})
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(payload)
    proc.stdin.close()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if sim_cluster.kubectl("get", "deployments", "-n", "store-crash", "-o", "name").strip():
            break
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the up never reached the Deployment")
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process tree, pulumi included: a crash
    proc.wait()
    reap_orphaned_providers()
    locks = fleet_config.state_dir / ".pulumi" / "locks" / "organization" / "storestack" / "crash"
    assert list(locks.glob("*.json")), "the killed up should have left its lock behind"

    fleet = Fleet(fleet_config)
    info = fleet.up(StoreSpec(name="crash"))
    assert info.namespace == "store-crash"
    (deployment,) = _objects(sim_cluster, "store-crash")["Deployment"]
    assert deployment["status"]["availableReplicas"] == 1
    state = json.loads(
        subprocess.run(
            [str(fleet_config.tools_dir / "bin" / "pulumi"), "stack", "export", "-s", "crash"],
            cwd=fleet_config.project_dir,
            env={**os.environ, **pulumi_env(fleet_config)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert not state["deployment"].get("pending_operations")
    fleet.destroy("crash")
    _assert_gone(sim_cluster, fleet_config, "crash")


def test_checkpoint_write_cut_by_a_kill_is_repaired(
    fleet_config: FleetConfig, sim_cluster: SimCluster
) -> None:
    # Seen on the real node: a server killed while Pulumi saved a checkpoint left the file backend's
    # sidecar `.attrs` empty and a `.tmp` beside the (intact) previous checkpoint; every later open
    # of the stack failed with "failed to load checkpoint: EOF". This is that state, made exactly.
    fleet = Fleet(fleet_config)
    fleet.up(StoreSpec(name="cut"))
    stacks = fleet_config.state_dir / ".pulumi" / "stacks" / "storestack"
    (stacks / "cut.json.attrs").write_text("")
    (stacks / "cut.json.18ed3c1fb277cfdd.tmp").write_text('{"version": 3, "checkpoint": {')
    info = fleet.up(StoreSpec(name="cut"))
    assert info.namespace == "store-cut"
    assert not list(stacks.glob("cut.json.*.tmp"))
    fleet.destroy("cut")
    _assert_gone(sim_cluster, fleet_config, "cut")


def _pulumi_cli(fleet_config: FleetConfig) -> Callable[..., str]:
    """The pulumi CLI the README's way: `eval "$(storestack env)"`, then `pulumi ...` from the repo."""
    settings_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("STORESTACK_", "PULUMI_"))},
        "STORESTACK_DATA_DIR": str(fleet_config.data_dir),
        "STORESTACK_TOOLS_DIR": str(fleet_config.tools_dir),
        "STORESTACK_PULUMI_PASSPHRASE": fleet_config.passphrase.get_secret_value(),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }

    def cli(*args: str) -> str:
        script = f'eval "$(python -m api.cli env)" && pulumi {" ".join(args)}'
        done = subprocess.run(
            ["bash", "-c", script], cwd=REPO, env=settings_env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"pulumi {' '.join(args)}: {done.stderr[-800:]}"
        return done.stdout

    return cli


def test_pulumi_cli_inspects_a_store(fleet_config: FleetConfig, sim_cluster: SimCluster) -> None:
    fleet = Fleet(fleet_config)
    fleet.up(StoreSpec(name="inspect"))
    cli = _pulumi_cli(fleet_config)
    assert [s["name"] for s in json.loads(cli("stack", "ls", "--json"))] == ["inspect"]
    outputs = json.loads(cli("stack", "output", "-s", "inspect", "--json"))
    assert outputs["namespace"] == "store-inspect"
    assert outputs["admin_password"] == "[secret]"
    exported = json.loads(cli("stack", "export", "-s", "inspect"))
    types = {r["type"] for r in exported["deployment"]["resources"]}
    assert {"storestack:index:Store", "kubernetes:apps/v1:Deployment"} <= types
    history = json.loads(cli("stack", "history", "-s", "inspect", "--json"))
    assert history[0]["result"] == "succeeded"

    # What Fleet reads from the checkpoint file (no CLI call) is what the CLI reports.
    info = fleet.get("inspect")
    assert (info.namespace, info.url, info.admin_url, info.admin_user) == (
        outputs["namespace"],
        outputs["url"],
        outputs["admin_url"],
        outputs["admin_user"],
    )
    (listed,) = json.loads(cli("stack", "ls", "--json"))
    assert info.resource_count == listed["resourceCount"] > 15
    assert info.last_update is not None
    listed_update = dt.datetime.fromisoformat(listed["lastUpdate"])
    assert abs((info.last_update - listed_update).total_seconds()) < 2
    # The credentials are one secret config value (one `config set`), encrypted in the file.
    stack_config = yaml.safe_load((fleet_config.project_dir / "Pulumi.inspect.yaml").read_text())["config"]
    assert set(stack_config) == {
        "storestack:credentials",
        "storestack:spec",
        "storestack:environment",
        "storestack:revision",
    }
    assert set(stack_config["storestack:credentials"]) == {"secure"}
    password = fleet.credentials("inspect").admin_password.get_secret_value()
    assert password not in (fleet_config.project_dir / "Pulumi.inspect.yaml").read_text()
    fleet.destroy("inspect")
    _assert_gone(sim_cluster, fleet_config, "inspect")


def test_stacks_after_the_first_are_made_without_stack_init(
    fleet_config: FleetConfig, sim_cluster: SimCluster
) -> None:
    """A fleet's second new stack is a copy of the first one's initial state (``stacks.stack_init``):
    the same salt, and the CLI and the engine take it as their own."""
    fleet = Fleet(fleet_config)
    fleet.up(StoreSpec(name="first"))
    fleet.up(StoreSpec(name="second"))

    def salt(name: str) -> str:
        return str(
            yaml.safe_load((fleet_config.project_dir / f"Pulumi.{name}.yaml").read_text())["encryptionsalt"]
        )

    assert salt("second") == salt("first")  # `stack init` would have drawn a new one
    cli = _pulumi_cli(fleet_config)
    assert sorted(s["name"] for s in json.loads(cli("stack", "ls", "--json"))) == ["first", "second"]
    config_file = fleet_config.project_dir / "Pulumi.second.yaml"
    stored = json.loads(
        cli("config", "get", "storestack:credentials", "-s", "second", "--config-file", str(config_file))
    )
    assert stored["admin_password"] == fleet.credentials("second").admin_password.get_secret_value()
    (update,) = json.loads(cli("stack", "history", "-s", "second", "--json"))
    assert update["result"] == "succeeded"
    assert fleet.up(StoreSpec(name="second")).resource_count == fleet.get("first").resource_count
    for name in ("first", "second"):
        fleet.destroy(name)
        _assert_gone(sim_cluster, fleet_config, name)


def test_a_store_with_one_config_key_per_credential_still_deploys(
    fleet_config: FleetConfig, sim_cluster: SimCluster
) -> None:
    # Stores made before the single `storestack:credentials` value keep one key per credential.
    fleet = Fleet(fleet_config)  # writes the workspace's Pulumi.yaml
    run_env = {**os.environ, **pulumi_env(fleet_config)}
    pulumi = str(fleet_config.pulumi_root() / "bin" / "pulumi")  # type: ignore[operator]
    project = fleet_config.project_dir
    subprocess.run(
        [pulumi, "stack", "init", "legacy"], cwd=project, env=run_env, check=True, capture_output=True
    )
    values = generate_credentials()
    for key, value in values.items():
        subprocess.run(
            [pulumi, "config", "set", "--secret", f"storestack:{key}", "--stack", "legacy"],
            input=value,
            text=True,
            cwd=project,
            env=run_env,
            check=True,
            capture_output=True,
        )
    fleet.up(StoreSpec(name="legacy"))
    assert fleet.credentials("legacy").admin_password.get_secret_value() == values["admin_password"]
    stack_config = yaml.safe_load((project / "Pulumi.legacy.yaml").read_text())["config"]
    assert "storestack:credentials" not in stack_config  # not rotated into the new layout
    fleet.destroy("legacy")
    _assert_gone(sim_cluster, fleet_config, "legacy")


def test_render_writes_manifests_without_a_cluster(fleet_config: FleetConfig, tmp_path: Path) -> None:
    offline = fleet_config.model_copy(
        update={"kubeconfig": tmp_path / "no-such-kubeconfig", "environment": "prod"}
    )
    files = Fleet(offline).render(StoreSpec(name="rendered"), tmp_path / "manifests")
    kinds = {yaml.safe_load(f.read_text())["kind"] for f in files}
    assert {
        "Namespace",
        "Deployment",
        "StatefulSet",
        "Job",
        "Ingress",
        "NetworkPolicy",
        "ResourceQuota",
    } <= kinds
    docs = [yaml.safe_load(f.read_text()) for f in files]
    (ingress,) = [d for d in docs if d["kind"] == "Ingress"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["rendered.stores.example.com"]
