"""Drift checks, repair and their endpoints, with the fake fleet: what a check records, that a repair
is an ``up`` that reads the cluster back first, automatic repair, the periodic schedule, and a
check that gives way to a change (the real engine against ``kubectl delete`` is in
``tests/e2e/test_day2_e2e.py``)."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner

from api import cli
from api.metrics import Metrics
from api.models import Store
from stacks.types import Drift
from tests.api.conftest import Harness, LiveServer, MakeHarness

LOST_POLICY = Drift(changes={"create": 1}, resources=["create NetworkPolicy default-deny"])


def _post(harness: Harness, name: str, action: str, headers: dict[str, str] | None = None) -> Any:
    return harness.client.post(f"/api/v1/stores/{name}/{action}", headers=headers or harness.alice)


def _ready(harness: Harness, name: str) -> None:
    assert harness.create(name).status_code == 202
    harness.reconcile()
    assert harness.store(name)["status"] == "ready"


def test_a_clean_check_records_when_it_ran_and_says_so_when_asked(harness: Harness) -> None:
    _ready(harness, "clean")
    before = harness.store("clean")
    assert before["drift"] == {"drifted": False, "summary": None, "checked_at": None}
    response = _post(harness, "clean", "check-drift")
    assert response.status_code == 202, response.text
    harness.reconcile()
    after = harness.store("clean")
    assert after["drift"]["drifted"] is False and after["drift"]["checked_at"] is not None
    assert after["status"] == "ready" and after["attempts"] == before["attempts"]  # not an operation
    assert harness.fleet.count("check", "clean") == 1
    said = [e["message"] for e in harness.events("clean") if e["kind"].startswith("drift")]
    assert said == ["drift check requested by alice", "no drift"]  # asked for, so answered


def test_found_drift_is_flagged_counted_and_repaired_by_an_up_with_refresh(harness: Harness) -> None:
    _ready(harness, "drifty")
    harness.fleet.drift["drifty"] = LOST_POLICY
    _post(harness, "drifty", "check-drift")
    counted = Metrics()
    assert harness.reconciler(metrics=counted).run_until_idle()
    store = harness.store("drifty")
    assert store["status"] == "ready"  # drift is reported, not acted on, unless asked
    assert store["drift"]["drifted"] is True
    assert store["drift"]["summary"] == "1 to create: create NetworkPolicy default-deny"
    found = [e for e in harness.events("drifty") if e["kind"] == "drift"]
    assert [e["message"] for e in found] == ["drift found: 1 to create: create NetworkPolicy default-deny"]
    assert found[0]["data"]["resources"] == ["create NetworkPolicy default-deny"]
    metrics = harness.client.get("/metrics").text
    assert 'storestack_store_drifted{store="drifty"} 1.0' in metrics
    assert counted.registry.get_sample_value("storestack_drift_checks_total", {"result": "drift"}) == 1
    assert harness.fleet.refreshes == [("drifty", False)]

    response = _post(harness, "drifty", "repair")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    harness.reconcile()
    repaired = harness.store("drifty")
    assert repaired["status"] == "ready" and repaired["drift"]["drifted"] is False
    assert harness.fleet.refreshes == [("drifty", False), ("drifty", True)]  # the repair read back
    repair = [e for e in harness.events("drifty") if e["kind"] == "repair_requested"]
    assert repair[0]["actor"] == "alice" and "NetworkPolicy default-deny" in repair[0]["message"]
    assert 'storestack_store_drifted{store="drifty"} 0.0' in harness.client.get("/metrics").text
    # The next check finds nothing: the flag goes, and the asked-for check says "no drift".
    _post(harness, "drifty", "check-drift")
    harness.reconcile()
    assert harness.store("drifty")["drift"]["drifted"] is False


def test_automatic_repair_puts_a_drifted_store_back_at_once(make_harness: MakeHarness) -> None:
    harness = make_harness(drift_auto_repair=True)
    _ready(harness, "auto")
    harness.fleet.drift["auto"] = LOST_POLICY
    _post(harness, "auto", "check-drift")
    harness.reconcile()
    assert harness.store("auto")["status"] == "ready"
    assert harness.store("auto")["drift"]["drifted"] is False
    assert harness.fleet.refreshes[-1] == ("auto", True)
    repair = [e for e in harness.events("auto") if e["kind"] == "repair_requested"]
    assert repair and repair[0]["data"]["automatic"] is True


def _reconcile_until_checked(harness: Harness, name: str, at_least: int, timeout: float = 10) -> int:
    """Reconcile every 0.1 s until the store has had ``at_least`` checks; returns how many it had.
    A check is due 0.3 s +-20% after the last, and ``reconcile`` runs until idle, so on a loaded
    machine one call may meet a second due check: counts are waited for, not predicted."""
    deadline = time.monotonic() + timeout
    while harness.fleet.count("check", name) < at_least and time.monotonic() < deadline:
        time.sleep(0.1)
        harness.reconcile()
    count = harness.fleet.count("check", name)
    assert count >= at_least, f"{count} checks of {name} after {timeout}s, expected at least {at_least}"
    return count


def test_checks_come_by_themselves_every_interval_and_not_when_turned_off(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(drift_check_seconds=0.3)
    _ready(harness, "periodic")
    with harness.engine.connect() as connection:
        due = connection.exec_driver_sql("SELECT drift_due_at FROM stores").scalar()
    assert due is not None  # scheduled when it became ready
    first = _reconcile_until_checked(harness, "periodic", 1)
    _reconcile_until_checked(harness, "periodic", first + 1)  # and again, by itself
    off = make_harness(drift_check_seconds=0)
    _ready(off, "quiet")
    time.sleep(0.1)
    off.reconcile()
    assert off.fleet.count("check", "quiet") == 0


def test_stores_made_ready_before_checks_existed_get_a_spread_due_time(make_harness: MakeHarness) -> None:
    harness = make_harness(drift_check_seconds=3600)
    for name in ("old-a", "old-b", "old-c"):
        _ready(harness, name)
    with harness.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE stores SET drift_due_at = NULL")
    harness.reconcile()
    with Session(harness.engine) as session:
        dues = [store.drift_due_at for store in session.exec(select(Store)).all()]
    assert all(due is not None for due in dues) and len(set(dues)) == 3


def test_a_change_during_a_check_cancels_the_check_and_wins(live: Harness) -> None:
    assert live.create("busy").status_code == 202
    live.wait_status("busy", "ready")
    gate = live.fleet.block("busy", "check")
    _post(live, "busy", "check-drift")
    deadline = time.monotonic() + 10
    while live.fleet.count("check", "busy") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    response = live.client.patch("/api/v1/stores/busy", json={"title": "Changed"}, headers=live.alice)
    assert response.status_code == 202, response.text
    live.wait_status("busy", "ready")
    gate.set()
    assert "busy" in live.fleet.cancelled
    assert live.store("busy")["title"] == "Changed"
    assert not [e for e in live.events("busy") if e["kind"] == "drift"]  # a cancelled check says nothing


def test_drift_endpoints_refuse_what_cannot_be_done(harness: Harness) -> None:
    harness.create("early")
    assert _post(harness, "early", "check-drift").status_code == 409
    harness.reconcile()
    assert _post(harness, "early", "repair", headers=harness.bob).status_code == 404
    assert harness.client.delete("/api/v1/stores/early", headers=harness.alice).status_code == 202
    response = _post(harness, "early", "repair")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"
    assert _post(harness, "nope", "repair").status_code == 404


def test_cli_drift_and_repair(live_server: LiveServer) -> None:
    auth = ["--url", live_server.url, "--token", live_server.harness.alice["Authorization"].split()[1]]
    runner = CliRunner()
    assert runner.invoke(cli.app, ["create", "cli-drift", "--wait", *auth]).exit_code == 0
    unchecked = runner.invoke(cli.app, ["drift", "cli-drift", *auth])
    assert unchecked.exit_code == 0 and "not checked yet" in unchecked.output
    live_server.harness.fleet.drift["cli-drift"] = LOST_POLICY
    found = runner.invoke(cli.app, ["drift", "cli-drift", "--check", *auth])
    assert found.exit_code == 3, found.output
    assert "cli-drift drifted" in found.output and "NetworkPolicy default-deny" in found.output
    assert "storestack repair cli-drift" in found.output
    repaired = runner.invoke(cli.app, ["repair", "cli-drift", "--wait", *auth])
    assert repaired.exit_code == 0 and "cli-drift is ready" in repaired.output, repaired.output
    clean = runner.invoke(cli.app, ["drift", "cli-drift", "--check", *auth])
    assert clean.exit_code == 0 and "cli-drift: no drift" in clean.output, clean.output
    missing = runner.invoke(cli.app, ["repair", "no-such", *auth])
    assert missing.exit_code == 1 and "store_not_found" in missing.output
