"""The cluster away: the reconciler holds work without using up attempts, the waiting stores say
why, and once the cluster answers every store converges; retries refresh the state first; timeouts
cancel the engine, and one too short for the engine's own awaits is said at start."""

from __future__ import annotations

import time
from typing import Any

import pytest

from api.budget import check_budget
from stacks.errors import ClusterUnreachableError, OperationFailedError
from tests.api.conftest import Harness, MakeHarness


def test_nothing_is_claimed_while_the_cluster_is_away_and_the_stores_say_why(
    make_harness: MakeHarness,
) -> None:
    # Probes an hour apart: a store created between two probes must say why it waits all the same
    # (with probes 20 ms apart this passed or failed with the machine's speed).
    harness = make_harness(cluster_check_seconds=3600)
    harness.fleet.reachable = False
    harness.create("held")
    reconciler = harness.reconciler()
    for _ in range(5):
        assert reconciler.tick() == 0
    store = harness.store("held")
    assert store["status"] == "pending" and store["attempts"] == 0
    assert store["progress"]["step"] == "waiting for the cluster: its API server does not answer"
    waiting = [e for e in harness.events("held") if e["kind"] == "waiting"]
    assert len(waiting) == 1 and "attempts are not used up" in waiting[0]["message"]
    assert harness.fleet.count("up", "held") == 0
    harness.create("held-later")  # made during the outage: it says so too
    reconciler.tick()
    later = harness.store("held-later")
    assert later["progress"]["step"] == "waiting for the cluster: its API server does not answer"
    harness.fleet.reachable = True
    assert reconciler.cluster.ok(fresh=True)
    assert reconciler.run_until_idle(timeout=10)
    assert harness.store("held-later")["status"] == "ready"
    store = harness.store("held")
    assert store["status"] == "ready" and store["attempts"] == 1
    assert any(e["message"] == "the cluster answers again; resuming" for e in harness.events("held"))


def test_failures_during_an_outage_are_not_attempts(harness: Harness) -> None:
    """More failed tries than max_attempts (3), all while the cluster is away: the store does not
    fail, and converges once the cluster is back."""
    gates = [harness.fleet.block("outage", "up") for _ in range(5)]
    error = ClusterUnreachableError("dial tcp 127.0.0.1:6443: connect: connection refused")
    harness.fleet.fail("outage", "up", *([error] * 5))
    harness.create("outage")
    reconciler = harness.reconciler()
    for gate in gates:
        # an operation starts while the cluster answers; the cluster goes away under it
        assert reconciler.tick() == 1
        harness.fleet.reachable = False
        gate.set()
        for job in reconciler.running():
            job.finished.wait(10)
        harness.fleet.reachable = True
        assert reconciler.cluster.ok(fresh=True)
        row = harness.store("outage")
        assert row["status"] == "provisioning" and row["attempts"] == 0, row
        with harness.engine.begin() as connection:  # skip the backoff
            connection.exec_driver_sql("UPDATE stores SET next_attempt_at = NULL WHERE name = 'outage'")
    assert reconciler.run_until_idle(timeout=10)
    store = harness.store("outage")
    assert store["status"] == "ready" and store["attempts"] == 1
    errors = [e for e in harness.events("outage") if e["kind"] == "error"]
    assert len(errors) == 5 and all(e["data"]["outage"] is True for e in errors)
    assert "not counted as an attempt" in errors[0]["message"]


def test_every_retry_refreshes_the_state_first(harness: Harness) -> None:
    harness.fleet.fail("again", "up", OperationFailedError("up failed (timeout): await", temporary=True))
    harness.create("again")
    harness.reconcile()
    assert harness.store("again")["status"] == "ready"
    assert [r for s, r in harness.fleet.refreshes if s == "again"] == [False, True]


def test_a_probe_that_raises_counts_as_away(harness: Harness) -> None:
    def broken() -> bool:
        raise RuntimeError("kubectl vanished")

    harness.fleet.cluster_reachable = broken  # type: ignore[method-assign]
    harness.create("probe")
    assert harness.reconciler().tick() == 0
    assert harness.store("probe")["status"] == "pending"


def test_a_delete_during_up_cancels_the_up_and_destroys_at_once(harness: Harness) -> None:
    harness.fleet.block("doomed", "up")  # an up that would wait 30 s
    harness.create("doomed")
    reconciler = harness.reconciler()
    assert reconciler.tick() == 1
    assert harness.client.delete("/api/v1/stores/doomed", headers=harness.alice).status_code == 202
    assert reconciler.run_until_idle(timeout=10)  # well before the blocked up would end
    assert harness.fleet.cancelled == ["doomed"]
    assert harness.store("doomed")["status"] == "deleted"
    assert any(e["message"] == "provisioning cancelled: deletion requested" for e in harness.events("doomed"))


def test_a_timeout_cancels_the_operation_and_frees_the_slot(make_harness: MakeHarness) -> None:
    # A limit well above one tick's time: a tick slowed by a busy machine must not find the up
    # timed out already at its launch (and then claim "next" in the same tick).
    harness = make_harness(provisioning_timeout_seconds=1.0, worker_concurrency=1)
    harness.fleet.block("slow", "up")
    harness.create("slow")
    harness.create("next")
    reconciler = harness.reconciler()
    assert reconciler.tick() == 1
    time.sleep(1.1)
    assert reconciler.run_until_idle(timeout=10)
    assert harness.fleet.cancelled == ["slow"]
    slow = harness.store("slow")
    assert slow["status"] == "failed" and slow["last_error"]["code"] == "timeout"
    assert harness.store("next")["status"] == "ready"  # the slot was freed for it


def _stall_event(harness: Harness) -> dict[str, Any]:
    """Run one up that stays quiet longer than the stall limit; its one ``waiting`` event."""
    gate = harness.fleet.block("quiet", "up")
    harness.create("quiet")
    reconciler = harness.reconciler()
    assert reconciler.tick() == 1
    time.sleep(0.5)
    reconciler.tick()
    gate.set()
    assert reconciler.run_until_idle(timeout=10)
    (waiting,) = [e for e in harness.events("quiet") if e["kind"] == "waiting"]
    return waiting


def test_a_quiet_operation_says_what_it_last_did(make_harness: MakeHarness) -> None:
    harness = make_harness(stall_report_seconds=0.2)
    waiting = _stall_event(harness)
    assert waiting["message"].startswith("still at work: no engine step for ")
    assert waiting["message"].endswith("the last one was: starting")
    assert harness.store("quiet")["status"] == "ready"


def test_a_quiet_operation_names_every_resource_it_waits_for(make_harness: MakeHarness) -> None:
    harness = make_harness(stall_report_seconds=0.2)
    harness.fleet.in_flight_while_blocked = tuple(f"creating Service s{i}" for i in range(7))
    waiting = _stall_event(harness)
    assert waiting["message"].endswith(
        "waiting for: creating Service s0, creating Service s1, creating Service s2, "
        "creating Service s3, creating Service s4 and 2 more"
    ), waiting["message"]
    assert waiting["data"]["in_flight"] == [f"creating Service s{i}" for i in range(7)]


def test_a_timeout_shorter_than_the_engine_budget_is_said_at_start(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = make_harness(provisioning_timeout_seconds=100)
    harness.fleet.budget = 2700
    assert not check_budget(harness.fleet, harness.settings)
    assert "at least 2700" in caplog.text
    harness.fleet.budget = 60
    assert check_budget(harness.fleet, harness.settings)
