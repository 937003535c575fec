"""The FastAPI app factory: ``create_app(settings, fleet)``.

Called by ``storestack serve`` (with a real ``stacks.Fleet``) and by the tests (with a fake). On
start it runs the schema migrations and, unless told otherwise, the reconciler in a background
thread. Errors become ``{"error": {"code", "message"}}`` (``api.handlers``); oversized bodies and
unhandled exceptions are answered by ``api.middleware``; ``api.openapi`` shapes the document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

import environments
from api import db, handlers
from api.context import AppContext
from api.fleet import FleetProtocol
from api.metrics import Metrics
from api.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware, UnhandledErrorMiddleware
from api.openapi import document_offered_plans, operation_id
from api.reconciler import Reconciler
from api.routes import backups, health, home, metrics, store_actions, stores, tokens
from api.routes import plans as plans_routes
from api.routes import rollouts as rollout_routes
from api.schemas import PlanOut
from api.schemas_engines import offered_engines
from api.services.backups import BackupService
from api.services.limits import Limits
from api.services.rollouts import RolloutService
from api.services.stores import StoreService
from api.settings import Settings

API_DESCRIPTION = """\
Create, watch and delete stores; every call needs a bearer token (see *Authorize*).

Every error answers `{"error": {"code", "message"}}`: `code` is stable and each operation lists the
ones it can return; `message` is one sentence for people. Stores are created and deleted
asynchronously: `202` with the store, then follow `status` (or the event stream) to `ready` or
`deleted`. Store names are unique among the live stores of all owners, since they name namespaces.
"""

TAGS = [
    {"name": "stores", "description": "Stores, their events and their admin login."},
    {"name": "backups", "description": "Store backups in the object store, and restoring them."},
    {
        "name": "rollouts",
        "description": "Environment revisions and their rollout over the fleet (admins only).",
    },
    {"name": "tokens", "description": "API tokens and the caller's identity."},
    {"name": "health", "description": "Liveness and readiness probes (no token)."},
    {"name": "metrics", "description": "Prometheus metrics (no token)."},
]


def offered_plans(env: environments.Environment) -> list[PlanOut]:
    """The environment's size plans, as the API shows them."""
    out = []
    for name, plan in sorted(env.plans.items()):
        resources = plan.resources.model_dump(mode="json")
        out.append(PlanOut(name=name, description=plan.description, resources=resources))
    return out


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
    environment = environments.load(settings.environment)
    plans = offered_plans(environment)
    service = StoreService(
        engine=engine,
        limits=Limits.from_settings(settings),
        plans=[plan.name for plan in plans],
        engines=environment.engines,
        reserved_domain=environment.domain,
        clock=clock,
        on_change=reconciler.wake if reconciler is not None else None,
    )
    rollout_service = RolloutService(
        engine=engine,
        environment=environment,
        settings=settings,
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
        rollouts=rollout_service,
        backups=BackupService(
            engine=engine,
            fleet=fleet,
            configured=settings.backup_url is not None,
            clock=clock,
            on_change=reconciler.wake if reconciler is not None else None,
        ),
        plans=plans,
        engines=offered_engines(environment.engines),
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
    app.add_middleware(UnhandledErrorMiddleware, with_messages=settings.log_error_messages)
    app.add_middleware(
        SecurityHeadersMiddleware, https=(settings.public_url or "").lower().startswith("https://")
    )
    document_offered_plans(app, [plan.name for plan in plans], environment.engines)
    handlers.install(app)
    for module in (
        stores,
        store_actions,
        backups,
        plans_routes,
        rollout_routes,
        tokens,
        health,
        metrics,
        home,
    ):
        app.include_router(module.router)
    return app
