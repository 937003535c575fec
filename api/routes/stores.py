"""``/api/v1/stores``: create, list, read, change and delete stores; their events and credentials
(retry, repair, suspend and the rest: ``api.routes.store_actions``).

Routes only call ``api.services.stores.StoreService`` (which records desired state) and shape HTTP;
they never catch errors (the app maps them) and never run Pulumi.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.auth import token_active
from api.deps import Context, CurrentPrincipal
from api.input_rules import OWNER_PATTERN, STORE_NAME_PATTERN
from api.models import Status
from api.openapi import AUTH, BODY, VALIDATION, errors
from api.schemas import (
    CreateStoreRequest,
    CredentialsOut,
    EventOut,
    StoreList,
    StoreOut,
    UpdateStoreRequest,
)
from api.services.stores import IDEMPOTENCY_KEY_MAX
from api.sse import MAX_SQL_INT, event_stream, parse_last_event_id

DEFAULT_PAGE = 500
MAX_PAGE = 1000

router = APIRouter(prefix="/api/v1", tags=["stores"])

StoreName = Annotated[
    str,
    Path(
        min_length=3,
        max_length=40,
        pattern=STORE_NAME_PATTERN,
        description="the store's name",
        examples=["shop"],
    ),
]
NOT_FOUND = {404: ("store_not_found",)}
ONE_STORE = errors(AUTH, NOT_FOUND, VALIDATION)
# OpenAPI links: what a client (or the contract test's stateful phase) can call with a new store.
_LINKS = {
    op: {"operationId": op, "parameters": {"name": "$response.body#/name"}}
    for op in (
        "get_store",
        "update_store",
        "delete_store",
        "retry_store",
        "repair_store",
        "check_store_drift",
        "suspend_store",
        "resume_store",
        "list_store_events",
        "get_store_credentials",
    )
}
_STREAM = {
    "text/event-stream": {"schema": {"type": "string"}, "example": "id: 7\nevent: status\ndata: {...}\n\n"}
}


def _location(name: str) -> str:
    return f"/api/v1/stores/{name}"


def accepted(store: StoreOut) -> JSONResponse:
    return JSONResponse(
        store.model_dump(mode="json"), status_code=202, headers={"Location": _location(store.name)}
    )


@router.post(
    "/stores",
    status_code=202,
    response_model=StoreOut,
    responses={
        202: {"description": "The store, recorded; provisioning follows.", "links": _LINKS},
        **errors(
            AUTH,
            BODY,
            VALIDATION,
            {
                404: ("backup_not_found", "store_not_found"),
                409: (
                    "store_exists",
                    "idempotency_key_reused",
                    "domain_taken",
                    "invalid_state",
                    "backups_not_configured",
                ),
                503: ("unavailable",),
                429: ("rate_limited", "quota_exceeded"),
            },
        ),
    },
)
def create_store(
    body: CreateStoreRequest,
    ctx: Context,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=IDEMPOTENCY_KEY_MAX,
            pattern=r"^[!-~]+$",
            description="a client-chosen key (printable ASCII, no spaces): a retry with the same key "
            "and body returns the first response instead of creating again",
        ),
    ] = None,
) -> JSONResponse:
    """Record a new store; the reconciler provisions it. Retrying with the same Idempotency-Key
    returns the first response. With ``from_backup`` the store is a clone: provisioned, then loaded
    with the backup's data under its own host name and credentials."""
    clone = (
        None
        if body.from_backup is None
        else ctx.backups.clone_source(principal, body.from_backup, body.engine)
    )
    result = ctx.service.create(principal, body, idempotency_key=idempotency_key, after_create=clone)
    headers = {"Location": _location(str(result.body["name"]))}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.get("/stores", response_model=StoreList, responses=errors(AUTH, VALIDATION))
def list_stores(
    ctx: Context,
    principal: CurrentPrincipal,
    include_deleted: Annotated[bool, Query(description="also list deleted stores")] = False,
    status: Annotated[Status | None, Query(description="only stores in this status")] = None,
    owner: Annotated[
        str | None, Query(pattern=OWNER_PATTERN, max_length=64, description="only this owner's (admins)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> StoreList:
    """The caller's stores (every store for admins), oldest first, a page at a time (``count`` is
    the total); deleted ones only on request."""
    items, total = ctx.service.list(
        principal, include_deleted=include_deleted, status=status, owner=owner, limit=limit, offset=offset
    )
    return StoreList(items=items, count=total, limit=limit, offset=offset)


@router.get("/stores/{name}", response_model=StoreOut, responses=ONE_STORE)
def get_store(
    name: StoreName,
    ctx: Context,
    principal: CurrentPrincipal,
) -> StoreOut:
    """The newest incarnation of the name: a deleted store stays readable (status ``deleted``)."""
    return ctx.service.get(principal, name)


@router.patch(
    "/stores/{name}",
    status_code=202,
    response_model=StoreOut,
    responses={
        200: {
            "description": "Nothing to change: every field given already has that value.",
            "model": StoreOut,
        },
        202: {"description": "The change, recorded; an in-place `up` follows.", "links": _LINKS},
        **errors(AUTH, NOT_FOUND, BODY, VALIDATION, {409: ("invalid_state", "domain_taken")}),
    },
)
def update_store(
    name: StoreName, body: UpdateStoreRequest, ctx: Context, principal: CurrentPrincipal
) -> JSONResponse:
    """Change a store's title, admin e-mail, size plan or custom domains; the store's events say
    what changed (old and new)."""
    result = ctx.service.update(principal, name, body)
    if result.changed:
        return accepted(result.store)
    return JSONResponse(result.store.model_dump(mode="json"), status_code=200)


@router.delete("/stores/{name}", status_code=202, response_model=StoreOut, responses=ONE_STORE)
def delete_store(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Ask for the store's deletion (repeatable); the reconciler destroys it."""
    return accepted(ctx.service.delete(principal, name))


@router.get(
    "/stores/{name}/events",
    response_model=list[EventOut],
    responses={200: {"content": _STREAM}, **ONE_STORE},
)
def list_store_events(
    name: StoreName,
    request: Request,
    ctx: Context,
    principal: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", max_length=40, description="SSE resume point (the last id seen)"),
    ] = None,
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
            authorized=partial(token_active, ctx.engine, principal.token_id)
            if principal.token_id is not None
            else lambda: True,
        )
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    events = ctx.service.events(principal, name, after=after, limit=limit)
    return JSONResponse([event.model_dump(mode="json") for event in events])


@router.get(
    "/stores/{name}/credentials",
    response_model=CredentialsOut,
    responses=errors(
        AUTH,
        NOT_FOUND,
        VALIDATION,
        {
            409: ("invalid_state",),
            502: ("operation_failed",),
            503: ("cluster_unreachable", "store_busy"),
        },
    ),
)
def get_store_credentials(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """The store's admin login (owner or admin only); every read is recorded as an event."""
    credentials = ctx.service.credentials(principal, name, fleet=ctx.fleet)
    return JSONResponse(
        credentials.model_dump(mode="json"), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )
