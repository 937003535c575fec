"""The FastAPI app factory: ``create_app(settings, fleet)``.

Called by ``storestack serve`` (with a real ``stacks.Fleet``) and by the tests (with a fake). On
start it runs the schema migrations and, unless told otherwise, the reconciler in a background
thread. It maps every error to ``{"error": {"code", "message"}}`` with a stable code: the api
layer's ``ApiError`` tree, the stacks layer's ``FleetError``, request validation (422 naming the
field; malformed JSON 400), oversized bodies (413) and anything unexpected (500, no trace).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from api import db
from api.context import AppContext
from api.errors import ApiError
from api.fleet import FleetProtocol
from api.metrics import Metrics
from api.middleware import BodySizeLimitMiddleware, UnhandledErrorMiddleware
from api.openapi import operation_id
from api.reconciler import Reconciler
from api.routes import health, home, metrics, stores, tokens
from api.services.stores import Limits, StoreService
from api.settings import Settings
from stacks.errors import FleetError, StoreNotFoundError

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


API_DESCRIPTION = """\
Create, watch and delete stores; every call needs a bearer token (see *Authorize*).

Every error answers `{"error": {"code", "message"}}`: `code` is stable and each operation lists the
ones it can return; `message` is one sentence for people. Stores are created and deleted
asynchronously: `202` with the store, then follow `status` (or the event stream) to `ready` or
`deleted`. Store names are unique among the live stores of all owners, since they name namespaces.
"""

TAGS = [
    {"name": "stores", "description": "Stores, their events and their admin login."},
    {"name": "tokens", "description": "API tokens and the caller's identity."},
    {"name": "health", "description": "Liveness and readiness probes (no token)."},
    {"name": "metrics", "description": "Prometheus metrics (no token)."},
]


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status_code, headers=headers
    )


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _describe(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    field = _field(error.get("loc", ()))
    if kind == "extra_forbidden":
        return f"{field}: unknown field"
    if kind == "missing":
        return f"{field}: required" if field != "body" else "body: a JSON object is required"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return f"{field}: must be a JSON object"
    if kind == "string_pattern_mismatch":
        return f"{field}: must be an e-mail address" if field == "admin_email" else f"{field}: invalid format"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{field}: {message}"


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.headers or None)


async def _fleet_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FleetError)
    if isinstance(exc, StoreNotFoundError):
        return error_response(404, exc.code, exc.message)
    if exc.temporary:
        return error_response(503, exc.code, exc.message, {"Retry-After": "5"})
    return error_response(502, exc.code, exc.message)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [dict(e) for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    message = "; ".join(_describe(e) for e in errors[:3])
    if len(errors) > 3:
        message += f"; and {len(errors) - 3} more"
    return error_response(422, "validation_error", message)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at the request's path (Starlette names only the first
    route's), for the ``Allow`` header of a 405."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and isinstance(route, Route | APIRoute):
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, code, message, headers or None)


def create_app(
    settings: Settings,
    fleet: FleetProtocol,
    *,
    engine: Engine | None = None,
    start_reconciler: bool | None = None,
    clock: Callable[[], dt.datetime] = db.utcnow,
) -> FastAPI:
    """Build the app. ``start_reconciler`` defaults to ``settings.run_reconciler``."""
    engine = engine or db.make_engine(settings.resolved_database_url())
    metrics_ = Metrics(engine)
    run_reconciler = settings.run_reconciler if start_reconciler is None else start_reconciler
    reconciler = (
        Reconciler(engine=engine, fleet=fleet, settings=settings, metrics=metrics_, clock=clock)
        if run_reconciler
        else None
    )
    service = StoreService(
        engine=engine,
        limits=Limits.from_settings(settings),
        clock=clock,
        on_change=reconciler.wake if reconciler is not None else None,
    )
    ctx = AppContext(
        settings=settings,
        engine=engine,
        fleet=fleet,
        service=service,
        metrics=metrics_,
        reconciler=reconciler,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(db.upgrade, engine)
        if reconciler is not None:
            reconciler.start()
        try:
            yield
        finally:
            if reconciler is not None:
                await run_in_threadpool(reconciler.stop)

    app = FastAPI(
        title="Storestack",
        summary="Isolated WooCommerce stores on Kubernetes, one Pulumi stack per store.",
        description=API_DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # No redirect from /path/ to /path: Starlette would build its Location from the Host header.
        redirect_slashes=False,
        openapi_tags=TAGS,
    )
    app.state.ctx = ctx
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(FleetError, _fleet_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for module in (stores, tokens, health, metrics, home):
        app.include_router(module.router)
    return app
