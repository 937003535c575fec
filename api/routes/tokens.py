"""``/api/v1/tokens``: admins make API tokens for owners (shown once, stored hashed)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import create_token
from api.deps import Context, CurrentPrincipal
from api.errors import ForbiddenError
from api.models import Role
from api.schemas import TokenCreateRequest, TokenOut

router = APIRouter(prefix="/api/v1", tags=["tokens"])


@router.post("/tokens", status_code=201, response_model=TokenOut)
def make_token(body: TokenCreateRequest, ctx: Context, principal: CurrentPrincipal) -> TokenOut:
    if not principal.is_admin:
        raise ForbiddenError("only admins can create tokens")
    token = create_token(ctx.engine, owner=body.owner, role=Role(body.role))
    return TokenOut(owner=body.owner, role=body.role, token=token)


@router.get("/whoami")
def whoami(principal: CurrentPrincipal) -> dict[str, str]:
    """The caller's owner name and role (the CLI uses it to check a token)."""
    return {"owner": principal.owner, "role": principal.role.value}
