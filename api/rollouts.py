"""The rollout controller: moves the fleet's stores onto a target environment revision in waves.

Run by the reconciler on every tick (``Reconciler.tick``), in one transaction under a lock, so any
number of workers may call it. A rollout (``api.services.rollouts`` starts one) has its stores in
waves: wave 0, the canary, then waves growing by ``growth``. Each tick it

1. tracks every store the rollout moved: *updated* once the store is ready on the target revision
   (its ``up`` passed Pulumi's awaits and the storefront check where the environment has one),
   *failed* once an attempt of that ``up`` failed, *rolled back* once it is ready on its previous
   revision again; a store deleted meanwhile is *skipped*;
2. on a failure stops: the failed store, and with ``rollback_all`` every store the rollout moved,
   go back to the revision they came from (an ``up`` each, through the reconciler), and the rollout
   ends ``failed`` when they are ready there; stores of later waves are never touched;
3. otherwise, unless paused, moves more stores of the current wave to the target, at most
   ``max_concurrency`` updating at once; when the wave is all updated the next one begins; after the
   last, stores that appeared meanwhile and are still not on the target form one more wave, and then
   the rollout has ``succeeded``.

Moving a store is desired state like a PATCH: its ``revision`` column changes and it is re-queued
with a new generation (``api.services.changes.requeue``); the reconciler does the ``up``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.db import transaction
from api.metrics import Metrics
from api.models import (
    ROLLOUT_ACTIVE,
    Desired,
    Rollout,
    RolloutEvent,
    RolloutState,
    RolloutStore,
    RolloutStoreState,
    Status,
    Store,
)
from api.services.changes import requeue
from api.services.events import record_event

log = logging.getLogger("storestack.rollouts")

_LOCK_KEY = 727_274_002  # the PostgreSQL advisory lock serialising rollout steps
DONE = (RolloutStoreState.UPDATED.value, RolloutStoreState.SKIPPED.value)
MOVING = (RolloutStoreState.UPDATING.value, RolloutStoreState.ROLLING_BACK.value)
SETTLED = (Status.READY.value, Status.SUSPENDED.value)


def lock_rollouts(session: Session) -> None:
    """Serialise rollout steps across processes (SQLite: ``BEGIN IMMEDIATE`` already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def rollout_event(
    session: Session, rollout: Rollout, kind: str, message: str, actor: str, now: dt.datetime
) -> None:
    assert rollout.id is not None
    session.add(RolloutEvent(rollout_id=rollout.id, kind=kind, message=message, actor=actor, created_at=now))
    log.info("rollout %s: %s", rollout.id, message)


def wave_sizes(count: int, canary: int, growth: int) -> list[int]:
    """How ``count`` stores split into waves: ``canary`` first, then each wave ``growth`` times the
    one before (the last one takes what is left)."""
    sizes: list[int] = []
    size = max(1, canary)
    left = count
    while left > 0:
        sizes.append(min(size, left))
        left -= sizes[-1]
        size *= max(1, growth)
    return sizes


def candidates(session: Session, target: int, exclude: set[int] | None = None) -> list[Store]:
    """Live, settled stores not on ``target`` (oldest first): what a rollout moves."""
    rows = session.exec(
        select(Store)
        .where(
            col(Store.desired) == Desired.PRESENT.value,
            col(Store.status).in_(SETTLED),
            col(Store.revision) != target,
        )
        .order_by(col(Store.id))
    ).all()
    return [row for row in rows if row.id not in (exclude or set())]


def pending_entry(rollout_id: int, store: Store, wave: int) -> RolloutStore:
    """A store's row in a rollout, its turn to come in ``wave``."""
    assert store.id is not None
    return RolloutStore(
        rollout_id=rollout_id,
        store_id=store.id,
        store_name=store.name,
        wave=wave,
        from_revision=store.revision,
        state=RolloutStoreState.PENDING.value,
    )


def move(
    session: Session, store: Store, entry: RolloutStore, *, to: int, why: str, actor: str, now: dt.datetime
) -> None:
    """Point ``store`` at revision ``to`` and queue its ``up``; ``entry`` remembers the generation."""
    before = store.revision
    store.revision = to
    requeue(session, store, status=Status.PENDING, step=why, now=now)
    entry.generation = store.generation
    entry.started_at = now
    entry.finished_at = None
    session.add(entry)
    record_event(
        session,
        store,
        kind="rollout",
        message=f"{why}: revision {before} → {to}",
        actor=actor,
        data={"rollout": entry.rollout_id, "from": before, "to": to, "status": store.status},
    )


class Rollouts:
    """Advances the active rollout one step per reconciler tick."""

    def __init__(
        self, *, engine: Engine, metrics: Metrics, worker_id: str, clock: Callable[[], dt.datetime]
    ) -> None:
        self._engine = engine
        self._metrics = metrics
        self._worker_id = worker_id
        self._clock = clock

    def advance(self) -> None:
        now = self._clock()
        with transaction(self._engine) as session:
            lock_rollouts(session)
            moving = session.exec(select(RolloutStore).where(col(RolloutStore.state).in_(MOVING))).all()
            for entry in moving:
                self._track(session, entry, now)
            session.flush()
            active = select(Rollout).where(col(Rollout.state).in_(ROLLOUT_ACTIVE))
            for rollout in session.exec(active).all():
                self._step(session, rollout, now)

    # -- tracking the stores in flight ----------------------------------------------------------

    def _track(self, session: Session, entry: RolloutStore, now: dt.datetime) -> None:
        store = session.get(Store, entry.store_id)
        rollout = session.get(Rollout, entry.rollout_id)
        assert rollout is not None
        back = entry.state == RolloutStoreState.ROLLING_BACK.value
        wanted = entry.from_revision if back else rollout.revision
        if store is None or store.desired == Desired.ABSENT.value:
            self._finish(session, entry, RolloutStoreState.SKIPPED, now, error="the store was deleted")
        elif store.status in SETTLED and store.applied_revision == wanted and store.revision == wanted:
            self._finish(
                session, entry, RolloutStoreState.ROLLED_BACK if back else RolloutStoreState.UPDATED, now
            )
        elif store.revision != wanted:
            self._finish(
                session, entry, RolloutStoreState.SKIPPED, now, error="moved to another revision meanwhile"
            )
        elif store.last_error_code is not None and store.generation == entry.generation:
            error = f"{store.last_error_code}: {store.last_error_message or ''}".strip()
            if back and store.status != Status.FAILED.value:
                return  # a rollback keeps trying (the reconciler's retries) until it gives up
            self._finish(session, entry, RolloutStoreState.FAILED, now, error=error)

    def _finish(
        self,
        session: Session,
        entry: RolloutStore,
        state: RolloutStoreState,
        now: dt.datetime,
        *,
        error: str | None = None,
    ) -> None:
        was_rollback = entry.state == RolloutStoreState.ROLLING_BACK.value
        entry.state = state.value
        entry.finished_at = now
        if error is not None:
            entry.error = (
                f"rollback failed: {error}" if was_rollback and state == RolloutStoreState.FAILED else error
            )[:2000]
        session.add(entry)
        self._metrics.rollout_stores.labels(result=state.value).inc()
        rollout = session.get(Rollout, entry.rollout_id)
        assert rollout is not None
        took = (now - entry.started_at).total_seconds() if entry.started_at else 0.0
        detail = f" ({entry.error})" if entry.error else ""
        rollout_event(
            session,
            rollout,
            f"store_{state.value}",
            f"store {entry.store_name}: {state.value} after {took:.1f}s{detail}",
            self._worker_id,
            now,
        )

    # -- stepping a rollout ---------------------------------------------------------------------

    def _entries(self, session: Session, rollout: Rollout) -> list[RolloutStore]:
        return list(
            session.exec(
                select(RolloutStore)
                .where(col(RolloutStore.rollout_id) == rollout.id)
                .order_by(col(RolloutStore.id))
            ).all()
        )

    def _step(self, session: Session, rollout: Rollout, now: dt.datetime) -> None:
        entries = self._entries(session, rollout)
        failed = [e for e in entries if e.state == RolloutStoreState.FAILED.value]
        if rollout.state == RolloutState.ROLLING_BACK.value:
            if not any(e.state == RolloutStoreState.ROLLING_BACK.value for e in entries):
                self._end(session, rollout, RolloutState.FAILED, now, rollout.message)
            return
        if failed:
            self._roll_back(session, rollout, entries, failed[0], now)
            return
        if rollout.state == RolloutState.PAUSED.value:
            return
        wave = [e for e in entries if e.wave == rollout.wave]
        if wave and all(e.state in DONE for e in wave):
            updated = sum(1 for e in wave if e.state == RolloutStoreState.UPDATED.value)
            started = min((e.started_at for e in wave if e.started_at), default=now)
            name = "canary" if rollout.wave == 0 else f"wave {rollout.wave}"
            took = (now - started).total_seconds()
            rollout_event(
                session,
                rollout,
                "wave_passed",
                f"{name} passed: {updated} of {len(wave)} on revision {rollout.revision} in {took:.1f}s",
                self._worker_id,
                now,
            )
            rollout.wave += 1
            rollout.updated_at = now
            session.add(rollout)
            if rollout.wave >= rollout.waves and not self._add_latecomers(session, rollout, entries, now):
                self._end(
                    session,
                    rollout,
                    RolloutState.SUCCEEDED,
                    now,
                    f"every store is on revision {rollout.revision}",
                )
                return
            wave = [e for e in self._entries(session, rollout) if e.wave == rollout.wave]
        self._start_stores(session, rollout, wave, now)

    def _start_stores(
        self, session: Session, rollout: Rollout, wave: list[RolloutStore], now: dt.datetime
    ) -> None:
        busy = sum(1 for e in wave if e.state == RolloutStoreState.UPDATING.value)
        name = "canary" if rollout.wave == 0 else f"wave {rollout.wave}"
        for entry in wave:
            if busy >= rollout.max_concurrency:
                break
            if entry.state != RolloutStoreState.PENDING.value:
                continue
            store = session.get(Store, entry.store_id)
            if store is None or store.desired == Desired.ABSENT.value:
                self._finish(session, entry, RolloutStoreState.SKIPPED, now, error="the store was deleted")
                continue
            if store.revision == rollout.revision:
                self._finish(
                    session, entry, RolloutStoreState.SKIPPED, now, error="already on the target revision"
                )
                continue
            entry.from_revision = store.revision
            entry.state = RolloutStoreState.UPDATING.value
            move(
                session,
                store,
                entry,
                to=rollout.revision,
                why=f"rollout {rollout.id} ({name})",
                actor=self._worker_id,
                now=now,
            )
            busy += 1

    def _add_latecomers(
        self, session: Session, rollout: Rollout, entries: list[RolloutStore], now: dt.datetime
    ) -> bool:
        """Stores that appeared during the rollout and are not on its target: one more wave."""
        assert rollout.id is not None
        late = candidates(session, rollout.revision, exclude={e.store_id for e in entries})
        if not late:
            return False
        for store in late:
            session.add(pending_entry(rollout.id, store, rollout.waves))
        rollout.waves += 1
        session.add(rollout)
        session.flush()
        rollout_event(
            session,
            rollout,
            "wave_added",
            f"{len(late)} stores created during the rollout form wave {rollout.waves - 1}",
            self._worker_id,
            now,
        )
        return True

    def _roll_back(
        self,
        session: Session,
        rollout: Rollout,
        entries: list[RolloutStore],
        failed: RolloutStore,
        now: dt.datetime,
    ) -> None:
        back = [failed]
        if rollout.rollback_all:
            back += [
                e
                for e in entries
                if e is not failed
                and e.state in (RolloutStoreState.UPDATED.value, RolloutStoreState.UPDATING.value)
            ]
        message = f"store {failed.store_name} failed on revision {rollout.revision}: {failed.error}"
        for entry in entries:
            if entry.state == RolloutStoreState.PENDING.value:
                entry.state = RolloutStoreState.SKIPPED.value
                entry.error = "the rollout stopped before this store's wave"
                session.add(entry)
        for entry in back:
            store = session.get(Store, entry.store_id)
            if store is None or store.desired == Desired.ABSENT.value:
                continue
            entry.state = RolloutStoreState.ROLLING_BACK.value
            move(
                session,
                store,
                entry,
                to=entry.from_revision,
                why=f"rollout {rollout.id} rollback",
                actor=self._worker_id,
                now=now,
            )
        names = ", ".join(e.store_name for e in back)
        rollout.state = RolloutState.ROLLING_BACK.value
        rollout.message = message[:2000]
        rollout.updated_at = now
        session.add(rollout)
        rollout_event(session, rollout, "stopped", f"{message}; rolling back {names}", self._worker_id, now)

    def _end(
        self, session: Session, rollout: Rollout, state: RolloutState, now: dt.datetime, message: str
    ) -> None:
        rollout.state = state.value
        rollout.message = message[:2000]
        rollout.finished_at = now
        rollout.updated_at = now
        session.add(rollout)
        took = (now - rollout.created_at).total_seconds()
        rollout_event(
            session, rollout, state.value, f"{state.value} after {took:.1f}s: {message}", self._worker_id, now
        )
        self._metrics.rollouts.labels(result=state.value).inc()
