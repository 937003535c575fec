"""What the reconciler writes when an operation of its worker reports: progress, ready, deleted,
failed (a retry, an outage that is not an attempt, or final); each write is conditional on the
job still holding the store's lease at the same generation. Used by ``api.reconciler``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, cast

from sqlalchemy import and_, case, or_, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from api.db import transaction
from api.metrics import Metrics
from api.models import BackupJob, BackupState, Desired, Status, Store
from api.services import hosts
from api.services.events import record_event_by_id
from api.settings import Settings
from stacks.types import BASE_REVISION, Progress, Revision, StoreInfo, StoreSpec

log = logging.getLogger("storestack.reconciler")

# check: a drift check (``api.drift``); backup, restore: ``api.backup_jobs``
Operation = Literal["up", "destroy", "check", "backup", "restore"]
MAX_MESSAGE = 2000


def rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


@dataclasses.dataclass
class Job:
    """One claimed store and the operation running for it."""

    store_id: int
    name: str
    generation: int
    operation: Operation
    spec: StoreSpec | None
    attempt: int
    started_at: dt.datetime  # when the first attempt of this operation began (for the timeout)
    refresh: bool = False  # an earlier try failed or was interrupted: read the cluster back first
    revision: Revision = BASE_REVISION  # the environment revision an up builds the store from
    renewed_at: float = dataclasses.field(default_factory=time.monotonic)
    finished: threading.Event = dataclasses.field(default_factory=threading.Event)
    abandoned: bool = False  # lease lost or timed out: the thread's results are ignored
    settled: bool = False  # the engine call returned: the thread is writing its result
    last_step: str = "starting"
    in_flight: tuple[str, ...] = ()  # the engine's resources started and not finished, as last known
    last_step_at: float = dataclasses.field(default_factory=time.monotonic)
    stall_reported_at: float = 0.0
    thread: threading.Thread | None = None
    backup_job: int | None = None  # the ``backup_jobs`` row a backup or restore works on


def stall_message(waited: float, job: Job) -> str:
    """What a quiet operation waits for: the resources it started and has not finished (each in its
    last known state, at most five named), else the last step it reported."""
    head = f"still at work: no engine step for {waited:.0f}s; "
    if not job.in_flight:
        return head + f"the last one was: {job.last_step}"
    named = ", ".join(job.in_flight[:5])
    more = len(job.in_flight) - 5
    return head + f"waiting for: {named}" + (f" and {more} more" if more > 0 else "")


def needs_work() -> ColumnElement[bool]:
    """Stores whose status is behind their desired state."""
    return or_(
        and_(
            col(Store.desired) == Desired.PRESENT.value,
            col(Store.status).in_([Status.PENDING.value, Status.PROVISIONING.value]),
        ),
        and_(col(Store.desired) == Desired.ABSENT.value, col(Store.status) == Status.DELETING.value),
    )


def next_drift_check(now: dt.datetime, settings: Settings) -> dt.datetime | None:
    """When a store checked for drift (or made ready) at ``now`` is checked next, spread ±20% so a
    fleet made at once is not checked at once; None when checks are off."""
    if settings.drift_check_seconds <= 0:
        return None
    seconds = settings.drift_check_seconds * random.uniform(0.8, 1.2)  # noqa: S311
    return now + dt.timedelta(seconds=seconds)


class Results:
    """The store-row writes of one worker's jobs."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        metrics: Metrics,
        worker_id: str,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._metrics = metrics
        self.worker_id = worker_id
        self._clock = clock

    def held(self, job: Job) -> ColumnElement[bool]:
        """The store row as this job claimed it: our lease and the same generation."""
        return and_(
            col(Store.id) == job.store_id,
            col(Store.lease_owner) == self.worker_id,
            col(Store.generation) == job.generation,
        )

    def progress(self, job: Job, progress: Progress) -> None:
        if job.abandoned:
            return
        step = progress.step[:500]
        job.last_step, job.last_step_at = step, time.monotonic()
        job.in_flight = progress.in_flight
        try:
            with transaction(self._engine) as session:
                result = session.execute(
                    update(Store)
                    .where(self.held(job))
                    .values(
                        progress_done=progress.done,
                        progress_total=progress.total,
                        progress_step=step,
                        updated_at=self._clock(),
                    )
                    .execution_options(synchronize_session=False)
                )
                if rowcount(result) == 1:
                    record_event_by_id(
                        session,
                        store_id=job.store_id,
                        store_name=job.name,
                        kind="progress",
                        message=step,
                        actor=self.worker_id,
                        data={
                            "operation": progress.operation,
                            "done": progress.done,
                            "total": progress.total,
                            "step": step,
                        },
                    )
        except Exception as exc:  # never break the fleet operation over a progress write
            log.warning("store %s: progress not recorded (%s)", job.name, type(exc).__name__)

    def release_values(self) -> dict[str, Any]:
        return {"lease_owner": None, "lease_expires_at": None, "updated_at": self._clock()}

    def finish_up(self, job: Job, info: StoreInfo) -> None:
        now = self._clock()
        suspended = job.spec is not None and job.spec.suspended
        status = Status.SUSPENDED if suspended else Status.READY
        with transaction(self._engine) as session:
            if not suspended and cloning(session, job.store_id):
                status = Status.RESTORING  # ready once the clone's data is in (api.backup_jobs)
            result = session.execute(
                update(Store)
                .where(self.held(job))
                .values(
                    status=status.value,
                    ready_at=now,
                    url=info.url or None,
                    admin_url=info.admin_url or None,
                    namespace=info.namespace or None,
                    next_attempt_at=None,
                    operation_started_at=None,
                    last_error_code=None,
                    last_error_message=None,
                    progress_done=case(
                        (col(Store.progress_total) > col(Store.progress_done), col(Store.progress_total)),
                        else_=col(Store.progress_done),
                    ),
                    progress_step="ready",
                    drifted=False,  # the up converged every object: what a check found is repaired
                    drift_summary=None,
                    refresh_requested=False,
                    drift_due_at=next_drift_check(now, self._settings),
                    applied_revision=job.revision.number,
                    **self.release_values(),
                )
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                self.release(session, job)
                return
            record_event_by_id(
                session,
                store_id=job.store_id,
                store_name=job.name,
                kind="status",
                message=(
                    "suspended: no pod runs; the volumes and credentials are kept"
                    if suspended
                    else "provisioned: the clone's data is restored next"
                    if status == Status.RESTORING
                    else f"ready: {info.url}"
                    if info.url
                    else "ready"
                ),
                actor=self.worker_id,
                data={
                    "status": status.value,
                    "url": info.url,
                    "admin_url": info.admin_url,
                    "revision": job.revision.number,
                },
            )
        self._metrics.operations.labels(operation="up", result="success").inc()
        self._metrics.provisioning_seconds.observe(max(0.0, (now - job.started_at).total_seconds()))
        log.info("store %s is %s", job.name, status.value)

    def finish_destroy(self, job: Job) -> None:
        now = self._clock()
        with transaction(self._engine) as session:
            result = session.execute(
                update(Store)
                .where(self.held(job))
                .values(
                    status=Status.DELETED.value,
                    active_name=None,
                    deleted_at=now,
                    next_attempt_at=None,
                    operation_started_at=None,
                    last_error_code=None,
                    last_error_message=None,
                    progress_step="deleted",
                    **self.release_values(),
                )
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                self.release(session, job)
                return
            hosts.release(session, job.store_id)  # its custom domains may be another store's now
            record_event_by_id(
                session,
                store_id=job.store_id,
                store_name=job.name,
                kind="status",
                message="deleted",
                actor=self.worker_id,
                data={"status": Status.DELETED.value},
            )
        self._metrics.operations.labels(operation="destroy", result="success").inc()
        self._metrics.deletion_seconds.observe(max(0.0, (now - job.started_at).total_seconds()))
        log.info("store %s is deleted", job.name)

    def release(self, session: Any, job: Job) -> None:
        """Give the lease back after a result that no longer applies (the store's intent changed)."""
        session.execute(
            update(Store)
            .where(col(Store.id) == job.store_id, col(Store.lease_owner) == self.worker_id)
            .values(next_attempt_at=None, **self.release_values())
            .execution_options(synchronize_session=False)
        )
        log.info("store %s changed while %s ran; result dropped, lease released", job.name, job.operation)

    def fail(
        self, job: Job, *, code: str, message: str, temporary: bool, outage: bool, final: bool, delay: float
    ) -> None:
        """Record a failed try: final (status failed), an outage (not an attempt) or a retry."""
        if job.abandoned:
            return
        now = self._clock()
        message = message[:MAX_MESSAGE]
        values: dict[str, Any] = {
            "last_error_code": code[:64],
            "last_error_message": message,
            **self.release_values(),
        }
        if outage:
            values.update(attempts=col(Store.attempts) - 1, next_attempt_at=now + dt.timedelta(seconds=delay))
        elif final:
            values.update(status=Status.FAILED.value, next_attempt_at=None, operation_started_at=None)
        else:
            values.update(next_attempt_at=now + dt.timedelta(seconds=delay))
        with transaction(self._engine) as session:
            result = session.execute(
                update(Store)
                .where(self.held(job))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                self.release(session, job)
                return
            kind, text, data = self._failure_event(job, code, message, temporary, outage, final, delay)
            record_event_by_id(
                session,
                store_id=job.store_id,
                store_name=job.name,
                kind=kind,
                message=text,
                actor=self.worker_id,
                data=data,
            )
        self._metrics.failures.labels(operation=job.operation, reason=code).inc()
        result_label = "failed" if final else "outage" if outage else "retry"
        self._metrics.operations.labels(operation=job.operation, result=result_label).inc()
        log.warning(
            "store %s: %s attempt %d failed (%s)%s",
            job.name,
            job.operation,
            job.attempt,
            code,
            "" if final else f"; retrying in {delay:.1f}s",
        )

    def _failure_event(
        self, job: Job, code: str, message: str, temporary: bool, outage: bool, final: bool, delay: float
    ) -> tuple[str, str, dict[str, Any]]:
        """The event of a failed try: its kind, message and data."""
        if final:
            reason = "permanent" if not temporary else f"gave up after {job.attempt} attempts"
            data: dict[str, Any] = {"status": Status.FAILED.value, "code": code, "temporary": temporary}
            return "status", f"failed ({code}, {reason}): {message}", data
        if outage:
            text = (
                f"the cluster stopped answering during the {job.operation} ({code}): {message}; "
                "not counted as an attempt, waiting for the cluster"
            )
            return "error", text, {"code": code, "attempt": job.attempt, "outage": True}
        text = (
            f"attempt {job.attempt} of {self._settings.max_attempts} failed ({code}): "
            f"{message}; retrying in {delay:.1f}s"
        )
        return "error", text, {"code": code, "attempt": job.attempt, "retry_in": round(delay, 3)}


def cloning(session: Session, store_id: int) -> bool:
    """Whether the store is a clone whose restore has not run yet."""
    return (
        session.exec(
            select(BackupJob.id).where(
                col(BackupJob.store_id) == store_id,
                col(BackupJob.kind) == "clone",
                col(BackupJob.state).in_([BackupState.QUEUED.value, BackupState.RUNNING.value]),
            )
        ).first()
        is not None
    )
