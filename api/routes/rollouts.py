"""``/api/v1/revisions`` and ``/api/v1/rollouts``: record an environment revision, roll it out over the
fleet (canary, then growing waves, stopped and rolled back by a failure), pause, resume or abort it,
and watch it. Admins only: a revision changes every store. Each route calls one
``api.services.rollouts.RolloutService`` method.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import Principal
from api.deps import Context, CurrentPrincipal
from api.errors import ForbiddenError
from api.openapi import AUTH, BODY, VALIDATION, errors
from api.schemas_rollouts import CreateRevisionRequest, CreateRolloutRequest, RevisionOut, RolloutOut
from api.sse import MAX_SQL_INT

router = APIRouter(prefix="/api/v1", tags=["rollouts"])
ADMIN = {403: ("forbidden",)}
RevisionNumber = Annotated[int, Path(ge=0, le=MAX_SQL_INT, description="the revision's number")]
RolloutId = Annotated[int, Path(ge=1, le=MAX_SQL_INT, description="the rollout's id")]
_ROLLOUT = errors(AUTH, ADMIN, VALIDATION, {404: ("rollout_not_found",), 409: ("invalid_state",)})


def _admin(principal: Principal) -> str:
    if not principal.is_admin:
        raise ForbiddenError("only admins can see and change environment revisions and rollouts")
    return principal.owner


@router.get("/revisions", response_model=list[RevisionOut], responses=errors(AUTH, ADMIN))
def list_revisions(ctx: Context, principal: CurrentPrincipal) -> list[RevisionOut]:
    """Every environment revision, oldest first, with how many live stores are on each."""
    _admin(principal)
    return ctx.rollouts.revisions()


@router.post(
    "/revisions",
    status_code=201,
    response_model=RevisionOut,
    responses=errors(AUTH, ADMIN, BODY, VALIDATION, {404: ("revision_not_found",)}),
)
def create_revision(body: CreateRevisionRequest, ctx: Context, principal: CurrentPrincipal) -> RevisionOut:
    """Record the next revision: its parent's overrides with ``changes`` merged in, validated as an
    environment file is (a 422 names the field). Nothing changes until it is rolled out."""
    return ctx.rollouts.create_revision(_admin(principal), body)


@router.get(
    "/revisions/{number}",
    response_model=RevisionOut,
    responses=errors(AUTH, ADMIN, VALIDATION, {404: ("revision_not_found",)}),
)
def get_revision(number: RevisionNumber, ctx: Context, principal: CurrentPrincipal) -> RevisionOut:
    """One revision."""
    _admin(principal)
    return ctx.rollouts.revision(number)


@router.post(
    "/rollouts",
    status_code=201,
    response_model=RolloutOut,
    responses=errors(
        AUTH,
        ADMIN,
        BODY,
        VALIDATION,
        {404: ("revision_not_found",), 409: ("rollout_active", "invalid_state")},
    ),
)
def start_rollout(body: CreateRolloutRequest, ctx: Context, principal: CurrentPrincipal) -> RolloutOut:
    """Roll ``revision`` out to every ready store not on it: the canary wave first, then waves growing
    by ``growth``, at most ``max_concurrency`` stores updating at once. A store that fails its ``up``
    (the storefront check included, where the environment has one) stops the rollout and goes back
    to its previous revision, with every store already moved when ``rollback_all``."""
    return ctx.rollouts.start(_admin(principal), body)


@router.get("/rollouts", response_model=list[RolloutOut], responses=errors(AUTH, ADMIN))
def list_rollouts(ctx: Context, principal: CurrentPrincipal) -> list[RolloutOut]:
    """The newest 50 rollouts, newest first, each with its waves, stores and events."""
    _admin(principal)
    return ctx.rollouts.list()


@router.get(
    "/rollouts/{rollout_id}",
    response_model=RolloutOut,
    responses=errors(AUTH, ADMIN, VALIDATION, {404: ("rollout_not_found",)}),
)
def get_rollout(rollout_id: RolloutId, ctx: Context, principal: CurrentPrincipal) -> RolloutOut:
    """One rollout: its state, each wave's and each store's, and its events."""
    _admin(principal)
    return ctx.rollouts.get(rollout_id)


@router.post("/rollouts/{rollout_id}/pause", response_model=RolloutOut, responses=_ROLLOUT)
def pause_rollout(rollout_id: RolloutId, ctx: Context, principal: CurrentPrincipal) -> RolloutOut:
    """Move no more stores; those updating finish (a failure among them still rolls back)."""
    return ctx.rollouts.pause(_admin(principal), rollout_id)


@router.post("/rollouts/{rollout_id}/resume", response_model=RolloutOut, responses=_ROLLOUT)
def resume_rollout(rollout_id: RolloutId, ctx: Context, principal: CurrentPrincipal) -> RolloutOut:
    """Go on with a paused rollout."""
    return ctx.rollouts.resume(_admin(principal), rollout_id)


@router.post("/rollouts/{rollout_id}/abort", response_model=RolloutOut, responses=_ROLLOUT)
def abort_rollout(rollout_id: RolloutId, ctx: Context, principal: CurrentPrincipal) -> RolloutOut:
    """End the rollout where it is: stores not started stay on their revision, those updating finish
    on the target; nothing is rolled back."""
    return ctx.rollouts.abort(_admin(principal), rollout_id)
