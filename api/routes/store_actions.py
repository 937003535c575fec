"""``/api/v1/stores/{name}/...``: what can be asked of a live store besides a change of its spec:
retry a failed one, repair drift, check for drift now, suspend and resume.

Each route calls one ``api.services.stores.StoreService`` method, which records the request (and
its audit event) and wakes the reconciler; every one answers ``202`` with the store.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Context, CurrentPrincipal
from api.openapi import AUTH, VALIDATION, errors
from api.routes.stores import NOT_FOUND, StoreName, accepted
from api.schemas import StoreOut

router = APIRouter(prefix="/api/v1", tags=["stores"])
_STATE = errors(AUTH, NOT_FOUND, VALIDATION, {409: ("invalid_state",)})
_QUOTA = errors(AUTH, NOT_FOUND, VALIDATION, {409: ("invalid_state",), 429: ("quota_exceeded",)})


@router.post("/stores/{name}/retry", status_code=202, response_model=StoreOut, responses=_STATE)
def retry_store(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Run a failed store's operation again."""
    return accepted(ctx.service.retry(principal, name))


@router.post("/stores/{name}/repair", status_code=202, response_model=StoreOut, responses=_STATE)
def repair_store(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Converge the store with an ``up`` that reads the cluster back first: objects deleted or
    changed by hand are put back as the store's program declares them."""
    return accepted(ctx.service.repair(principal, name))


@router.post("/stores/{name}/check-drift", status_code=202, response_model=StoreOut, responses=_STATE)
def check_store_drift(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Check a ready store for drift now (it is also checked every ``drift_check_seconds``); the
    result shows in the store's ``drift`` and as a ``drift`` event."""
    return accepted(ctx.service.check_drift(principal, name))


@router.post("/stores/{name}/suspend", status_code=202, response_model=StoreOut, responses=_QUOTA)
def suspend_store(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Scale the store's workloads to zero; its volumes, credentials and Ingress stay. Its host then
    has no backend: the ingress controller answers 503 until the store is resumed."""
    return accepted(ctx.service.suspend(principal, name))


@router.post("/stores/{name}/resume", status_code=202, response_model=StoreOut, responses=_QUOTA)
def resume_store(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Bring a suspended store back on the data it kept (it counts as active again)."""
    return accepted(ctx.service.resume(principal, name))
