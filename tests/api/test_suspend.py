"""Suspend and resume, with the fake fleet: the spec the engine gets, the ``suspended`` status, what
is refused, and how the active and suspended limits count (pods scaled to zero and the data kept
on a real node: ``tests/realnode/test_realnode_suspend.py``)."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from api import cli
from tests.api.conftest import Harness, LiveServer, MakeHarness


def _post(harness: Harness, name: str, action: str) -> Any:
    return harness.client.post(f"/api/v1/stores/{name}/{action}", headers=harness.alice)


def _ready(harness: Harness, name: str) -> None:
    assert harness.create(name).status_code == 202
    harness.reconcile()
    assert harness.store(name)["status"] == "ready"


def test_suspend_scales_to_zero_and_resume_brings_the_same_store_back(harness: Harness) -> None:
    _ready(harness, "napping")
    response = _post(harness, "napping", "suspend")
    assert response.status_code == 202, response.text
    assert response.json()["suspended"] is True and response.json()["status"] == "pending"
    harness.reconcile()
    store = harness.store("napping")
    assert store["status"] == "suspended" and store["suspended"] is True
    assert harness.fleet.specs[-1].suspended is True
    assert [e["kind"] for e in harness.events("napping")].count("suspend_requested") == 1
    # Nothing else may be asked of a suspended store but to resume or delete it.
    assert _post(harness, "napping", "suspend").status_code == 409
    change = harness.client.patch("/api/v1/stores/napping", json={"title": "x"}, headers=harness.alice)
    assert change.status_code == 409 and "resume it" in change.json()["error"]["message"]
    assert _post(harness, "napping", "check-drift").status_code == 409
    creds = harness.client.get("/api/v1/stores/napping/credentials", headers=harness.alice)
    assert creds.status_code == 409

    response = _post(harness, "napping", "resume")
    assert response.status_code == 202, response.text
    harness.reconcile()
    store = harness.store("napping")
    assert store["status"] == "ready" and store["suspended"] is False
    assert harness.fleet.specs[-1].suspended is False and harness.fleet.specs[-1].name == "napping"
    assert harness.fleet.count("destroy", "napping") == 0  # same stack, same data
    statuses = [e["data"]["status"] for e in harness.events("napping") if e["kind"] == "status"]
    assert statuses[-4:] == ["provisioning", "suspended", "provisioning", "ready"]
    assert _post(harness, "napping", "resume").status_code == 409


def test_a_suspended_store_can_be_deleted(harness: Harness) -> None:
    _ready(harness, "goner")
    _post(harness, "goner", "suspend")
    harness.reconcile()
    assert harness.client.delete("/api/v1/stores/goner", headers=harness.alice).status_code == 202
    harness.reconcile()
    assert harness.store("goner")["status"] == "deleted"
    assert harness.fleet.count("destroy", "goner") == 1
    assert _post(harness, "goner", "resume").status_code == 409


def test_suspended_stores_count_apart_from_active_ones(make_harness: MakeHarness) -> None:
    harness = make_harness(max_active_stores_per_owner=1, max_suspended_stores_per_owner=1)
    _ready(harness, "first")
    assert harness.create("second").status_code == 429  # one active store at most
    assert _post(harness, "first", "suspend").status_code == 202
    harness.reconcile()
    _ready(harness, "second")  # the suspended one leaves its active place free
    response = _post(harness, "first", "resume")
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "quota_exceeded"
    assert "delete or suspend one first" in response.json()["error"]["message"]
    assert harness.store("first")["suspended"] is True  # the refused resume changed nothing
    response = _post(harness, "second", "suspend")
    assert response.status_code == 429 and "suspended stores" in response.json()["error"]["message"]
    assert harness.store("second")["status"] == "ready"


def test_cli_suspend_and_resume(live_server: LiveServer) -> None:
    auth = ["--url", live_server.url, "--token", live_server.harness.alice["Authorization"].split()[1]]
    runner = CliRunner()
    assert runner.invoke(cli.app, ["create", "cli-nap", "--wait", *auth]).exit_code == 0
    paused = runner.invoke(cli.app, ["suspend", "cli-nap", "--wait", *auth])
    assert paused.exit_code == 0 and "cli-nap is suspended" in paused.output, paused.output
    listed = runner.invoke(cli.app, ["list", *auth])
    assert "suspended" in listed.output
    again = runner.invoke(cli.app, ["suspend", "cli-nap", *auth])
    assert again.exit_code == 1 and "invalid_state" in again.output and "already suspended" in again.output
    back = runner.invoke(cli.app, ["resume", "cli-nap", "--wait", *auth])
    assert back.exit_code == 0 and "cli-nap is ready" in back.output, back.output
