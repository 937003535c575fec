"""Backups and restores of stores, run by the reconciler (``api.reconciler``) under the store's lease.

Asked by the API (``api.services.backups``: ``POST /stores/{name}/backups``, ``.../restore``, and a
clone's ``POST /stores`` with ``from_backup``) as ``backup_jobs`` rows in state ``queued``, and by the
schedule: a ready store whose ``backup_due_at`` has passed gets a scheduled backup, every
``backups.every_hours`` of the environment, after which the environment's retention prunes its old
ones. A worker with a slot left over claims the oldest queued job whose store is ready and not
leased: like a drift check it takes the store's lease (so no ``up``, ``destroy`` or other backup
runs beside it) and for a restore puts the store in ``restoring``. A job whose worker died is
claimed again once the store's lease has expired (a backup starts over; a restore loads the backup
again). The result goes to the job row, an event and the metrics; the store is ``ready`` again
afterwards, also after a failed restore (its data may then be partly the backup's, which the event
says; restoring again is the way back).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

import environments
from api.db import transaction
from api.fleet import FleetProtocol
from api.metrics import Metrics
from api.models import BackupAction, BackupJob, BackupState, Desired, Status, Store
from api.reconciler_results import MAX_MESSAGE, Job, rowcount
from api.services.events import record_event
from api.settings import Settings
from environments.operations import BackupsConfig
from stacks.errors import FleetError, OperationFailedError
from stacks.types import StoreSpec

log = logging.getLogger("storestack.reconciler")


def backup_policy(settings: Settings) -> BackupsConfig:
    """The environment's backup schedule and retention (the defaults if it cannot be read: the
    environment's own errors are reported where stores are made)."""
    try:
        return environments.load(settings.environment).backups
    except environments.EnvironmentError:
        return BackupsConfig()


class BackupJobs:
    """Claims, runs and records the backup jobs of one worker."""

    def __init__(
        self,
        *,
        engine: Engine,
        fleet: FleetProtocol,
        settings: Settings,
        metrics: Metrics,
        worker_id: str,
        policy: BackupsConfig,
    ) -> None:
        self._engine = engine
        self._fleet = fleet
        self._settings = settings
        self._metrics = metrics
        self.worker_id = worker_id
        self.policy = policy

    # -- the schedule ---------------------------------------------------------------------------

    def schedule(self, now: dt.datetime) -> int:
        """Queue a scheduled backup of each ready store whose backup is due (returns how many), and
        delete the kept backups of deleted stores whose keeping time is over."""
        if self._settings.backup_url is None:
            return 0
        self._purge_kept(now)
        if self.policy.every_hours <= 0:
            return 0
        every = dt.timedelta(hours=self.policy.every_hours)
        queued = 0
        with transaction(self._engine) as session:
            stores = session.exec(
                select(Store).where(
                    col(Store.desired) == Desired.PRESENT.value,
                    col(Store.status) == Status.READY.value,  # a suspended store's data does not change
                    or_(col(Store.backup_due_at).is_(None), col(Store.backup_due_at) <= now),
                )
            ).all()
            for store in stores:
                first = store.backup_due_at is None  # the first backup is due one period after ready
                store.backup_due_at = now + every
                session.add(store)
                if not first:
                    queue(
                        session,
                        store,
                        action=BackupAction.BACKUP,
                        kind="scheduled",
                        actor=self.worker_id,
                        now=now,
                    )
                    queued += 1
        return queued

    # -- deleted stores ---------------------------------------------------------------------------

    def on_destroyed(self, job: Job, now: dt.datetime) -> None:
        """The store's objects are gone: its backups go too, but for the newest when the environment
        keeps it (``backups.keep_after_delete_days``), until the time the store's row then shows.
        Called under the destroy's lease, before the store is marked deleted; a failure fails the
        deletion (temporarily: it is tried again), so a deleted store leaves no backup unless asked."""
        if self._settings.backup_url is None:
            return
        try:
            backups = self._fleet.backups()
            newest = next(iter(backups.list(job.name)), None)
            keep = newest.id if newest is not None and self.policy.keep_after_delete_days > 0 else None
            gone = backups.purge(job.name, made_before=_aware(now) + dt.timedelta(seconds=1), keep=keep)
        except Exception as exc:
            raise OperationFailedError(
                f"the store's backups could not be deleted ({type(exc).__name__}); trying again",
                temporary=True,
                reason="backups_unavailable",
            ) from None
        until = now + dt.timedelta(days=self.policy.keep_after_delete_days) if keep else None
        with transaction(self._engine) as session:
            store = session.exec(select(Store).where(col(Store.id) == job.store_id)).one()
            store.backup_kept_until = until
            session.add(store)
            if keep:
                message = f"backup {keep} is kept until {until:%Y-%m-%d %H:%M} UTC; {gone} older deleted"
            else:
                message = f"its backups were deleted ({gone})"
            record_event(session, store, kind="backup", message=message, actor=self.worker_id)

    def _purge_kept(self, now: dt.datetime) -> None:
        with transaction(self._engine) as session:
            due = session.exec(
                select(Store.id, Store.name, Store.deleted_at).where(col(Store.backup_kept_until) <= now)
            ).all()
        for store_id, name, deleted_at in due:
            try:
                made_before = _aware(deleted_at or now) + dt.timedelta(seconds=1)
                self._fleet.backups().purge(name, made_before=made_before)
            except Exception as exc:  # the object store is away: the next sweep tries again
                log.warning("store %s: its kept backup could not be deleted (%s)", name, type(exc).__name__)
                continue
            with transaction(self._engine) as session:
                store = session.exec(select(Store).where(col(Store.id) == store_id)).one()
                store.backup_kept_until = None
                session.add(store)
                message = "its kept backup was deleted: the keeping time is over"
                record_event(session, store, kind="backup", message=message, actor=self.worker_id)

    # -- claiming -------------------------------------------------------------------------------

    def _store_free(self, now: dt.datetime, action: str) -> ColumnElement[bool]:
        statuses = [Status.READY.value]
        if action == BackupAction.RESTORE.value:
            statuses.append(Status.RESTORING.value)  # its worker died: restore again
        return and_(
            col(Store.desired) == Desired.PRESENT.value,
            col(Store.status).in_(statuses),
            or_(col(Store.lease_owner).is_(None), col(Store.lease_expires_at) < now),
        )

    def claim(self, now: dt.datetime, busy: list[int]) -> Job | None:
        """Lease the store of the oldest runnable job, or return None."""
        with transaction(self._engine) as session:
            rows = session.exec(
                select(BackupJob, Store.desired)
                .join(Store, col(Store.id) == col(BackupJob.store_id))
                .where(col(BackupJob.state).in_([BackupState.QUEUED.value, BackupState.RUNNING.value]))
                .order_by(col(BackupJob.id))
                .limit(20)
            ).all()
            candidates = []
            for row, desired in rows:
                if desired == Desired.ABSENT.value and row.state == BackupState.QUEUED.value:
                    # its store was deleted (or is being deleted) before the job ran
                    row.state, row.finished_at = BackupState.FAILED.value, now
                    row.error = "the store was deleted"
                    session.add(row)
                elif row.store_id not in busy:
                    candidates.append((row.id, row.store_id, row.action))
        lease_until = now + dt.timedelta(seconds=self._settings.lease_seconds)
        for job_id, store_id, action in candidates:
            values: dict[str, object] = {"lease_owner": self.worker_id, "lease_expires_at": lease_until}
            if action == BackupAction.RESTORE.value:
                values.update(status=Status.RESTORING.value, updated_at=now)
            with transaction(self._engine) as session:
                result = session.execute(
                    update(Store)
                    .where(col(Store.id) == store_id, self._store_free(now, action))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if rowcount(result) != 1:
                    continue
                row = session.exec(select(BackupJob).where(col(BackupJob.id) == job_id)).one()
                store = session.exec(select(Store).where(col(Store.id) == store_id)).one()
                row.state, row.started_at, row.error = BackupState.RUNNING.value, now, None
                session.add(row)
                what = "restore" if action == BackupAction.RESTORE.value else f"{row.kind} backup"
                source = f" from {row.source_store}'s backup {row.backup_id}" if row.backup_id else ""
                record_event(
                    session,
                    store,
                    kind="backup",
                    message=f"{what}{source} started",
                    actor=self.worker_id,
                    data={"job": job_id, "action": action},
                )
                assert store.id is not None and job_id is not None
                log.info("claimed store %s for a %s (job %d)", store.name, action, job_id)
                return Job(
                    store_id=store.id,
                    name=store.name,
                    generation=store.generation,
                    operation="restore" if action == BackupAction.RESTORE.value else "backup",
                    spec=None,
                    attempt=1,
                    started_at=now,
                    backup_job=job_id,
                )
        return None

    # -- running --------------------------------------------------------------------------------

    def run(self, job: Job, clock: Callable[[], dt.datetime]) -> None:
        """Run the job and record how it went."""
        with transaction(self._engine) as session:
            row = session.exec(select(BackupJob).where(col(BackupJob.id) == job.backup_job)).one()
            store = session.exec(select(Store).where(col(Store.id) == job.store_id)).one()
            action, kind, source, backup_id = row.action, row.kind, row.source_store, row.backup_id
            engine, namespace = store.engine, store.namespace or f"store-{store.name}"
            url = store.url or ""
            admin_email = StoreSpec.model_validate_json(store.spec_json).admin_email
        started = clock()
        try:
            backups = self._fleet.backups()
            if action == BackupAction.BACKUP.value:
                made = backups.create(job.name, engine=engine, namespace=namespace, kind=kind)
                backup_id, size = made.id, made.size
                pruned = backups.prune(
                    job.name, keep_daily=self.policy.keep_daily, keep_weekly=self.policy.keep_weekly
                )
                message = f"{kind} backup {made.id} complete: {made.size} bytes in {made.seconds:.1f}s"
                if pruned:
                    message += f"; retention deleted {len(pruned)} older ({', '.join(pruned)})"
            else:
                assert backup_id is not None
                backup = backups.get(source or job.name, backup_id)
                if backup.engine != engine:
                    raise FleetError(
                        f"backup {backup_id} is of a {backup.engine} store, this one is {engine}"
                    )
                backups.restore(backup, store=job.name, namespace=namespace)
                if kind == "clone":  # another store's data: this store's URL and admin from now on
                    credentials = self._fleet.credentials(job.name)
                    backups.rebind(
                        engine,
                        namespace=namespace,
                        url=url,
                        login=credentials.admin_user,
                        email=admin_email,
                        password=credentials.admin_password,
                    )
                size = backup.size
                message = f"restore of {source or job.name}'s backup {backup_id} complete"
        except FleetError as exc:
            self._finish(
                job, clock(), started, error=exc.message[:MAX_MESSAGE], backup_id=backup_id, size=None
            )
            return
        except Exception as exc:  # a bug or an untranslated error: its text may hold anything
            log.error("store %s: %s failed: %s", job.name, action, type(exc).__name__)
            error = f"unexpected error in the worker ({type(exc).__name__})"
            self._finish(job, clock(), started, error=error, backup_id=backup_id, size=None)
            return
        self._finish(job, clock(), started, error=None, backup_id=backup_id, size=size, message=message)

    def _finish(
        self,
        job: Job,
        now: dt.datetime,
        started: dt.datetime,
        *,
        error: str | None,
        backup_id: str | None,
        size: int | None,
        message: str = "",
    ) -> None:
        action = "restore" if job.operation == "restore" else "backup"
        seconds = (now - started).total_seconds()
        result = "failed" if error else "complete"
        self._metrics.backup_jobs.labels(action=action, result=result).inc()
        if not error:
            self._metrics.backup_seconds.labels(action=action).observe(seconds)
        with transaction(self._engine) as session:
            row = session.exec(select(BackupJob).where(col(BackupJob.id) == job.backup_job)).one()
            store = session.exec(select(Store).where(col(Store.id) == job.store_id).with_for_update()).one()
            if store.lease_owner != self.worker_id:
                return  # lost the lease: another worker has the job now
            row.state = BackupState.FAILED.value if error else BackupState.COMPLETE.value
            row.finished_at, row.seconds, row.error = now, round(seconds, 2), error
            row.backup_id, row.size = backup_id, size
            session.add(row)
            store.lease_owner, store.lease_expires_at = None, None
            if store.status == Status.RESTORING.value:
                store.status, store.updated_at = Status.READY.value, now
            session.add(store)
            if error:
                message = f"{action} failed: {error}"
                if action == "restore":
                    message += " (the store's data may be partly the backup's: restore again)"
            record_event(
                session,
                store,
                kind="backup",
                message=message,
                actor=self.worker_id,
                data={
                    "job": row.id,
                    "action": action,
                    "result": result,
                    "backup_id": backup_id,
                    "size": size,
                },
            )
        (log.warning if error else log.info)("store %s: %s", job.name, message)

    def release(self, job: Job, now: dt.datetime) -> None:
        """Give the lease back without a result (the job timed out); the job runs again later."""
        with transaction(self._engine) as session:
            session.execute(
                update(Store)
                .where(col(Store.id) == job.store_id, col(Store.lease_owner) == self.worker_id)
                .values(lease_owner=None, lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )


def queue(
    session: Session,
    store: Store,
    *,
    action: BackupAction,
    kind: str,
    actor: str,
    now: dt.datetime,
    backup_id: str | None = None,
    source_store: str | None = None,
) -> BackupJob:
    """Add a queued job for ``store`` to the session's transaction."""
    assert store.id is not None
    row = BackupJob(
        store_id=store.id,
        store_name=store.name,
        action=action.value,
        kind=kind,
        state=BackupState.QUEUED.value,
        backup_id=backup_id,
        source_store=source_store,
        requested_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _aware(when: dt.datetime) -> dt.datetime:
    """The database's naive UTC as an aware time (what backups' times are)."""
    return when.replace(tzinfo=dt.UTC)
