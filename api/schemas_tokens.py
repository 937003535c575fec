"""Request and response bodies of ``/api/v1/tokens`` and ``/api/v1/whoami`` (``api.routes.tokens``).

Used by the token routes and the OpenAPI document. A token's secret appears only in ``TokenOut``,
once, when it is made; listings (``TokenInfo``) never hold it.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from api.input_rules import MAX_TOKEN_SECONDS, OWNER_PATTERN
from api.models import Role, Token
from api.schemas import as_utc


class TokenCreateRequest(BaseModel):
    """Body of ``POST /api/v1/tokens`` (admins only)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"owner": "alice", "expires_in_seconds": 2592000}]}
    )

    owner: StrictStr = Field(pattern=OWNER_PATTERN, max_length=64, description="owner name the token acts as")
    role: Role = Role.OWNER
    expires_in_seconds: int | None = Field(
        default=None,
        ge=60,
        le=MAX_TOKEN_SECONDS,
        description="the token stops working after this; default never",
    )


class TokenInfo(BaseModel):
    """A token as listed: everything but the token itself (which is stored only hashed)."""

    id: int
    owner: str
    role: Role
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None = Field(description="to the minute")
    revoked_at: dt.datetime | None
    active: bool = Field(description="neither revoked nor expired")

    @classmethod
    def from_row(cls, token: Token, now: dt.datetime) -> TokenInfo:
        created = as_utc(token.created_at)
        assert token.id is not None and created is not None
        expired = token.expires_at is not None and token.expires_at <= now
        return cls(
            id=token.id,
            owner=token.owner,
            role=Role(token.role),
            created_at=created,
            expires_at=as_utc(token.expires_at),
            last_used_at=as_utc(token.last_used_at),
            revoked_at=as_utc(token.revoked_at),
            active=token.revoked_at is None and not expired,
        )


class TokenOut(TokenInfo):
    """A freshly made token: shown once, stored only hashed."""

    token: str = Field(description="the bearer token; shown only this once")


class WhoAmI(BaseModel):
    """The caller, as the token says."""

    owner: str
    role: Role
