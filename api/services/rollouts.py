"""Revisions and rollouts as the API records them: a new revision, a rollout started, paused,
resumed or aborted, and their read views. Admins only (the routes check the role).

Called by ``api.routes.rollouts``. Like the store service it records desired state only: the
reconciler's ``api.rollouts.Rollouts`` moves the stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.db import transaction
from api.errors import ConflictError, InvalidStateError, NotFoundError
from api.models import (
    ROLLOUT_ACTIVE,
    EnvironmentRevision,
    Rollout,
    RolloutEvent,
    RolloutState,
    RolloutStore,
    RolloutStoreState,
)
from api.revisions import get_revision, overrides_of, record_revision, stores_on_revisions
from api.rollouts import candidates, lock_rollouts, pending_entry, rollout_event, wave_sizes
from api.schemas_rollouts import CreateRevisionRequest, CreateRolloutRequest, RevisionOut, RolloutOut
from api.settings import Settings
from environments import Environment

MAX_ROLLOUT_EVENTS = 500


class RolloutNotFoundError(NotFoundError):
    code = "rollout_not_found"


class RolloutActiveError(ConflictError):
    code = "rollout_active"


class RolloutService:
    def __init__(
        self,
        *,
        engine: Engine,
        environment: Environment,
        settings: Settings,
        clock: Callable[[], dt.datetime],
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._environment = environment
        self._settings = settings
        self._clock = clock
        self._on_change = on_change or (lambda: None)

    # -- revisions ------------------------------------------------------------------------------

    def revisions(self) -> list[RevisionOut]:
        with transaction(self._engine) as session:
            on = stores_on_revisions(session)
            rows = session.exec(select(EnvironmentRevision).order_by(col(EnvironmentRevision.number))).all()
            return [RevisionOut.base(on.get(0, 0))] + [
                RevisionOut.from_row(r, on.get(r.number, 0)) for r in rows
            ]

    def revision(self, number: int) -> RevisionOut:
        with transaction(self._engine) as session:
            on = stores_on_revisions(session)
            if number == 0:
                return RevisionOut.base(on.get(0, 0))
            return RevisionOut.from_row(get_revision(session, number), on.get(number, 0))

    def create_revision(self, actor: str, request: CreateRevisionRequest) -> RevisionOut:
        with transaction(self._engine) as session:
            lock_rollouts(session)
            if request.parent is not None:
                overrides_of(session, request.parent)  # 404 for a parent never recorded
            row = record_revision(
                session,
                self._environment,
                changes=request.changes,
                parent=request.parent,
                description=request.description,
                actor=actor,
                now=self._clock(),
            )
            return RevisionOut.from_row(row, 0)

    # -- rollouts -------------------------------------------------------------------------------

    def _view(self, session: Session, rollout: Rollout) -> RolloutOut:
        entries = session.exec(
            select(RolloutStore)
            .where(col(RolloutStore.rollout_id) == rollout.id)
            .order_by(col(RolloutStore.id))
        ).all()
        events = session.exec(
            select(RolloutEvent)
            .where(col(RolloutEvent.rollout_id) == rollout.id)
            .order_by(col(RolloutEvent.id))
            .limit(MAX_ROLLOUT_EVENTS)
        ).all()
        return RolloutOut.from_rows(rollout, list(entries), list(events))

    def _get(self, session: Session, rollout_id: int) -> Rollout:
        row = session.get(Rollout, rollout_id)
        if row is None:
            raise RolloutNotFoundError(f"rollout {rollout_id} does not exist")
        return row

    def start(self, actor: str, request: CreateRolloutRequest) -> RolloutOut:
        """Record a rollout of ``request.revision`` over every live, settled store not on it."""
        now = self._clock()
        with transaction(self._engine) as session:
            lock_rollouts(session)
            if request.revision != 0:
                get_revision(session, request.revision)  # 404 revision_not_found
            active = session.exec(select(Rollout).where(col(Rollout.state).in_(ROLLOUT_ACTIVE))).first()
            if active is not None:
                raise RolloutActiveError(
                    f"rollout {active.id} (to revision {active.revision}) is {active.state}; "
                    "abort it or wait for it to end"
                )
            stores = candidates(session, request.revision)
            if not stores:
                raise InvalidStateError(f"every ready store is on revision {request.revision} already")
            canary = request.canary or self._settings.rollout_canary
            growth = request.growth or self._settings.rollout_growth
            sizes = wave_sizes(len(stores), canary, growth)
            rollout = Rollout(
                revision=request.revision,
                state=RolloutState.RUNNING.value,
                canary=canary,
                growth=growth,
                max_concurrency=request.max_concurrency or self._settings.rollout_max_concurrency,
                rollback_all=request.rollback_all,
                wave=0,
                waves=len(sizes),
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            session.add(rollout)
            session.flush()
            assert rollout.id is not None
            index = 0
            for wave, size in enumerate(sizes):
                for store in stores[index : index + size]:
                    session.add(pending_entry(rollout.id, store, wave))
                index += size
            shape = " + ".join(str(size) for size in sizes)
            rollout_event(
                session,
                rollout,
                "started",
                f"started by {actor}: {len(stores)} stores to revision {request.revision} in waves of "
                f"{shape}, {rollout.max_concurrency} at once",
                actor,
                now,
            )
            session.flush()
            view = self._view(session, rollout)
        self._on_change()
        return view

    def list(self, limit: int = 50) -> list[RolloutOut]:
        with transaction(self._engine) as session:
            rows = session.exec(select(Rollout).order_by(col(Rollout.id).desc()).limit(limit)).all()
            return [self._view(session, row) for row in rows]

    def get(self, rollout_id: int) -> RolloutOut:
        with transaction(self._engine) as session:
            return self._view(session, self._get(session, rollout_id))

    def pause(self, actor: str, rollout_id: int) -> RolloutOut:
        return self._transition(actor, rollout_id, RolloutState.PAUSED, (RolloutState.RUNNING,), "paused")

    def resume(self, actor: str, rollout_id: int) -> RolloutOut:
        return self._transition(actor, rollout_id, RolloutState.RUNNING, (RolloutState.PAUSED,), "resumed")

    def abort(self, actor: str, rollout_id: int) -> RolloutOut:
        """Stop moving stores: those not started are skipped, those updating finish their ``up``
        on the target, and nothing is rolled back."""
        return self._transition(
            actor, rollout_id, RolloutState.ABORTED, (RolloutState.RUNNING, RolloutState.PAUSED), "aborted"
        )

    def _transition(
        self,
        actor: str,
        rollout_id: int,
        to: RolloutState,
        allowed: tuple[RolloutState, ...],
        verb: str,
    ) -> RolloutOut:
        now = self._clock()
        with transaction(self._engine) as session:
            lock_rollouts(session)
            rollout = self._get(session, rollout_id)
            if rollout.state not in {state.value for state in allowed}:
                raise InvalidStateError(f"rollout {rollout_id} is {rollout.state}; it cannot be {verb}")
            rollout.state = to.value
            rollout.updated_at = now
            if to == RolloutState.ABORTED:
                rollout.finished_at = now
                rollout.message = f"aborted by {actor}"
                for entry in session.exec(
                    select(RolloutStore).where(
                        col(RolloutStore.rollout_id) == rollout_id,
                        col(RolloutStore.state) == RolloutStoreState.PENDING.value,
                    )
                ).all():
                    entry.state = RolloutStoreState.SKIPPED.value
                    entry.error = "the rollout was aborted before this store's turn"
                    session.add(entry)
            session.add(rollout)
            rollout_event(session, rollout, verb, f"{verb} by {actor}", actor, now)
            session.flush()
            view = self._view(session, rollout)
        self._on_change()
        return view
