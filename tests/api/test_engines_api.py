"""Store engines through the API and the CLI, with the fake fleet: ``GET /engines`` lists what the
environment offers, a Medusa store is recorded with its engine, an engine the environment does not
offer and a plan in a Medusa store's create are 422s naming the field, and a PATCH of a plan onto
a Medusa store is 409 ``invalid_state`` (a Medusa store on real pods:
``tests/realnode/test_medusa.py``)."""

from __future__ import annotations

from typer.testing import CliRunner

from api import cli
from tests.api.conftest import Harness, LiveServer, MakeHarness


def test_the_environments_engines_are_listed(harness: Harness) -> None:
    response = harness.client.get("/api/v1/engines", headers=harness.alice)
    assert response.status_code == 200, response.text
    assert [e["name"] for e in response.json()] == ["woocommerce", "medusa"]  # sim has a medusa: section
    assert "PostgreSQL" in response.json()[1]["description"]
    assert harness.client.get("/api/v1/engines").status_code == 401


def test_a_medusa_store_is_recorded_with_its_engine(harness: Harness) -> None:
    assert harness.create("headless", engine="medusa").status_code == 202
    harness.reconcile()
    assert harness.store("headless")["engine"] == "medusa"
    assert harness.fleet.specs[-1].engine == "medusa"


def test_a_plan_on_a_medusa_store_is_refused(harness: Harness) -> None:
    response = harness.create("sized", engine="medusa", plan="medium")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith("plan: plans size WooCommerce stores")
    assert harness.client.get("/api/v1/stores/sized", headers=harness.alice).status_code == 404
    harness.create("later", engine="medusa")
    harness.reconcile()
    refused = harness.client.patch("/api/v1/stores/later", json={"plan": "medium"}, headers=harness.alice)
    assert refused.status_code == 409, refused.text  # the store's engine forbids it, not the body
    assert refused.json()["error"]["code"] == "invalid_state"
    assert "plans size WooCommerce" in refused.json()["error"]["message"]
    assert harness.store("later")["plan"] is None


def test_an_engine_the_environment_does_not_offer_is_422(make_harness: MakeHarness) -> None:
    harness = make_harness(environment="prod")
    assert [e["name"] for e in harness.client.get("/api/v1/engines", headers=harness.alice).json()] == [
        "woocommerce"
    ]
    response = harness.create("headless", engine="medusa")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "engine: this environment does not offer 'medusa' (its engines: woocommerce)"
    assert harness.create("nope", engine="shopify").status_code == 422


def test_cli_engines_and_create_engine(live_server: LiveServer) -> None:
    auth = ["--url", live_server.url, "--token", live_server.harness.alice["Authorization"].split()[1]]
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["engines", *auth])
    assert listed.exit_code == 0 and "MedusaJS" in listed.output and "WooCommerce" in listed.output
    made = runner.invoke(cli.app, ["create", "cli-medusa", "--engine", "medusa", "--wait", *auth])
    assert made.exit_code == 0, made.output
    assert live_server.harness.store("cli-medusa")["engine"] == "medusa"
