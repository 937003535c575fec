"""``/api/v1/tokens`` and ``/api/v1/whoami``: admins make API tokens for owners (shown once, stored
hashed); any caller can ask who its token says it is."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import create_token as make_token
from api.deps import Context, CurrentPrincipal
from api.errors import ForbiddenError
from api.openapi import AUTH, BODY, VALIDATION, errors
from api.schemas import TokenCreateRequest, TokenOut, WhoAmI

router = APIRouter(prefix="/api/v1", tags=["tokens"])


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenOut,
    responses=errors(AUTH, {403: ("forbidden",)}, BODY, VALIDATION),
)
def create_token(body: TokenCreateRequest, ctx: Context, principal: CurrentPrincipal) -> TokenOut:
    """Make a token for an owner (admins only); the plaintext is in this response only."""
    if not principal.is_admin:
        raise ForbiddenError("only admins can create tokens")
    token = make_token(ctx.engine, owner=body.owner, role=body.role)
    return TokenOut(owner=body.owner, role=body.role, token=token)


@router.get("/whoami", response_model=WhoAmI, responses=errors(AUTH))
def whoami(principal: CurrentPrincipal) -> WhoAmI:
    """The caller's owner name and role (the CLI uses it to check a token)."""
    return WhoAmI(owner=principal.owner, role=principal.role)
