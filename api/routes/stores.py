"""``/api/v1/stores``: create, list, read, delete and retry stores; their events and credentials.

Routes only call ``api.services.stores.StoreService`` (which records desired state) and shape HTTP;
they never catch errors (the app maps them) and never run Pulumi.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.deps import Context, CurrentPrincipal
from api.schemas import CreateStoreRequest, CredentialsOut, EventOut, StoreList, StoreOut
from api.sse import MAX_SQL_INT, event_stream, parse_last_event_id

DEFAULT_PAGE = 500
MAX_PAGE = 1000

router = APIRouter(prefix="/api/v1", tags=["stores"])


def _location(name: str) -> str:
    return f"/api/v1/stores/{name}"


def _accepted(store: StoreOut) -> JSONResponse:
    return JSONResponse(
        store.model_dump(mode="json"), status_code=202, headers={"Location": _location(store.name)}
    )


@router.post("/stores", status_code=202, response_model=StoreOut)
def create_store(
    body: CreateStoreRequest,
    ctx: Context,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Record a new store; the reconciler provisions it. Retrying with the same Idempotency-Key
    returns the first response."""
    result = ctx.service.create(principal, body, idempotency_key=idempotency_key)
    headers = {"Location": _location(str(result.body["name"]))}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.get("/stores", response_model=StoreList)
def list_stores(
    ctx: Context,
    principal: CurrentPrincipal,
    include_deleted: bool = False,
    status: str | None = None,
    owner: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> StoreList:
    """The caller's stores (every store for admins), oldest first, a page at a time (``count`` is
    the total); deleted ones only on request."""
    items, total = ctx.service.list(
        principal, include_deleted=include_deleted, status=status, owner=owner, limit=limit, offset=offset
    )
    return StoreList(items=items, count=total, limit=limit, offset=offset)


@router.get("/stores/{name}", response_model=StoreOut)
def get_store(name: str, ctx: Context, principal: CurrentPrincipal) -> StoreOut:
    return ctx.service.get(principal, name)


@router.delete("/stores/{name}", status_code=202, response_model=StoreOut)
def delete_store(name: str, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Ask for the store's deletion (repeatable); the reconciler destroys it."""
    return _accepted(ctx.service.delete(principal, name))


@router.post("/stores/{name}/retry", status_code=202, response_model=StoreOut)
def retry_store(name: str, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Run a failed store's operation again."""
    return _accepted(ctx.service.retry(principal, name))


@router.get("/stores/{name}/events", response_model=list[EventOut])
def store_events(
    name: str,
    request: Request,
    ctx: Context,
    principal: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """The store's events as JSON, or a live SSE stream with ``Accept: text/event-stream``."""
    if "text/event-stream" in request.headers.get("accept", ""):
        store_id = ctx.service.resolve(principal, name)
        resume = parse_last_event_id(last_event_id)
        stream = event_stream(
            request,
            ctx.service,
            store_id=store_id,
            after=resume if resume is not None else after,
            poll_seconds=ctx.settings.sse_poll_seconds,
            keepalive_seconds=ctx.settings.sse_keepalive_seconds,
        )
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    events = ctx.service.events(principal, name, after=after, limit=limit)
    return JSONResponse([event.model_dump(mode="json") for event in events])


@router.get("/stores/{name}/credentials", response_model=CredentialsOut)
def store_credentials(name: str, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """The store's admin login (owner or admin only); every read is recorded as an event."""
    credentials = ctx.service.credentials(principal, name, fleet=ctx.fleet)
    return JSONResponse(
        credentials.model_dump(mode="json"), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )
