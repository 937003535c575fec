"""Expiring stores: ``expires_in_seconds`` at create, the reconciler deleting a store once its time
has passed (with the fake fleet and a clock moved forward), and ``storestack create --ttl``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from typer.testing import CliRunner

from api import cli
from api.db import utcnow
from api.metrics import Metrics
from tests.api.conftest import Harness, LiveServer


def _later(hours: float) -> Any:
    return lambda: utcnow() + dt.timedelta(hours=hours)


def _time(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_a_store_is_deleted_once_its_time_has_passed_and_says_why(harness: Harness) -> None:
    response = harness.create("demo", expires_in_seconds=3600)
    assert response.status_code == 202, response.text
    body = response.json()
    assert _time(body["expires_at"]) - _time(body["created_at"]) == dt.timedelta(hours=1)
    harness.create("forever")
    harness.reconcile()
    assert harness.reconciler(clock=_later(0.5)).run_until_idle()
    assert harness.store("demo")["status"] == "ready"

    metrics = Metrics()
    assert harness.reconciler(clock=_later(2), metrics=metrics).run_until_idle()
    demo = harness.store("demo")
    assert demo["status"] == "deleted"
    assert harness.store("forever")["status"] == "ready"
    assert harness.fleet.count("destroy", "demo") == 1
    expired = [e for e in harness.events("demo") if e["kind"] == "expired"]
    assert len(expired) == 1
    assert expired[0]["message"] == f"expired at {body['expires_at'][:19]}Z: deletion started"
    assert metrics.registry.get_sample_value("storestack_stores_expired_total") == 1
    # Nothing expires twice: the tombstone stays as it is.
    assert harness.reconciler(clock=_later(3), metrics=metrics).run_until_idle()
    assert metrics.registry.get_sample_value("storestack_stores_expired_total") == 1
    assert len([e for e in harness.events("demo") if e["kind"] == "expired"]) == 1


def test_a_store_already_being_deleted_is_left_alone(harness: Harness) -> None:
    harness.create("going", expires_in_seconds=60)
    harness.reconcile()
    assert harness.client.delete("/api/v1/stores/going", headers=harness.alice).status_code == 202
    assert harness.reconciler(clock=_later(1)).run_until_idle()
    kinds = [e["kind"] for e in harness.events("going")]
    assert "delete_requested" in kinds and "expired" not in kinds


@pytest.mark.parametrize("value", [0, 59, -5, "soon", 10 * 366 * 24 * 3600 + 1, 1.5])
def test_a_bad_lifetime_is_422_naming_the_field(harness: Harness, value: Any) -> None:
    response = harness.create("bad-ttl", expires_in_seconds=value)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert "expires_in_seconds" in response.json()["error"]["message"]


def test_cli_create_with_a_ttl(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the table's columns whole
    auth = ["--url", live_server.url, "--token", live_server.harness.alice["Authorization"].split()[1]]
    runner = CliRunner()
    before = dt.datetime.now(dt.UTC)
    result = runner.invoke(cli.app, ["create", "cli-demo", "--ttl", "2h", "--json", *auth])
    assert result.exit_code == 0, result.output
    expires = _time(live_server.harness.store("cli-demo")["expires_at"])
    assert dt.timedelta(hours=2) <= expires - before < dt.timedelta(hours=2, seconds=30)
    listed = runner.invoke(cli.app, ["list", *auth])
    assert "EXPIRES" in listed.output and expires.isoformat()[:16] in listed.output
    bad = runner.invoke(cli.app, ["create", "cli-demo2", "--ttl", "soon", *auth])
    assert bad.exit_code == 2
    assert "unit s, m, h, d or w" in bad.output
