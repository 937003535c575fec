"""``/api/v1/plans`` and ``/api/v1/engines``: the size plans a store may choose (``plan`` at create or
in a ``PATCH``) and the engines it may be built with (``engine`` at create), from the environment the
control plane serves. Read by the CLI (``storestack plans``, ``storestack engines``) and the dashboard.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Context, CurrentPrincipal
from api.openapi import AUTH, errors
from api.schemas import PlanOut
from api.schemas_engines import EngineOut

router = APIRouter(prefix="/api/v1", tags=["stores"])


@router.get("/plans", response_model=list[PlanOut], responses=errors(AUTH))
def list_plans(ctx: Context, _principal: CurrentPrincipal) -> list[PlanOut]:
    """The environment's size plans; a store on none gets the environment's default sizes."""
    return ctx.plans


@router.get("/engines", response_model=list[EngineOut], responses=errors(AUTH))
def list_engines(ctx: Context, _principal: CurrentPrincipal) -> list[EngineOut]:
    """The store engines the environment offers (a create request's ``engine``)."""
    return ctx.engines
