"""``/api/v1/tokens`` and ``/api/v1/whoami``: admins make API tokens for owners (shown once, stored
hashed); admins list and revoke any token, owners their own; any caller can ask who it is."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api import auth
from api.db import utcnow
from api.deps import Context, CurrentPrincipal
from api.errors import ForbiddenError
from api.input_rules import OWNER_PATTERN
from api.openapi import AUTH, BODY, VALIDATION, errors
from api.schemas_tokens import TokenCreateRequest, TokenInfo, TokenOut, WhoAmI
from api.sse import MAX_SQL_INT

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
    expires = dt.timedelta(seconds=body.expires_in_seconds) if body.expires_in_seconds else None
    row, token = auth.create_token_row(ctx.engine, owner=body.owner, role=body.role, expires_in=expires)
    return TokenOut(**TokenInfo.from_row(row, utcnow()).model_dump(), token=token)


@router.get(
    "/tokens", response_model=list[TokenInfo], responses=errors(AUTH, {403: ("forbidden",)}, VALIDATION)
)
def list_tokens(
    ctx: Context,
    principal: CurrentPrincipal,
    owner: Annotated[
        str | None, Query(pattern=OWNER_PATTERN, max_length=64, description="only this owner's (admins)")
    ] = None,
) -> list[TokenInfo]:
    """Tokens, oldest first, without their secret: an admin's view is every token, an owner's its own."""
    if not principal.is_admin:
        if owner not in (None, principal.owner):
            raise ForbiddenError("owners can list only their own tokens")
        owner = principal.owner
    now = utcnow()
    return [TokenInfo.from_row(row, now) for row in auth.list_tokens(ctx.engine, owner=owner)]


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenInfo,
    responses=errors(AUTH, {404: ("token_not_found",)}, VALIDATION),
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT, description="the token's id (from the list)")],
    ctx: Context,
    principal: CurrentPrincipal,
) -> TokenInfo:
    """Revoke a token (admins: any; owners: their own). It gets 401 from the next request on, and
    event streams it opened end; repeating the call is harmless."""
    row = auth.revoke_token(ctx.engine, token_id, owner=None if principal.is_admin else principal.owner)
    return TokenInfo.from_row(row, utcnow())


@router.get("/whoami", response_model=WhoAmI, responses=errors(AUTH))
def whoami(principal: CurrentPrincipal) -> WhoAmI:
    """The caller's owner name and role (the CLI uses it to check a token)."""
    return WhoAmI(owner=principal.owner, role=principal.role)
