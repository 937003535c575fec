"""``/api/v1/plans``: the size plans a store may choose (``plan`` at create or in a ``PATCH``), from
the environment the control plane serves. Read by the CLI (``storestack plans``) and the dashboard.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Context, CurrentPrincipal
from api.openapi import AUTH, errors
from api.schemas import PlanOut

router = APIRouter(prefix="/api/v1", tags=["stores"])


@router.get("/plans", response_model=list[PlanOut], responses=errors(AUTH))
def list_plans(ctx: Context, _principal: CurrentPrincipal) -> list[PlanOut]:
    """The environment's size plans; a store on none gets the environment's default sizes."""
    return ctx.plans
