"""Watching a worker's running operations: their leases, time limits and stalls.

Owned by ``api.reconciler.Reconciler`` (``reconciler.watch``), which calls ``JobWatch.sweep`` at
every tick and ``timed_out``/``time_out`` when it launches an operation. A sweep

- stops operations whose lease went unrenewed for ``lease_seconds`` (the database did not answer),
  before anything that needs the database;
- cancels running ``up`` operations and drift checks of stores changed or deleted meanwhile;
- records a ``waiting`` event for each operation in which no engine step happened for
  ``stall_report_seconds``;
- fails operations past ``provisioning_timeout_seconds`` and cancels their engine;
- renews the leases it still holds every third of ``lease_seconds``, and stops an operation whose
  lease another worker took.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from api.db import transaction
from api.fleet import FleetProtocol
from api.leases import renew_lease
from api.models import Desired, Store
from api.reconciler_results import Job, stall_message
from api.services.events import record_event_by_id
from api.settings import Settings

log = logging.getLogger("storestack.reconciler")


class Failer(Protocol):
    """How the watch records an operation's failure (``Reconciler._fail_safely``)."""

    def __call__(self, job: Job, *, code: str, message: str, temporary: bool) -> None: ...


class JobWatch:
    """Leases, time limits, stalls and pre-emption of one worker's running operations."""

    def __init__(
        self,
        *,
        engine: Engine,
        fleet: FleetProtocol,
        settings: Settings,
        worker_id: str,
        clock: Callable[[], dt.datetime],
        running: Callable[[], list[Job]],
        fail: Failer,
    ) -> None:
        self._engine = engine
        self._fleet = fleet
        self._settings = settings
        self.worker_id = worker_id
        self._clock = clock
        self._running = running
        self._fail = fail

    def timed_out(self, job: Job, now: dt.datetime) -> bool:
        return (now - job.started_at).total_seconds() > self._settings.provisioning_timeout_seconds

    def time_out(self, job: Job) -> None:
        if job.operation == "check":  # no result, the store's status untouched
            job.abandoned = True
            self.cancel(job, "the drift check timed out")
            return
        if job.operation in ("backup", "restore"):  # its parts have their own time limit
            job.abandoned = True
            return
        limit = self._settings.provisioning_timeout_seconds
        verb = "provisioning" if job.operation == "up" else "deletion"
        self._fail(job, code="timeout", message=f"{verb} did not finish within {limit:.0f}s", temporary=False)
        job.abandoned = True
        self.cancel(job, "it timed out")

    def cancel(self, job: Job, why: str) -> None:
        """Interrupt the job's engine operation, so its thread ends and frees the slot soon."""
        try:
            interrupted = self._fleet.cancel(job.name)
        except Exception as exc:
            log.warning("store %s: %s not cancelled (%s)", job.name, job.operation, type(exc).__name__)
            return
        if interrupted:
            log.info("store %s: %s cancelled: %s", job.name, job.operation, why)

    def _preempt_superseded(self) -> None:
        """Cancel running ``up`` operations of stores whose deletion or change was asked for meanwhile
        (the store's generation moved on), so the destroy, or the up of the new spec, starts at once
        instead of after an up whose result nobody wants."""
        ups = {
            job.store_id: job
            for job in self._running()
            if job.operation in ("up", "check") and not job.abandoned
        }
        if not ups:
            return
        with transaction(self._engine) as session:
            rows = session.exec(
                select(Store.id, Store.generation, Store.desired).where(col(Store.id).in_(list(ups)))
            ).all()
        for store_id, generation, desired in rows:
            job = ups[int(store_id or 0)]
            if generation != job.generation and job.operation == "check":
                job.abandoned = True
                self.cancel(job, "the store was changed")
            elif generation != job.generation:
                why = "deletion requested" if desired == Desired.ABSENT.value else "the store was changed"
                job.abandoned = True
                self.cancel(job, why)
                with transaction(self._engine) as session:
                    record_event_by_id(
                        session,
                        store_id=job.store_id,
                        store_name=job.name,
                        kind="status",
                        message=f"provisioning cancelled: {why}",
                        actor=self.worker_id,
                        data={"operation": "up", "cancelled": True},
                    )

    def _report_stalls(self) -> None:
        """An event for each operation in which no engine step has happened for
        ``stall_report_seconds``: what it last did, so a store in flight says what it waits for."""
        limit = self._settings.stall_report_seconds
        for job in self._running():
            quiet = time.monotonic() - max(job.last_step_at, job.stall_reported_at)
            if job.abandoned or job.settled or quiet < limit:
                continue
            job.stall_reported_at = time.monotonic()
            waited = time.monotonic() - job.last_step_at
            with transaction(self._engine) as session:
                record_event_by_id(
                    session,
                    store_id=job.store_id,
                    store_name=job.name,
                    kind="waiting",
                    message=stall_message(waited, job),
                    actor=self.worker_id,
                    data={
                        "operation": job.operation,
                        "quiet_seconds": round(waited),
                        "last_step": job.last_step,
                        "in_flight": list(job.in_flight),
                    },
                )

    def _fence(self) -> None:
        """Stop operations whose lease went unrenewed for ``lease_seconds`` (the database did not
        answer): another worker may take the store now, so this one must not work it any more."""
        for job in self._running():
            if job.abandoned or job.settled or job.finished.is_set():
                continue
            if time.monotonic() - job.renewed_at >= self._settings.lease_seconds:
                job.abandoned = True
                log.warning("store %s: lease not renewed in time; stopping the %s", job.name, job.operation)
                self.cancel(job, "its lease could not be renewed")

    def sweep(self) -> None:
        """Fence, pre-empt, report stalls, time out, and renew the leases of running operations."""
        self._fence()  # first: needs no database
        self._preempt_superseded()
        self._report_stalls()
        now = self._clock()
        interval = self._settings.lease_seconds / 3
        for job in self._running():
            if job.abandoned or job.settled or job.finished.is_set():
                continue
            if self.timed_out(job, now):
                log.warning("store %s: %s timed out; abandoning it", job.name, job.operation)
                self.time_out(job)
                continue
            if time.monotonic() - job.renewed_at < interval:
                continue
            until = now + dt.timedelta(seconds=self._settings.lease_seconds)
            if renew_lease(self._engine, store_id=job.store_id, me=self.worker_id, until=until):
                job.renewed_at = time.monotonic()
            else:
                job.abandoned = True
                log.warning(
                    "store %s: lease lost to another worker; stopping the %s", job.name, job.operation
                )
                self.cancel(job, "its lease was lost")
