"""Writing and reading a store's events (audit trail, status transitions, progress, errors).

Called by the store service (audit events) and the reconciler (status, progress and error events).
Event messages and data never contain secrets.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from api.db import utcnow
from api.models import Event, Store

AUDIT_KINDS = ("created", "delete_requested", "retry_requested", "credentials_read")


def record_event(
    session: Session,
    store: Store,
    *,
    kind: str,
    message: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add an event row for ``store`` to the session's transaction."""
    assert store.id is not None
    event = Event(
        store_id=store.id,
        store_name=store.name,
        kind=kind,
        message=message,
        actor=actor,
        data_json=json.dumps(data, sort_keys=True) if data is not None else None,
        created_at=utcnow(),
    )
    session.add(event)
    return event


def record_event_by_id(
    session: Session,
    *,
    store_id: int,
    store_name: str,
    kind: str,
    message: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Like ``record_event`` when only the store's id and name are at hand."""
    session.add(
        Event(
            store_id=store_id,
            store_name=store_name,
            kind=kind,
            message=message,
            actor=actor,
            data_json=json.dumps(data, sort_keys=True) if data is not None else None,
            created_at=utcnow(),
        )
    )


def events_after(session: Session, *, store_id: int, after: int, limit: int) -> list[Event]:
    """The store's events with an id above ``after``, oldest first."""
    rows = session.exec(
        select(Event)
        .where(Event.store_id == store_id, col(Event.id) > after)
        .order_by(col(Event.id))
        .limit(limit)
    ).all()
    return list(rows)
