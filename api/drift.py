"""Drift checks: each ready store is compared with its program now and then (``Fleet.check_drift``,
a ``pulumi preview --refresh``), and what the check finds is kept in the store's row.

Run by ``api.reconciler.Reconciler`` with a slot left over after real work: at most one check per
worker at a time, under the store's lease (so no ``up`` or ``destroy`` runs beside it) and without
changing the store's status. A store's next check is due ``drift_check_seconds`` after its last one,
spread ±20% so that a fleet created at once is not checked at once. A check that finds drift sets
``drifted`` and the summary and records a ``drift`` event; with ``drift_auto_repair`` it also puts
the store back in the queue for an ``up`` that reads the cluster back first, which is what
``POST /stores/{name}/repair`` asks for (``api.services.changes.request_repair``).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from api.db import transaction
from api.fleet import FleetProtocol
from api.metrics import Metrics
from api.models import Desired, Status, Store
from api.reconciler_results import Job, next_drift_check, rowcount
from api.services.changes import request_repair
from api.services.events import record_event
from api.settings import Settings
from stacks.errors import FleetError
from stacks.types import Drift

log = logging.getLogger("storestack.reconciler")


class DriftChecks:
    """Claims, runs and records the drift checks of one worker."""

    def __init__(
        self,
        *,
        engine: Engine,
        fleet: FleetProtocol,
        settings: Settings,
        metrics: Metrics,
        worker_id: str,
    ) -> None:
        self._engine = engine
        self._fleet = fleet
        self._settings = settings
        self._metrics = metrics
        self.worker_id = worker_id

    def _due(self, now: dt.datetime) -> ColumnElement[bool]:
        return and_(
            col(Store.desired) == Desired.PRESENT.value,
            col(Store.status) == Status.READY.value,
            col(Store.drift_due_at) <= now,
            or_(col(Store.lease_owner).is_(None), col(Store.lease_expires_at) < now),
        )

    def schedule_unscheduled(self, now: dt.datetime) -> None:
        """Give ready stores without a due time (made ready before checks were on) one, spread."""
        if self._settings.drift_check_seconds <= 0:
            return
        with transaction(self._engine) as session:
            rows = session.exec(
                select(Store).where(
                    col(Store.status) == Status.READY.value, col(Store.drift_due_at).is_(None)
                )
            ).all()
            for store in rows:
                spread = random.uniform(0, self._settings.drift_check_seconds)  # noqa: S311
                store.drift_due_at = now + dt.timedelta(seconds=spread)
                session.add(store)

    def claim(self, now: dt.datetime, busy: list[int]) -> Job | None:
        """Lease one store whose check is due, or return None."""
        if self._settings.drift_check_seconds <= 0:
            return None
        with transaction(self._engine) as session:
            query = select(Store.id).where(self._due(now))
            if busy:
                query = query.where(col(Store.id).not_in(busy))
            candidates = session.exec(query.order_by(col(Store.drift_due_at)).limit(5)).all()
        lease_until = now + dt.timedelta(seconds=self._settings.lease_seconds)
        for store_id in candidates:
            with transaction(self._engine) as session:
                result = session.execute(
                    update(Store)
                    .where(col(Store.id) == store_id, self._due(now))
                    .values(lease_owner=self.worker_id, lease_expires_at=lease_until)
                    .execution_options(synchronize_session=False)
                )
                if rowcount(result) != 1:
                    continue
                store = session.exec(
                    select(Store).where(col(Store.id) == store_id).execution_options(populate_existing=True)
                ).one()
                assert store.id is not None
                log.info("claimed store %s for a drift check", store.name)
                return Job(
                    store_id=store.id,
                    name=store.name,
                    generation=store.generation,
                    operation="check",
                    spec=None,
                    attempt=1,
                    started_at=now,
                )
        return None

    def run(self, job: Job, clock: Callable[[], dt.datetime]) -> None:
        """Run the check and record what it found (or that it failed); a check cancelled because
        the store changed meanwhile, or timed out, only gives the lease back."""
        try:
            drift = self._fleet.check_drift(job.name)
        except FleetError as exc:
            if job.abandoned:
                self.release(job, clock())
                return
            self._metrics.drift_checks.labels(result="error").inc()
            self._record(job, None, f"drift check failed ({exc.code}): {exc.message}", clock())
            return
        self._metrics.drift_checks.labels(result="drift" if drift.drifted else "clean").inc()
        self._record(job, drift, None, clock())

    def release(self, job: Job, now: dt.datetime) -> None:
        """Give the lease back without a result (the check was cancelled or timed out)."""
        with transaction(self._engine) as session:
            session.execute(
                update(Store)
                .where(col(Store.id) == job.store_id, col(Store.lease_owner) == self.worker_id)
                .values(
                    lease_owner=None,
                    lease_expires_at=None,
                    drift_due_at=next_drift_check(now, self._settings),
                )
                .execution_options(synchronize_session=False)
            )

    def _record(self, job: Job, drift: Drift | None, error: str | None, now: dt.datetime) -> None:
        with transaction(self._engine) as session:
            store = session.exec(select(Store).where(col(Store.id) == job.store_id).with_for_update()).one()
            if store.lease_owner != self.worker_id:
                return  # lost the lease: another worker has the store now
            store.lease_owner, store.lease_expires_at = None, None
            store.drift_due_at = next_drift_check(now, self._settings)
            current = store.generation == job.generation and store.status == Status.READY.value
            if drift is None or not current:  # failed, or the store changed meanwhile: no finding
                if error:
                    log.warning("store %s: %s", job.name, error)
                    failed: dict[str, object] = {"error": True}
                    record_event(
                        session, store, kind="drift", message=error, actor=self.worker_id, data=failed
                    )
                    store.drift_requested = False
                session.add(store)
                return
            first = store.drift_checked_at is None
            store.drift_checked_at = now
            summary = drift.summary() if drift.drifted else None
            changed = summary != store.drift_summary or drift.drifted != store.drifted
            if changed or first or store.drift_requested:  # else a routine check that found the same
                message = f"drift found: {summary}" if drift.drifted else "no drift"
                data = {
                    "drifted": drift.drifted,
                    "summary": summary,
                    "changes": drift.changes,
                    "resources": drift.resources,
                }
                record_event(session, store, kind="drift", message=message, actor=self.worker_id, data=data)
                log.info("store %s: %s", job.name, message)
            store.drifted, store.drift_summary, store.drift_requested = drift.drifted, summary, False
            session.add(store)
            if drift.drifted and self._settings.drift_auto_repair:
                request_repair(session, store, actor=self.worker_id, now=now, automatic=True)
