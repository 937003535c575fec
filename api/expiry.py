"""Expiring stores: once a store's ``expires_at`` has passed, its deletion is asked for, with an
``expired`` event that says why (demo stores, and a limit on what a store left behind costs).

Called by ``api.reconciler.Reconciler.tick`` before it claims work, so the destroy starts in the same
round. Several workers may run it at once: each row is locked and asked at most once.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from api.db import transaction
from api.models import Desired, Store
from api.services.changes import request_deletion

log = logging.getLogger("storestack.reconciler")
BATCH = 50  # rows per round: a backlog is worked off over the next ticks


def expire_due(engine: Engine, *, now: dt.datetime, actor: str) -> list[str]:
    """Ask for the deletion of every live store whose ``expires_at`` is past; returns their names."""
    with transaction(engine) as session:
        due = session.exec(
            select(Store.id)
            .where(col(Store.desired) == Desired.PRESENT.value, col(Store.expires_at) <= now)
            .order_by(col(Store.expires_at))
            .limit(BATCH)
        ).all()
    expired = []
    for store_id in due:
        with transaction(engine) as session:
            store = session.exec(select(Store).where(col(Store.id) == store_id).with_for_update()).one()
            if store.desired != Desired.PRESENT.value or store.expires_at is None or store.expires_at > now:
                continue  # another worker, or a change, came first
            when = store.expires_at.replace(microsecond=0).isoformat() + "Z"
            if request_deletion(
                session,
                store,
                kind="expired",
                message=f"expired at {when}: deletion started",
                actor=actor,
                now=now,
            ):
                expired.append(store.name)
    for name in expired:
        log.info("store %s expired: deletion asked for", name)
    return expired
