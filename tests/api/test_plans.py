"""Size plans through the API and the CLI, with the fake fleet: ``GET /plans`` lists what the
environment offers, a store takes one at create or by a ``PATCH`` (and gives it back with
``null``), an unknown plan is a 422 naming the field and the plans there are (the resources a plan
gives the pods on a real engine: ``tests/e2e/test_changes_e2e.py``)."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from api import cli
from tests.api.conftest import Harness, LiveServer


def _patch(harness: Harness, name: str, body: Any) -> Any:
    return harness.client.patch(f"/api/v1/stores/{name}", json=body, headers=harness.alice)


def test_the_environments_plans_are_listed(harness: Harness) -> None:
    response = harness.client.get("/api/v1/plans", headers=harness.alice)
    assert response.status_code == 200, response.text
    plans = response.json()
    assert [plan["name"] for plan in plans] == ["medium"]  # environments/sim.yaml
    assert plans[0]["resources"]["wordpress"]["limits"] == {"cpu": "500m", "memory": "512Mi"}
    assert harness.client.get("/api/v1/plans").status_code == 401


def test_a_plan_at_create_and_by_a_change_and_back(harness: Harness) -> None:
    assert harness.create("sized", plan="medium").status_code == 202
    harness.reconcile()
    assert harness.store("sized")["plan"] == "medium"
    assert harness.fleet.specs[-1].plan == "medium"
    response = _patch(harness, "sized", {"plan": None})
    assert response.status_code == 202, response.text
    harness.reconcile()
    assert harness.store("sized")["plan"] is None and harness.fleet.specs[-1].plan is None
    assert _patch(harness, "sized", {"plan": "medium"}).status_code == 202
    assert _patch(harness, "sized", {"plan": "medium"}).status_code == 200  # already so
    harness.reconcile()
    changed = [e for e in harness.events("sized") if e["kind"] == "changed"]
    assert [(e["data"]["before"], e["data"]["after"]) for e in changed] == [
        ({"plan": "medium"}, {"plan": None}),
        ({"plan": None}, {"plan": "medium"}),
    ]


def test_an_unknown_plan_is_422_naming_the_field_and_the_plans_there_are(harness: Harness) -> None:
    response = harness.create("greedy", plan="huge")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "plan" in error["message"] and "its plans: medium" in error["message"], error
    assert harness.client.get("/api/v1/stores/greedy", headers=harness.alice).status_code == 404
    assert harness.create("shaped", plan="Not A Plan").status_code == 422
    harness.create("plain")
    harness.reconcile()
    refused = _patch(harness, "plain", {"plan": "huge"})
    assert refused.status_code == 422 and "its plans: medium" in refused.json()["error"]["message"]
    assert harness.store("plain")["plan"] is None


def test_cli_plans_and_update_plan(live_server: LiveServer) -> None:
    auth = ["--url", live_server.url, "--token", live_server.harness.alice["Authorization"].split()[1]]
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["plans", *auth])
    assert listed.exit_code == 0 and "medium" in listed.output and "500m CPU, 512Mi" in listed.output
    assert runner.invoke(cli.app, ["create", "cli-plan", "--plan", "medium", "--wait", *auth]).exit_code == 0
    back = runner.invoke(cli.app, ["update", "cli-plan", "--plan", "-", "--wait", *auth])
    assert back.exit_code == 0 and "cli-plan is ready" in back.output, back.output
    assert live_server.harness.store("cli-plan")["plan"] is None
    bad = runner.invoke(cli.app, ["update", "cli-plan", "--plan", "huge", *auth])
    assert bad.exit_code == 1 and "validation_error" in bad.output and "its plans" in bad.output
