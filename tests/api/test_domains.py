"""Custom host names through the API and the CLI, with the fake fleet: a store takes extra host
names at create or by a ``PATCH``, no two live stores share one, none may be under the environment's
own domain, and a deleted store's names are free again (the Ingress rules and TLS hosts they make:
``tests/unit/test_store_component.py`` and ``tests/e2e/test_day2_e2e.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from api import cli
from tests.api.conftest import Harness, LiveServer


def _patch(harness: Harness, name: str, body: Any) -> Any:
    return harness.client.patch(f"/api/v1/stores/{name}", json=body, headers=harness.alice)


def test_host_names_are_taken_given_back_and_freed_by_a_delete(harness: Harness) -> None:
    created = harness.create("branded", domains=["shop.example.com", "www.shop.example.com"])
    assert created.status_code == 202, created.text
    assert created.json()["domains"] == ["shop.example.com", "www.shop.example.com"]
    harness.reconcile()
    assert harness.fleet.specs[-1].domains == ("shop.example.com", "www.shop.example.com")

    taken = harness.create("copycat", domains=["shop.example.com"], headers=harness.bob)
    assert taken.status_code == 409, taken.text
    assert taken.json()["error"]["code"] == "domain_taken"
    assert harness.client.get("/api/v1/stores/copycat", headers=harness.bob).status_code == 404
    assert harness.create("copycat", headers=harness.bob).status_code == 202
    harness.reconcile()
    grab = harness.client.patch(
        "/api/v1/stores/copycat", json={"domains": ["www.shop.example.com"]}, headers=harness.bob
    )
    assert grab.status_code == 409 and grab.json()["error"]["code"] == "domain_taken"
    assert harness.store("copycat")["domains"] == []

    # branded gives one back: now copycat may have it.
    assert _patch(harness, "branded", {"domains": ["shop.example.com"]}).status_code == 202
    again = harness.client.patch(
        "/api/v1/stores/copycat", json={"domains": ["www.shop.example.com"]}, headers=harness.bob
    )
    assert again.status_code == 202, again.text
    harness.reconcile()
    changed = [e for e in harness.events("branded") if e["kind"] == "changed"]
    assert changed[-1]["data"]["after"] == {"domains": ["shop.example.com"]}

    assert harness.client.delete("/api/v1/stores/branded", headers=harness.alice).status_code == 202
    assert harness.create("heir", domains=["shop.example.com"]).status_code == 409  # until destroyed
    harness.reconcile()
    assert harness.create("heir", domains=["shop.example.com"]).status_code == 202


@pytest.mark.parametrize(
    ("domains", "says"),
    [
        (["other.sim.storestack.test"], "under this environment's domain"),
        (["sim.storestack.test"], "under this environment's domain"),
        (["Shop.Example.com"], "lowercase DNS name"),
        (["localhost"], "lowercase DNS name"),
        (["a.example.com", "a.example.com"], "twice"),
        ([f"d{i}.example.com" for i in range(6)], "at most 5"),
    ],
)
def test_bad_host_names_are_422_naming_the_field(harness: Harness, domains: list[str], says: str) -> None:
    response = harness.create("named", domains=domains)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "domains" in error["message"], error
    assert says in error["message"], error


def test_cli_domains(live_server: LiveServer) -> None:
    auth = ["--url", live_server.url, "--token", live_server.harness.alice["Authorization"].split()[1]]
    runner = CliRunner()
    made = runner.invoke(cli.app, ["create", "cli-dom", "--domain", "cli.example.org", "--wait", *auth])
    assert made.exit_code == 0, made.output
    assert live_server.harness.store("cli-dom")["domains"] == ["cli.example.org"]
    cleared = runner.invoke(cli.app, ["update", "cli-dom", "--no-domains", "--wait", *auth])
    assert cleared.exit_code == 0, cleared.output
    assert live_server.harness.store("cli-dom")["domains"] == []
    both = runner.invoke(cli.app, ["update", "cli-dom", "--domain", "x.example.org", "--no-domains", *auth])
    assert both.exit_code == 2
