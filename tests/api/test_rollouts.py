"""Environment revisions and rollouts with the fake fleet: the state machine of ``api.rollouts``
(waves, a failure that stops the rollout and rolls stores back, pause, resume, abort), the
revision each ``up`` is given, and what the API refuses. The same on the simulated cluster with the
real engine: ``tests/e2e/test_rollout_e2e.py``."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from api import cli
from tests.api.conftest import Harness, LiveServer

BUMP = {"changes": {"woocommerce_version": "10.4.0"}, "description": "WooCommerce 10.4"}


def _ready(harness: Harness, *names: str) -> None:
    for name in names:
        assert harness.create(name).status_code == 202
    harness.reconcile()
    for name in names:
        assert harness.store(name)["status"] == "ready"


def _revision(harness: Harness, body: dict[str, Any] | None = None) -> int:
    response = harness.client.post("/api/v1/revisions", json=body or BUMP, headers=harness.admin)
    assert response.status_code == 201, response.text
    number: int = response.json()["number"]
    return number


def _start(harness: Harness, **body: Any) -> dict[str, Any]:
    response = harness.client.post("/api/v1/rollouts", json=body, headers=harness.admin)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _rollout(harness: Harness, rollout_id: int) -> dict[str, Any]:
    response = harness.client.get(f"/api/v1/rollouts/{rollout_id}", headers=harness.admin)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_revisions_are_validated_recorded_and_admin_only(harness: Harness) -> None:
    listed = harness.client.get("/api/v1/revisions", headers=harness.admin).json()
    assert [r["number"] for r in listed] == [0]
    bad = harness.client.post(
        "/api/v1/revisions", json={"changes": {"woocommerce_version": "latest"}}, headers=harness.admin
    )
    assert bad.status_code == 422 and "woocommerce_version" in bad.json()["error"]["message"]
    fixed = harness.client.post("/api/v1/revisions", json={"changes": {"name": "x"}}, headers=harness.admin)
    assert fixed.status_code == 422 and "name" in fixed.json()["error"]["message"]
    unknown = harness.client.post(
        "/api/v1/revisions", json={"changes": {"images": {"nginx": "x"}}}, headers=harness.admin
    )
    assert unknown.status_code == 422 and "images.nginx" in unknown.json()["error"]["message"]
    owner = harness.client.post("/api/v1/revisions", json=BUMP, headers=harness.alice)
    assert owner.status_code == 403 and owner.json()["error"]["code"] == "forbidden"
    assert harness.client.get("/api/v1/rollouts", headers=harness.alice).status_code == 403

    assert _revision(harness) == 1
    image = {"changes": {"images": {"wordpress": "wordpress:6.9.0-php8.3-apache"}}}
    assert _revision(harness, image) == 2
    two = harness.client.get("/api/v1/revisions/2", headers=harness.admin).json()
    assert two["parent"] == 1 and two["changed_fields"] == ["images.wordpress", "woocommerce_version"]
    same = harness.client.post("/api/v1/revisions", json=image, headers=harness.admin)
    assert same.status_code == 422 and "as it is" in same.json()["error"]["message"]
    for wrong in (True, "1"):  # a JSON number only; 1.0 is one
        typed = harness.client.post("/api/v1/rollouts", json={"revision": wrong}, headers=harness.admin)
        assert typed.status_code == 422 and "whole number" in typed.json()["error"]["message"]
    missing = harness.client.get("/api/v1/revisions/9", headers=harness.admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "revision_not_found"


def test_a_rollout_moves_every_store_in_growing_waves(harness: Harness) -> None:
    names = [f"wave-{i}" for i in range(6)]
    _ready(harness, *names)
    assert {harness.store(n)["applied_revision"] for n in names} == {0}
    target = _revision(harness)
    started = _start(harness, revision=target, canary=1, growth=2, max_concurrency=2)
    assert started["state"] == "running" and started["waves"] == 3
    assert [w["stores"] for w in started["wave_detail"]] == [1, 2, 3]
    conflict = harness.client.post("/api/v1/rollouts", json={"revision": target}, headers=harness.admin)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "rollout_active"

    assert harness.reconciler(metrics=harness.app.state.ctx.metrics).run_until_idle(timeout=20)
    done = _rollout(harness, started["id"])
    assert done["state"] == "succeeded", done
    assert done["counts"] == {"updated": 6}
    assert all(w["seconds"] is not None for w in done["wave_detail"])
    assert [s["store"] for s in done["stores"] if s["wave"] == 0] == ["wave-0"]
    for name in names:
        store = harness.store(name)
        assert (store["revision"], store["applied_revision"]) == (target, target)
        assert harness.fleet.revisions[name] == target
        assert any(e["kind"] == "rollout" for e in harness.events(name))
    kinds = [e["kind"] for e in done["events"]]
    assert kinds[0] == "started" and kinds.count("wave_passed") == 3 and kinds[-1] == "succeeded"
    # A store made now is built on the new revision; a second rollout has nothing to do.
    _ready(harness, "latecomer")
    assert harness.fleet.revisions["latecomer"] == target
    again = harness.client.post("/api/v1/rollouts", json={"revision": target}, headers=harness.admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    metrics = harness.client.get("/metrics").text
    assert f'storestack_stores_on_revision{{revision="{target}"}} 7.0' in metrics
    assert 'storestack_rollouts_total{result="succeeded"} 1.0' in metrics


def test_a_failed_store_stops_the_rollout_and_it_and_the_canary_go_back(harness: Harness) -> None:
    names = [f"fleet-{i}" for i in range(6)]
    _ready(harness, *names)
    target = _revision(harness)
    harness.fleet.unhealthy["fleet-1"] = {target}  # the first store after the canary
    rollout = _start(harness, revision=target, canary=1, growth=2, max_concurrency=1)
    harness.reconcile()
    done = _rollout(harness, rollout["id"])
    assert done["state"] == "failed", done
    assert "fleet-1" in done["message"] and "storefront check" in done["message"]
    states = {s["store"]: s["state"] for s in done["stores"]}
    assert states["fleet-0"] == "rolled_back" and states["fleet-1"] == "rolled_back"
    assert {states[n] for n in names[2:]} == {"skipped"}
    for name in ("fleet-0", "fleet-1"):
        store = harness.store(name)
        assert store["status"] == "ready" and (store["revision"], store["applied_revision"]) == (0, 0)
        assert harness.fleet.revisions[name] == 0
    for name in names[2:]:  # never touched: one up each, the create's
        assert harness.fleet.count("up", name) == 1
        assert harness.store(name)["applied_revision"] == 0
    kinds = [e["kind"] for e in done["events"]]
    assert "store_failed" in kinds and "stopped" in kinds and kinds[-1] == "failed"
    # The fleet's revision for new stores stays the old one.
    _ready(harness, "after-failure")
    assert harness.fleet.revisions["after-failure"] == 0


def test_without_rollback_all_only_the_failed_store_goes_back(harness: Harness) -> None:
    _ready(harness, "solo-0", "solo-1", "solo-2")
    target = _revision(harness)
    harness.fleet.unhealthy["solo-1"] = {target}
    rollout = _start(harness, revision=target, canary=1, max_concurrency=1, rollback_all=False)
    harness.reconcile()
    done = _rollout(harness, rollout["id"])
    states = {s["store"]: s["state"] for s in done["stores"]}
    assert done["state"] == "failed"
    assert states == {"solo-0": "updated", "solo-1": "rolled_back", "solo-2": "skipped"}
    assert harness.store("solo-0")["applied_revision"] == target


def test_pause_holds_the_next_wave_resume_finishes_and_abort_stops(harness: Harness) -> None:
    _ready(harness, "calm-0", "calm-1", "calm-2")
    target = _revision(harness)
    gate = harness.fleet.block("calm-0", "up")
    rollout = _start(harness, revision=target, canary=1, max_concurrency=1)
    reconciler = harness.reconciler()
    reconciler.tick()  # moves and claims the canary, whose up now waits on the gate
    paused = harness.client.post(f"/api/v1/rollouts/{rollout['id']}/pause", headers=harness.admin)
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    gate.set()
    assert reconciler.run_until_idle(timeout=20)
    held = _rollout(harness, rollout["id"])
    assert held["state"] == "paused"
    assert {s["store"]: s["state"] for s in held["stores"]} == {
        "calm-0": "updated",
        "calm-1": "pending",
        "calm-2": "pending",
    }
    again = harness.client.post(f"/api/v1/rollouts/{rollout['id']}/pause", headers=harness.admin)
    assert again.status_code == 409
    resumed = harness.client.post(f"/api/v1/rollouts/{rollout['id']}/resume", headers=harness.admin)
    assert resumed.status_code == 200 and resumed.json()["state"] == "running"
    harness.reconcile()
    assert _rollout(harness, rollout["id"])["state"] == "succeeded"

    back = _revision(harness, {"changes": {"woocommerce_version": "10.3.5"}})
    second = _start(harness, revision=back, canary=1, max_concurrency=1)
    aborted = harness.client.post(f"/api/v1/rollouts/{second['id']}/abort", headers=harness.admin)
    assert aborted.status_code == 200 and aborted.json()["state"] == "aborted"
    harness.reconcile()
    final = _rollout(harness, second["id"])
    assert final["counts"] == {"skipped": 3} and final["state"] == "aborted"
    assert {harness.store(n)["applied_revision"] for n in ("calm-0", "calm-1", "calm-2")} == {target}
    gone = harness.client.post("/api/v1/rollouts/99/abort", headers=harness.admin)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "rollout_not_found"


def test_cli_records_a_revision_and_rolls_it_out(live_server: LiveServer) -> None:
    admin = ["--url", live_server.url, "--token", live_server.harness.admin["Authorization"].split()[1]]
    owner = ["--url", live_server.url, "--token", live_server.harness.alice["Authorization"].split()[1]]
    runner = CliRunner()
    for name in ("cli-roll-a", "cli-roll-b", "cli-roll-c"):
        assert runner.invoke(cli.app, ["create", name, "--wait", *owner]).exit_code == 0
    bad = runner.invoke(cli.app, ["revision", "create", "--set", "images.wordpress", *admin])
    assert bad.exit_code == 2 and "FIELD=VALUE" in bad.output
    refused = runner.invoke(cli.app, ["revision", "create", "--set", "setup_retries=2", *owner])
    assert refused.exit_code == 1 and "forbidden" in refused.output
    made = runner.invoke(
        cli.app,
        [
            "revision",
            "create",
            "--set",
            "images.wordpress=wordpress:6.9.0",
            "--set",
            "setup_retries=2",
            *admin,
        ],
    )
    assert made.exit_code == 0 and "revision 1 (from 0): images.wordpress, setup_retries" in made.output, (
        made.output
    )
    listed = runner.invoke(cli.app, ["revision", "list", *admin])
    assert listed.exit_code == 0 and "images.wordpress" in listed.output
    rolled = runner.invoke(cli.app, ["rollout", "start", "1", "--canary", "1", "--wait", *admin])
    assert rolled.exit_code == 0, rolled.output
    assert "succeeded" in rolled.output and "cli-roll-c: updated" in rolled.output
    status = runner.invoke(cli.app, ["rollout", "status", *admin])
    assert status.exit_code == 0 and "canary" in status.output and "cli-roll-b" in status.output
    ended = runner.invoke(cli.app, ["rollout", "pause", "1", *admin])
    assert ended.exit_code == 1 and "invalid_state" in ended.output
    store = runner.invoke(cli.app, ["get", "cli-roll-a", *owner])
    assert '"applied_revision": 1' in store.output
