"""The reconciler's view of the cluster: does its API server answer? While it does not, the
reconciler claims nothing and the stores that wait for work say why.

Owned by ``api.reconciler.Reconciler`` (``reconciler.cluster``); it asks ``fleet.cluster_reachable``
(the API server's own ``/readyz``) at most every ``cluster_check_seconds``, or at once when an
operation fails, to tell an outage (not counted as an attempt) from a store's own failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from api.db import transaction
from api.fleet import FleetProtocol
from api.models import Store
from api.services.events import record_event_by_id
from api.settings import Settings

log = logging.getLogger("storestack.reconciler")

WAITING_STEP = "waiting for the cluster: its API server does not answer"


class ClusterWatch:
    """Whether the cluster answers, probed at most every ``cluster_check_seconds``."""

    def __init__(
        self,
        *,
        engine: Engine,
        fleet: FleetProtocol,
        settings: Settings,
        worker_id: str,
        needs_work: Callable[[], ColumnElement[bool]],
    ) -> None:
        self._engine = engine
        self._fleet = fleet
        self._settings = settings
        self._worker_id = worker_id
        self._needs_work = needs_work
        self._checked = -float("inf")  # monotonic time of the last probe
        self.up = True
        self._waiting = False  # stores were marked as waiting for the cluster

    def ok(self, *, fresh: bool = False) -> bool:
        """Whether the cluster answers (``fresh``: ask now). While it does not, every store that
        waits for work (created before the outage or since) says so; when it is back, they say
        work resumes."""
        if fresh or time.monotonic() - self._checked >= self._settings.cluster_check_seconds:
            try:
                up = bool(self._fleet.cluster_reachable())
            except Exception:
                up = False
            self._checked = time.monotonic()
            if up != self.up:
                self.up = up
                if up:
                    log.info("the cluster answers again; resuming work")
                else:
                    log.warning("the cluster's API server does not answer; holding work until it does")
        # Between probes too: a store created since the last one says why it waits at the next tick.
        if not self.up or self._waiting:
            self._mark(self.up)
        return self.up

    def _mark(self, up: bool) -> None:
        if up:
            step, message = "queued", "the cluster answers again; resuming"
            which = col(Store.progress_step) == WAITING_STEP
        else:
            step, message = WAITING_STEP, WAITING_STEP + " (attempts are not used up meanwhile)"
            which = col(Store.progress_step) != WAITING_STEP
        try:
            with transaction(self._engine) as session:
                stores = session.exec(
                    select(Store.id, Store.name).where(
                        self._needs_work(), col(Store.lease_owner).is_(None), which
                    )
                ).all()
                for store_id, name in stores:
                    assert store_id is not None
                    session.execute(
                        update(Store)
                        .where(col(Store.id) == store_id)
                        .values(progress_step=step)
                        .execution_options(synchronize_session=False)
                    )
                    record_event_by_id(
                        session,
                        store_id=store_id,
                        store_name=name,
                        kind="status" if up else "waiting",
                        message=message,
                        actor=self._worker_id,
                        data={"cluster": "reachable" if up else "unreachable", "step": step},
                    )
        except SQLAlchemyError as exc:
            log.warning("the cluster's state not recorded on the stores (%s)", type(exc).__name__)
            return
        self._waiting = not up
