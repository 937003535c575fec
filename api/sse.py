"""Server-sent events for a store's event feed: polls the database, sends keepalives, resumes.

Used by ``GET /api/v1/stores/{name}/events`` when the client asks for ``text/event-stream``. Each
event goes out with its database id as the SSE ``id``, so a client reconnecting with
``Last-Event-ID`` misses nothing. The stream ends after the store is deleted, and as soon as the
caller's token is revoked or expires (checked at every poll).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.models import Status
from api.schemas import EventOut
from api.services.stores import StoreService

RETRY_MS = 2000


def format_event(event: EventOut) -> str:
    data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


MAX_SQL_INT = 2**31 - 1
"""The largest id or offset every supported database takes (PostgreSQL ``integer``); the API's
integer parameters are bounded by it, so no request reaches the database with one it rejects."""


def parse_last_event_id(value: str | None) -> int | None:
    """The event id a client resumes after; None when absent, unreadable or out of range (the
    stream then starts from ``after``, as for a first connection)."""
    if value is None:
        return None
    try:
        parsed = int(value.strip())
    except ValueError:
        return None
    return parsed if 0 <= parsed <= MAX_SQL_INT else None


async def event_stream(
    request: Request,
    service: StoreService,
    *,
    store_id: int,
    after: int,
    poll_seconds: float,
    keepalive_seconds: float,
    authorized: Callable[[], bool] = lambda: True,
) -> AsyncIterator[str]:
    """Yield SSE frames for the store's events after id ``after`` until it is deleted, the caller
    is no longer ``authorized`` or the client goes."""
    yield f"retry: {RETRY_MS}\n\n"
    last_sent = time.monotonic()
    while True:
        if not await run_in_threadpool(authorized):
            yield f"event: end\ndata: {json.dumps({'reason': 'unauthorized'})}\n\n"
            return
        events, status = await run_in_threadpool(service.poll, store_id, after=after)
        for event in events:
            after = event.id
            yield format_event(event)
            last_sent = time.monotonic()
        if status == Status.DELETED.value and not events:
            yield f"event: end\ndata: {json.dumps({'status': status})}\n\n"
            return
        if time.monotonic() - last_sent >= keepalive_seconds:
            yield ": keepalive\n\n"
            last_sent = time.monotonic()
        if await request.is_disconnected():
            return
        await anyio.sleep(poll_seconds)
