"""The reconciler: the worker loop that makes every store's actual state match its desired state.

Run in the background of ``storestack serve`` (see ``api.app``) or alone by ``storestack worker``;
several processes may share one database. Each loop tick it

1. claims stores whose desired state differs from their status with a lease in the SQL row: an atomic
   ``UPDATE stores ... WHERE id = ? AND (lease_owner IS NULL OR lease_expires_at < now)`` whose row
   count says whether this worker won (race-free on SQLite and PostgreSQL);
2. runs ``fleet.up`` / ``fleet.destroy`` for it in a worker thread (at most ``worker_concurrency``),
   writing progress and events as the fleet reports them;
3. renews the leases of running operations, and fails operations past the provisioning timeout;
4. asks for the deletion of stores whose ``expires_at`` has passed (``api.expiry``), and advances
   the active rollout (``api.rollouts``: moves a wave's stores to the target revision, or back);
5. with a slot left over, runs one due drift check (``api.drift``) and one backup or restore
   (``api.backup_jobs``, which also queues the scheduled backups).

A crashed worker stops renewing; its leases expire and another worker resumes the stores (``up`` is
idempotent). Failures are classified by ``FleetError.temporary``: temporary ones are retried with
exponential backoff up to ``max_attempts``, permanent ones fail the store at once with their reason.
While the cluster's API server does not answer (asked through ``fleet.cluster_reachable`` at most
every ``cluster_check_seconds``), nothing is claimed and the waiting stores say so; an operation
that fails while the cluster is away does not count as an attempt. Every retry refreshes the
stack's state from the cluster first, so objects that vanished meanwhile are created again.
Every result write (``api.reconciler_results``) is conditional on still holding the lease and on
the store's ``generation`` (bumped by delete and retry), so a stale worker can never overwrite newer
intent. ``api.cluster_watch`` tells whether the cluster answers; ``api.reconciler_watch`` watches
the running operations' leases, time limits and stalls.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable

from sqlalchemy import and_, case, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from api.backup_jobs import BackupJobs, backup_policy
from api.budget import check_budget
from api.cluster_watch import ClusterWatch
from api.db import transaction, utcnow
from api.drift import DriftChecks
from api.errors import where
from api.expiry import expire_due
from api.fleet import FleetProtocol
from api.leases import default_worker_id, release_dead_leases
from api.metrics import Metrics
from api.models import Desired, Status, Store
from api.reconciler_results import Job, Operation, Results, needs_work, rowcount
from api.reconciler_watch import JobWatch
from api.revisions import load_revision
from api.rollouts import Rollouts
from api.services.events import record_event_by_id
from api.settings import Settings
from stacks.errors import FleetError
from stacks.types import BASE_REVISION, StoreSpec

log = logging.getLogger("storestack.reconciler")
BACKUP_SCHEDULE_INTERVAL = 30.0  # seconds between looks for stores whose scheduled backup is due


class Reconciler:
    """Claims stores with a lease and drives the fleet towards their desired state."""

    def __init__(
        self,
        *,
        engine: Engine,
        fleet: FleetProtocol,
        settings: Settings,
        metrics: Metrics | None = None,
        worker_id: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._fleet = fleet
        self._settings = settings
        self._metrics = metrics or Metrics()
        self.worker_id = worker_id or settings.worker_id or default_worker_id()
        self._clock = clock
        self._jobs: dict[int, Job] = {}
        self._jobs_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self.results = Results(
            engine=engine, settings=settings, metrics=self._metrics, worker_id=self.worker_id, clock=clock
        )
        self.drift = DriftChecks(
            engine=engine, fleet=fleet, settings=settings, metrics=self._metrics, worker_id=self.worker_id
        )
        self.rollouts = Rollouts(engine=engine, metrics=self._metrics, worker_id=self.worker_id, clock=clock)
        self.backups = BackupJobs(
            engine=engine,
            fleet=fleet,
            settings=settings,
            metrics=self._metrics,
            worker_id=self.worker_id,
            policy=backup_policy(settings),
        )
        self._backups_scheduled_at = 0.0
        self._drift_scheduled = False  # ready stores without a due time got one (once per process)
        self.cluster = ClusterWatch(
            engine=engine, fleet=fleet, settings=settings, worker_id=self.worker_id, needs_work=needs_work
        )
        self.watch = JobWatch(
            engine=engine,
            fleet=fleet,
            settings=settings,
            worker_id=self.worker_id,
            clock=clock,
            running=self.running,
            fail=self._fail_safely,
        )

    # -- loop ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in a background thread until ``stop``."""
        if self._loop is not None:
            return
        check_budget(self._fleet, self._settings)
        self._stop.clear()
        self._loop = threading.Thread(target=self.run, name="storestack-reconciler", daemon=True)
        self._loop.start()
        log.info("reconciler %s started (concurrency %d)", self.worker_id, self._settings.worker_concurrency)

    def stop(self, *, grace: float | None = None) -> None:
        """Stop claiming; wait up to ``grace`` seconds for running operations (their leases expire)."""
        self._stop.set()
        self._wake.set()
        if self._loop is not None:
            self._loop.join(timeout=30)
            self._loop = None
        deadline = time.monotonic() + (self._settings.shutdown_grace_seconds if grace is None else grace)
        for job in self.running():
            job.finished.wait(timeout=max(0.0, deadline - time.monotonic()))
        self._reap()  # finished jobs the stopped loop did not get to
        left = [job.name for job in self.running() if not job.finished.is_set()]
        if left:
            log.warning("reconciler stopped with operations still running for %s", ", ".join(left))
        log.info("reconciler %s stopped", self.worker_id)

    def run(self) -> None:
        """Tick until stopped; errors of one tick are logged and the loop goes on."""
        while not self._stop.is_set():
            try:
                self.tick()
            except SQLAlchemyError as exc:
                # the driver's own message (no SQL parameters): "database is locked", "connection refused"
                log.error(
                    "reconciler tick failed: %s: %s", type(exc).__name__, str(exc.__cause__ or exc)[:300]
                )
            except Exception as exc:
                log.error("reconciler tick failed: %s", where(exc))
            self._wake.wait(self._settings.poll_interval_seconds)
            self._wake.clear()

    def wake(self) -> None:
        """Tick now (the API calls this after recording new desired state)."""
        self._wake.set()

    def running(self) -> list[Job]:
        with self._jobs_lock:
            return list(self._jobs.values())

    def tick(self) -> int:
        """One round: reap, renew leases, enforce timeouts, claim and launch; returns claims made."""
        self._reap()
        self.watch.sweep()
        claimed = 0
        if not self.cluster.ok():
            return claimed  # hold all work until the API server answers again
        release_dead_leases(self._engine, me=self.worker_id, now=self._clock())
        self._metrics.expired.inc(len(expire_due(self._engine, now=self._clock(), actor=self.worker_id)))
        self.rollouts.advance()  # may queue stores (a wave's moves, a rollback): before claiming
        while not self._stop.is_set() and len(self.running()) < self._settings.worker_concurrency:
            job = self.claim()
            if job is None:
                break
            claimed += 1
            self._launch(job)
        if self._claim_drift_check():
            claimed += 1
        if self._claim_backup_job():
            claimed += 1
        return claimed

    def _claim_backup_job(self) -> bool:
        """With a slot left, start one backup or restore (at most one per worker at a time)."""
        running = self.running()
        if self._stop.is_set() or len(running) >= self._settings.worker_concurrency:
            return False
        if any(job.operation in ("backup", "restore") for job in running):
            return False
        now = self._clock()
        if time.monotonic() - self._backups_scheduled_at >= BACKUP_SCHEDULE_INTERVAL:
            self._backups_scheduled_at = time.monotonic()
            self.backups.schedule(now)
        job = self.backups.claim(now, [job.store_id for job in running])
        if job is None:
            return False
        self._launch(job)
        return True

    def _claim_drift_check(self) -> bool:
        """With a slot left after real work, start one drift check (at most one per worker)."""
        running = self.running()
        if self._stop.is_set() or len(running) >= self._settings.worker_concurrency:
            return False
        if any(job.operation == "check" for job in running):
            return False
        now = self._clock()
        if not self._drift_scheduled:  # every later ready store gets its due time from finish_up
            self.drift.schedule_unscheduled(now)
            self._drift_scheduled = True
        job = self.drift.claim(now, [job.store_id for job in running])
        if job is None:
            return False
        self._launch(job)
        return True

    def run_until_idle(self, *, timeout: float = 30.0, interval: float = 0.02) -> bool:
        """Tick until nothing runs and nothing is claimable now (tests and one-shot runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            claimed = self.tick()
            if not claimed and not self.running():
                return True
            time.sleep(interval)
        return False

    # -- claiming -----------------------------------------------------------------------------

    def _claimable(self, now: dt.datetime) -> ColumnElement[bool]:
        return and_(
            needs_work(),
            or_(
                col(Store.lease_owner).is_(None),
                col(Store.lease_expires_at) < now,
                col(Store.lease_owner) == self.worker_id,  # ours from before a restart: stale
            ),
            or_(col(Store.next_attempt_at).is_(None), col(Store.next_attempt_at) <= now),
        )

    def claim(self) -> Job | None:
        """Take the lease of one store that needs work, or return None."""
        now = self._clock()
        busy = [job.store_id for job in self.running()]
        with transaction(self._engine) as session:
            query = select(Store.id).where(self._claimable(now))
            if busy:
                query = query.where(col(Store.id).not_in(busy))
            candidates = session.exec(
                query.order_by(func.coalesce(Store.next_attempt_at, Store.created_at), col(Store.id)).limit(
                    10
                )
            ).all()
        for store_id in candidates:
            assert store_id is not None
            job = self._try_claim(store_id, now)
            if job is not None:
                return job
        return None

    def _try_claim(self, store_id: int, now: dt.datetime) -> Job | None:
        lease_until = now + dt.timedelta(seconds=self._settings.lease_seconds)
        with transaction(self._engine) as session:
            result = session.execute(
                update(Store)
                .where(col(Store.id) == store_id, self._claimable(now))
                .values(
                    lease_owner=self.worker_id,
                    lease_expires_at=lease_until,
                    attempts=col(Store.attempts) + 1,
                    status=case(
                        (col(Store.desired) == Desired.PRESENT.value, Status.PROVISIONING.value),
                        else_=Status.DELETING.value,
                    ),
                    operation_started_at=func.coalesce(Store.operation_started_at, now),
                    next_attempt_at=None,
                    progress_done=0,
                    progress_total=0,
                    progress_step="starting",
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                return None  # another worker won the race
            store = session.exec(
                select(Store).where(col(Store.id) == store_id).execution_options(populate_existing=True)
            ).one()
            operation: Operation = "up" if store.desired == Desired.PRESENT.value else "destroy"
            spec = StoreSpec.model_validate_json(store.spec_json) if operation == "up" else None
            revision = load_revision(session, store.revision) if operation == "up" else BASE_REVISION
            started = store.operation_started_at or now
            verb = "provisioning" if operation == "up" else "deleting"
            record_event_by_id(
                session,
                store_id=store_id,
                store_name=store.name,
                kind="status",
                message=f"{verb}: attempt {store.attempts} of {self._settings.max_attempts}",
                actor=self.worker_id,
                data={"status": store.status, "attempt": store.attempts, "worker": self.worker_id},
            )
            job = Job(
                store_id=store_id,
                name=store.name,
                generation=store.generation,
                operation=operation,
                spec=spec,
                attempt=store.attempts,
                started_at=started,
                revision=revision,
                refresh=(
                    store.attempts > 1
                    or store.last_error_code is not None
                    or store.refresh_requested  # a repair
                    or store.drifted
                ),
            )
        log.info("claimed store %s for %s (attempt %d)", job.name, job.operation, job.attempt)
        return job

    # -- running ------------------------------------------------------------------------------

    def _launch(self, job: Job) -> None:
        with self._jobs_lock:
            self._jobs[job.store_id] = job
        if self.watch.timed_out(job, self._clock()):
            self.watch.time_out(job)
            job.finished.set()
            return
        job.thread = threading.Thread(
            target=self._execute, args=(job,), name=f"storestack-{job.operation}-{job.name}", daemon=True
        )
        job.thread.start()

    def _execute(self, job: Job) -> None:
        if job.operation == "check":
            self._check(job)
            return
        if job.operation in ("backup", "restore"):
            try:
                self.backups.run(job, self._clock)
            finally:
                job.finished.set()
                self._wake.set()
            return
        try:
            if job.operation == "up":
                assert job.spec is not None
                info = self._fleet.up(
                    job.spec,
                    on_progress=lambda p: self.results.progress(job, p),
                    refresh=job.refresh,
                    revision=job.revision,
                )
                job.settled = True
                self.results.finish_up(job, info)
            else:
                self._fleet.destroy(job.name, on_progress=lambda p: self.results.progress(job, p))
                self.backups.on_destroyed(job, self._clock())
                job.settled = True
                self.results.finish_destroy(job)
        except FleetError as exc:
            job.settled = True
            self._fail_safely(job, code=exc.code, message=exc.message, temporary=exc.temporary)
        except Exception as exc:
            job.settled = True
            # Not a FleetError: a bug or an untranslated error. Its text may hold anything, so only
            # its type is recorded; retried like a temporary failure.
            log.error("store %s: unexpected error during %s: %s", job.name, job.operation, where(exc))
            self._fail_safely(
                job,
                code="internal_error",
                message=f"unexpected error in the worker ({type(exc).__name__})",
                temporary=True,
            )
        finally:
            job.finished.set()
            self._wake.set()

    def _check(self, job: Job) -> None:
        try:
            self.drift.run(job, self._clock)
        except Exception as exc:
            log.error("store %s: drift check failed: %s", job.name, where(exc))
            self.drift.release(job, self._clock())
        finally:
            job.settled = True
            job.finished.set()
            self._wake.set()

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1``: exponential with 10% jitter, capped."""
        base = self._settings.backoff_base_seconds * float(2 ** max(0, attempt - 1))
        return min(self._settings.backoff_max_seconds, base) * random.uniform(0.9, 1.1)  # noqa: S311

    def _fail_safely(self, job: Job, *, code: str, message: str, temporary: bool) -> None:
        try:
            # The cluster went away under the operation: not the store's fault, so not an attempt.
            outage = temporary and not job.abandoned and not self.cluster.ok(fresh=True)
            final = not outage and (not temporary or job.attempt >= self._settings.max_attempts)
            delay = 0.0 if final else self.backoff(1 if outage else job.attempt)
            self.results.fail(
                job, code=code, message=message, temporary=temporary, outage=outage, final=final, delay=delay
            )
        except Exception as exc:  # the lease will expire and the operation will run again
            log.error("store %s: failure not recorded (%s)", job.name, type(exc).__name__)

    # -- housekeeping --------------------------------------------------------------------------

    def _reap(self) -> None:
        with self._jobs_lock:
            for store_id in [sid for sid, job in self._jobs.items() if job.finished.is_set()]:
                del self._jobs[store_id]
