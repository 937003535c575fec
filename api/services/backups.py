"""The backup service: ask for a store's backup or restore, list its backups and jobs.

Called by ``api.routes.backups``. Like ``api.services.stores`` it only records what is asked (a
``backup_jobs`` row and an audit event) and wakes the reconciler, which runs the job under the
store's lease (``api.backup_jobs``); the listing reads the object store through the fleet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.auth import Principal
from api.backup_jobs import queue
from api.db import transaction, utcnow
from api.errors import (
    BackupNotFoundError,
    BackupsNotConfiguredError,
    InvalidStateError,
    UnavailableError,
)
from api.fleet import BackupsProtocol, FleetProtocol
from api.models import BackupAction, BackupJob, BackupState, Status, Store
from api.schemas_backups import BackupJobOut, BackupList, BackupOut, FromBackup
from api.services.events import record_event
from api.services.stores import find_store
from stacks import backups as stack_backups
from stacks.errors import FleetError

JOBS_LISTED = 20
T = TypeVar("T")


class BackupService:
    """Backups and restores of stores, as seen by one principal at a time."""

    def __init__(
        self,
        *,
        engine: Engine,
        fleet: FleetProtocol,
        configured: bool,
        clock: Callable[[], dt.datetime] = utcnow,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._fleet = fleet
        self._configured = configured
        self._clock = clock
        self._on_change = on_change

    def request_backup(self, principal: Principal, name: str) -> BackupJobOut:
        """Queue a backup of the store (or answer the one already queued or running)."""
        self._check_configured()
        with transaction(self._engine) as session:
            store = find_store(session, principal, name, lock=True)
            if store.status != Status.READY.value:
                # a suspended store runs no pod to dump from (and its data does not change)
                raise InvalidStateError(
                    f"store '{name}' is {store.status}; it can be backed up once it is ready"
                )
            pending = _pending(session, store, BackupAction.BACKUP)
            if pending is not None:
                return BackupJobOut.from_row(pending)
            row = queue(
                session,
                store,
                action=BackupAction.BACKUP,
                kind="manual",
                actor=principal.owner,
                now=self._clock(),
            )
            record_event(
                session,
                store,
                kind="backup",
                message=f"backup requested by {principal.owner}",
                actor=principal.owner,
            )
            out = BackupJobOut.from_row(row)
        self._changed()
        return out

    def request_restore(self, principal: Principal, name: str, backup_id: str) -> BackupJobOut:
        """Queue the restore of one of the store's backups into it."""
        self._check_configured()
        with transaction(self._engine) as session:
            store = find_store(session, principal, name)
            engine = store.engine
        backup = self._get(name, backup_id)
        if backup.engine != engine:
            raise InvalidStateError(f"backup {backup_id} is of a {backup.engine} store; '{name}' is {engine}")
        with transaction(self._engine) as session:
            store = find_store(session, principal, name, lock=True)
            if store.status != Status.READY.value:
                raise InvalidStateError(
                    f"store '{name}' is {store.status}; it can be restored once it is ready"
                )
            if _pending(session, store, BackupAction.RESTORE) is not None:
                raise InvalidStateError(f"store '{name}' has a restore queued or running already")
            row = queue(
                session,
                store,
                action=BackupAction.RESTORE,
                kind="manual",
                actor=principal.owner,
                now=self._clock(),
                backup_id=backup_id,
                source_store=name,
            )
            message = f"restore of backup {backup_id} requested by {principal.owner}"
            record_event(session, store, kind="backup", message=message, actor=principal.owner)
            out = BackupJobOut.from_row(row)
        self._changed()
        return out

    def clone_source(
        self, principal: Principal, source: FromBackup, engine: str
    ) -> Callable[[Session, Store, dt.datetime], None]:
        """Check that the principal may clone from the backup (its store is theirs, the backup is
        complete, the engines match); returns what queues the clone's restore with the new store."""
        self._check_configured()
        with transaction(self._engine) as session:
            find_store(session, principal, source.store)
        backup = self._get(source.store, source.backup_id)
        if backup.engine != engine:
            raise InvalidStateError(
                f"backup {source.backup_id} is of a {backup.engine} store; so must its clone be"
            )

        def queue_clone(session: Session, store: Store, now: dt.datetime) -> None:
            queue(
                session,
                store,
                action=BackupAction.RESTORE,
                kind="clone",
                actor=principal.owner,
                now=now,
                backup_id=source.backup_id,
                source_store=source.store,
            )
            message = f"clone of {source.store}'s backup {source.backup_id}: restored once provisioned"
            record_event(session, store, kind="backup", message=message, actor=principal.owner)

        return queue_clone

    def list(self, principal: Principal, name: str) -> BackupList:
        """The store's complete backups (from the object store) and its latest jobs."""
        with transaction(self._engine) as session:
            store = find_store(session, principal, name)
            jobs = session.exec(
                select(BackupJob)
                .where(col(BackupJob.store_name) == name)
                .order_by(col(BackupJob.id).desc())
                .limit(JOBS_LISTED)
            ).all()
            job_out = [BackupJobOut.from_row(row) for row in jobs]
            store_name = store.name
        backups = self._call(lambda b: b.list(store_name)) if self._configured else []
        now = self._clock().replace(tzinfo=dt.UTC)
        return BackupList(
            configured=self._configured,
            backups=[BackupOut.from_backup(b, now) for b in backups],
            jobs=job_out,
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _get(self, name: str, backup_id: str) -> stack_backups.Backup:
        try:
            return self._call(lambda b: b.get(name, backup_id))
        except stack_backups.BackupNotFoundError:
            raise BackupNotFoundError(f"store '{name}' has no complete backup '{backup_id}'") from None

    def _call(self, action: Callable[[BackupsProtocol], T]) -> T:
        try:
            return action(self._fleet.backups())
        except stack_backups.BackupNotFoundError:
            raise
        except FleetError as exc:
            raise UnavailableError(f"the backups could not be read: {exc.message}") from None
        except Exception as exc:  # boto3's: the object store did not answer, refused the keys...
            raise UnavailableError(f"the object store did not answer ({type(exc).__name__})") from None

    def _check_configured(self) -> None:
        if not self._configured:
            raise BackupsNotConfiguredError(
                "backups are not set up: the control plane needs STORESTACK_BACKUP_URL (an s3:// bucket)"
            )

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def _pending(session: Session, store: Store, action: BackupAction) -> BackupJob | None:
    return session.exec(
        select(BackupJob).where(
            col(BackupJob.store_id) == store.id,
            col(BackupJob.action) == action.value,
            col(BackupJob.state).in_([BackupState.QUEUED.value, BackupState.RUNNING.value]),
        )
    ).first()
