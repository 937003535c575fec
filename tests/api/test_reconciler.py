"""The reconciler: failure classification, backoff, retry, leases, timeouts, concurrency."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import subprocess
import threading
import time

import pytest
from sqlmodel import col, select

from api import leases
from api.db import transaction, utcnow
from api.models import Store
from api.reconciler import Reconciler
from stacks.errors import ClusterUnreachableError, InvalidSpecError, OperationFailedError
from stacks.processes import start_time
from tests.api.conftest import Harness, MakeHarness
from tests.api.fakes import FakeFleet


def _row(harness: Harness, name: str) -> Store:
    with transaction(harness.engine) as session:
        store = session.exec(select(Store).where(Store.name == name).order_by(col(Store.id).desc())).first()
        assert store is not None
        return store


def test_temporary_error_is_retried_with_backoff_then_fails_after_the_limit(harness: Harness) -> None:
    harness.fleet.fail_always("flaky", "up", ClusterUnreachableError("the API server did not answer"))
    harness.create("flaky")
    harness.reconcile()
    store = harness.store("flaky")
    assert store["status"] == "failed"
    assert store["attempts"] == 3  # max_attempts
    assert store["last_error"] == {"code": "cluster_unreachable", "message": "the API server did not answer"}
    assert harness.fleet.count("up", "flaky") == 3
    events = harness.events("flaky")
    retries = [e for e in events if e["kind"] == "error"]
    assert len(retries) == 2
    assert all(e["data"]["code"] == "cluster_unreachable" for e in retries)
    assert all(e["data"]["retry_in"] > 0 for e in retries)
    failed = [e for e in events if e["kind"] == "status" and e["data"]["status"] == "failed"]
    assert len(failed) == 1
    assert "gave up after 3 attempts" in failed[0]["message"]


def test_backoff_grows_and_is_capped(make_harness: MakeHarness) -> None:
    harness = make_harness(backoff_base_seconds=2.0, backoff_max_seconds=10.0)
    reconciler = harness.reconciler()
    delays = [reconciler.backoff(n) for n in (1, 2, 3, 4, 5)]
    assert 1.8 <= delays[0] <= 2.2
    assert 3.6 <= delays[1] <= 4.4
    assert 7.2 <= delays[2] <= 8.8
    assert all(d <= 11.0 for d in delays[3:])


def test_temporary_error_waits_for_next_attempt_at(make_harness: MakeHarness) -> None:
    harness = make_harness(backoff_base_seconds=60.0, backoff_max_seconds=60.0)
    harness.fleet.fail("later", "up", ClusterUnreachableError("down"))
    harness.create("later")
    reconciler = harness.reconciler()
    assert reconciler.run_until_idle(timeout=10)
    row = _row(harness, "later")
    assert row.status == "provisioning"
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow() + dt.timedelta(seconds=50)
    assert row.lease_owner is None
    assert harness.store("later")["last_error"]["code"] == "cluster_unreachable"
    assert reconciler.tick() == 0  # not before its time
    with transaction(harness.engine) as session:
        session.get(Store, row.id).next_attempt_at = utcnow() - dt.timedelta(seconds=1)  # type: ignore[union-attr]
    assert reconciler.run_until_idle(timeout=10)
    assert harness.store("later")["status"] == "ready"
    assert harness.store("later")["attempts"] == 2
    assert harness.store("later")["last_error"] is None


def test_permanent_error_fails_at_once_with_its_reason(harness: Harness) -> None:
    harness.fleet.fail("broken", "up", InvalidSpecError("image wordpress:9.9 does not exist"))
    harness.create("broken")
    harness.reconcile()
    store = harness.store("broken")
    assert store["status"] == "failed"
    assert store["attempts"] == 1
    assert store["last_error"] == {"code": "invalid_spec", "message": "image wordpress:9.9 does not exist"}
    assert harness.fleet.count("up", "broken") == 1
    failed = [
        e for e in harness.events("broken") if e["kind"] == "status" and e["data"]["status"] == "failed"
    ]
    assert "permanent" in failed[0]["message"]
    assert "image wordpress:9.9 does not exist" in failed[0]["message"]


def test_operation_failed_error_reason_is_the_code(harness: Harness) -> None:
    harness.fleet.fail(
        "quota", "up", OperationFailedError("quota exceeded in namespace", temporary=False, reason="quota")
    )
    harness.create("quota")
    harness.reconcile()
    assert harness.store("quota")["last_error"]["code"] == "quota"


def test_unexpected_exception_is_retried_and_its_text_is_not_shown(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness.fleet.fail("oops-shop", "up", RuntimeError("password=hunter2"))
    harness.create("oops-shop")
    harness.reconcile()
    store = harness.store("oops-shop")
    assert store["status"] == "ready"
    error_events = [e for e in harness.events("oops-shop") if e["kind"] == "error"]
    assert error_events[0]["data"]["code"] == "internal_error"
    assert "hunter2" not in str(harness.events("oops-shop"))
    assert "RuntimeError (message withheld)" in caplog.text
    assert "fakes.py" in caplog.text  # where it happened is logged
    assert "hunter2" not in caplog.text


def test_retry_of_a_failed_store(harness: Harness) -> None:
    harness.fleet.fail("again", "up", InvalidSpecError("bad"))
    harness.create("again")
    harness.reconcile()
    assert harness.store("again")["status"] == "failed"
    response = harness.client.post("/api/v1/stores/again/retry", headers=harness.alice)
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.headers["location"] == "/api/v1/stores/again"
    harness.reconcile()
    store = harness.store("again")
    assert store["status"] == "ready"
    assert store["attempts"] == 1
    kinds = [e["kind"] for e in harness.events("again")]
    assert "retry_requested" in kinds
    retried = [e for e in harness.events("again") if e["kind"] == "retry_requested"]
    assert retried[0]["actor"] == "alice"


def test_retry_of_a_failed_deletion_deletes(harness: Harness) -> None:
    harness.fleet.fail("stuck", "destroy", InvalidSpecError("finalizer stuck"))
    harness.create("stuck")
    harness.reconcile()
    harness.client.delete("/api/v1/stores/stuck", headers=harness.alice)
    harness.reconcile()
    assert harness.store("stuck")["status"] == "failed"
    response = harness.client.post("/api/v1/stores/stuck/retry", headers=harness.alice)
    assert response.json()["status"] == "deleting"
    harness.reconcile()
    assert harness.store("stuck")["status"] == "deleted"


def test_retry_of_a_store_that_is_not_failed_is_409(harness: Harness) -> None:
    harness.create("fine")
    response = harness.client.post("/api/v1/stores/fine/retry", headers=harness.alice)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"
    harness.reconcile()
    assert harness.client.post("/api/v1/stores/fine/retry", headers=harness.alice).status_code == 409
    assert harness.client.post("/api/v1/stores/nope/retry", headers=harness.alice).status_code == 404


def test_lease_is_taken_over_after_the_owner_crashes(harness: Harness) -> None:
    gate = harness.fleet.block("orphan", "up")
    harness.create("orphan")
    crashed = harness.reconciler(worker_id="worker-a")
    assert crashed.tick() == 1  # worker-a claims and starts up, then "crashes" (never ticks again)
    row = _row(harness, "orphan")
    assert row.lease_owner == "worker-a"
    assert row.lease_expires_at is not None

    survivor_now = harness.reconciler(worker_id="worker-b")
    assert survivor_now.tick() == 0  # the lease is still valid

    lease_end = row.lease_expires_at
    later = harness.reconciler(worker_id="worker-b", clock=lambda: lease_end + dt.timedelta(seconds=1))
    assert later.run_until_idle(timeout=10)
    store = harness.store("orphan")
    assert store["status"] == "ready"
    assert store["attempts"] == 2
    attempts = [e for e in harness.events("orphan") if e["kind"] == "status" and "attempt" in e["data"]]
    assert [e["data"]["worker"] for e in attempts] == ["worker-a", "worker-b"]

    gate.set()  # the crashed worker's thread finally returns: its result must not be written
    for job in crashed.running():
        assert job.finished.wait(5)
    assert _row(harness, "orphan").lease_owner is None
    assert [e["data"]["status"] for e in harness.events("orphan") if e["kind"] == "status"].count(
        "ready"
    ) == 1


def test_claim_is_exclusive_between_workers(make_harness: MakeHarness) -> None:
    harness = make_harness(worker_concurrency=10)
    gates = [harness.fleet.block(f"many-{i}", "up") for i in range(6)]
    for i in range(6):
        harness.create(f"many-{i}", headers=harness.admin)
    workers = [harness.reconciler(worker_id=f"w{i}") for i in range(4)]
    barrier = threading.Barrier(len(workers))

    def work(worker: Reconciler) -> None:
        barrier.wait()
        for _ in range(3):
            worker.tick()

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    names = [job.name for w in workers for job in w.running()]
    assert sorted(names) == sorted(f"many-{i}" for i in range(6))  # each claimed exactly once
    for gate in gates:
        gate.set()
    for w in workers:
        assert w.run_until_idle(timeout=10)
    assert all(harness.fleet.count("up", f"many-{i}") == 1 for i in range(6))


def test_lease_is_renewed_while_working(make_harness: MakeHarness) -> None:
    # Renewal is due after lease_seconds / 3; the worker fences itself (stops its engine) once it
    # has not renewed for lease_seconds. The sleep sits between the two with a wide margin each way,
    # so a loaded machine's slow tick can neither skip the renewal nor trip the fence.
    harness = make_harness(lease_seconds=3)
    gate = harness.fleet.block("slow-shop", "up")
    harness.create("slow-shop")
    reconciler = harness.reconciler()
    reconciler.tick()
    first = _row(harness, "slow-shop").lease_expires_at
    time.sleep(1.5)
    reconciler.tick()
    second = _row(harness, "slow-shop").lease_expires_at
    assert first is not None and second is not None and second > first
    gate.set()
    assert reconciler.run_until_idle(timeout=10)
    assert harness.store("slow-shop")["status"] == "ready"


def test_a_worker_that_cannot_renew_its_lease_stops_its_engine(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fencing: once the database has not taken a renewal for lease_seconds, another worker may
    claim the store, so this one interrupts its own engine before it can write over the other's."""
    harness = make_harness(lease_seconds=1)
    harness.fleet.block("fenced", "up")
    harness.create("fenced")
    reconciler = harness.reconciler()
    reconciler.tick()
    [job] = reconciler.running()
    assert job.name == "fenced"
    job.renewed_at = time.monotonic()  # the clock below starts now, however long the tick took

    def database_away(*args: object, **kwargs: object) -> bool:
        raise ConnectionError("the database does not answer")

    monkeypatch.setattr("api.reconciler_watch.renew_lease", database_away)
    time.sleep(0.5)  # renewal due (lease_seconds / 3), and it fails
    with pytest.raises(ConnectionError):
        reconciler.tick()
    assert harness.fleet.cancelled == []  # not yet: the lease still holds
    time.sleep(0.6)  # now unrenewed for over lease_seconds
    reconciler.tick()  # fenced first; an abandoned operation asks for no renewal
    assert harness.fleet.cancelled == ["fenced"]
    monkeypatch.undo()
    assert reconciler.run_until_idle(timeout=10)


def test_a_worker_whose_lease_was_taken_stops_its_engine(make_harness: MakeHarness) -> None:
    harness = make_harness(lease_seconds=3)
    harness.fleet.block("taken", "up")
    harness.create("taken")
    reconciler = harness.reconciler()
    reconciler.tick()
    with transaction(harness.engine) as session:  # another worker took the expired lease
        row = session.exec(select(Store).where(Store.name == "taken")).one()
        row.lease_owner = "other-host:1"
    time.sleep(1.1)  # renewal due
    reconciler.tick()
    assert harness.fleet.cancelled == ["taken"]


def test_provisioning_timeout_fails_the_store(make_harness: MakeHarness) -> None:
    harness = make_harness(provisioning_timeout_seconds=0.3)
    gate = harness.fleet.block("hung", "up")
    harness.create("hung")
    reconciler = harness.reconciler()
    reconciler.tick()
    time.sleep(0.4)
    reconciler.tick()
    store = harness.store("hung")
    assert store["status"] == "failed"
    assert store["last_error"]["code"] == "timeout"
    gate.set()  # the abandoned operation ends later; nothing changes
    assert reconciler.run_until_idle(timeout=10)
    assert harness.store("hung")["status"] == "failed"


def test_concurrency_is_bounded(make_harness: MakeHarness) -> None:
    harness = make_harness(worker_concurrency=2)
    gates = [harness.fleet.block(f"queue-{i}", "up") for i in range(4)]
    for i in range(4):
        harness.create(f"queue-{i}", headers=harness.admin)
    reconciler = harness.reconciler()
    assert reconciler.tick() == 2
    assert reconciler.tick() == 0
    assert len(reconciler.running()) == 2
    for gate in gates:
        gate.set()
    assert reconciler.run_until_idle(timeout=10)
    statuses = {
        s["name"]: s["status"]
        for s in harness.client.get("/api/v1/stores", headers=harness.admin).json()["items"]
    }
    assert set(statuses.values()) == {"ready"}


def test_background_reconciler_stops_cleanly(make_harness: MakeHarness) -> None:
    harness = make_harness(start_reconciler=True, fleet=FakeFleet(step_delay=0.01))
    harness.create("bg-shop")
    harness.wait_status("bg-shop", "ready")
    ctx = harness.app.state.ctx
    assert ctx.reconciler is not None
    ctx.reconciler.stop(grace=1)
    assert ctx.reconciler.running() == []


def _local_id(pid: int, started: int | None) -> str:
    return f"{socket.gethostname()}:{pid}-{started}:{leases._boot_id()}:0000beef"


def test_leases_of_a_dead_worker_on_this_machine_are_taken_back_at_once(harness: Harness) -> None:
    gone = subprocess.Popen(["sleep", "60"])
    dead_id = _local_id(gone.pid, start_time(gone.pid))
    gone.kill()
    gone.wait()
    alive_id = _local_id(os.getpid(), start_time(os.getpid()))
    gates = [harness.fleet.block(name, "up") for name in ("of-alive", "of-dead")]
    for name, owner in (("of-alive", alive_id), ("of-dead", dead_id)):
        harness.create(name)
        assert harness.reconciler(worker_id=owner).tick() == 1  # claims, then never ticks again
    assert leases.dead_here(dead_id) and not leases.dead_here(alive_id)
    assert not leases.dead_here("worker-a") and not leases.dead_here(f"elsewhere:{gone.pid}-1:x:y")

    successor = harness.reconciler()  # a default id, as `storestack serve` gets
    assert successor.tick() == 1  # the dead worker's lease, long before it expires; not the live one's
    assert [job.name for job in successor.running()] == ["of-dead"]
    assert _row(harness, "of-alive").lease_owner == alive_id
    for gate in gates:
        gate.set()
    for job in successor.running():
        assert job.finished.wait(5)
    successor.tick()  # reap: write the result
    assert harness.store("of-dead")["status"] == "ready"
