"""Bearer-token authentication: tokens map to an owner and a role (admin or owner).

Tokens are random strings shown once; only their SHA-256 is stored. A token may expire, and is
revoked by ``DELETE /api/v1/tokens/{id}`` or ``storestack token revoke``; either takes effect on the
next request, and open event streams end. Used by the routes (through ``api.deps``), by the
``storestack token`` commands and by ``storestack serve`` (which makes the first admin token on a
fresh data dir). Admins see every store; owners only their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from api.db import transaction, utcnow
from api.errors import NotFoundError, UnauthorizedError, ValidationFailedError
from api.input_rules import OWNER_PATTERN
from api.models import Role, Token

TOKEN_PREFIX = "sst_"  # noqa: S105 - a prefix, not a secret
_OWNER_RE = re.compile(OWNER_PATTERN)


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: the token's owner and role."""

    owner: str
    role: Role
    token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenNotFoundError(NotFoundError):
    code = "token_not_found"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"no token with id {token_id}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    engine: Engine, *, owner: str, role: Role = Role.OWNER, expires_in: dt.timedelta | None = None
) -> str:
    """Make a token for ``owner``; returns the plaintext (the only time it exists)."""
    return create_token_row(engine, owner=owner, role=role, expires_in=expires_in)[1]


def create_token_row(
    engine: Engine, *, owner: str, role: Role = Role.OWNER, expires_in: dt.timedelta | None = None
) -> tuple[Token, str]:
    """Make a token for ``owner``: its row and its plaintext (the only time that exists)."""
    if not _OWNER_RE.fullmatch(owner):
        raise ValidationFailedError(
            "owner: must be 1-64 characters of lowercase letters, digits, '.', '_', '@' and '-'"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = Token(
        token_hash=hash_token(token),
        owner=owner,
        role=role.value,
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    with transaction(engine) as session:
        session.add(row)
        session.flush()
        session.refresh(row)
        session.expunge(row)
    return row, token


def _usable(now: dt.datetime) -> Any:
    return (col(Token.revoked_at).is_(None)) & (
        col(Token.expires_at).is_(None) | (col(Token.expires_at) > now)
    )


def list_tokens(engine: Engine, *, owner: str | None = None) -> list[Token]:
    """Every token (of ``owner``, if given), oldest first, revoked and expired ones included."""
    with transaction(engine) as session:
        query = select(Token).order_by(col(Token.id))
        if owner is not None:
            query = query.where(Token.owner == owner)
        rows = list(session.exec(query).all())
        for row in rows:
            session.expunge(row)
    return rows


def revoke_token(engine: Engine, token_id: int, *, owner: str | None = None) -> Token:
    """Revoke the token (of ``owner``, if given; another's is not found). Repeating it is harmless."""
    with transaction(engine) as session:
        row = session.get(Token, token_id)
        if row is None or (owner is not None and row.owner != owner):
            raise TokenNotFoundError(token_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
            session.flush()
        session.refresh(row)
        session.expunge(row)
    return row


def token_active(engine: Engine, token_id: int) -> bool:
    """Whether the token is neither revoked nor expired (open event streams ask between polls)."""
    with transaction(engine) as session:
        found = session.exec(select(Token.id).where(Token.id == token_id, _usable(utcnow()))).first()
    return found is not None


def has_admin_token(engine: Engine) -> bool:
    with transaction(engine) as session:
        found = session.exec(
            select(Token.id).where(Token.role == Role.ADMIN.value, _usable(utcnow())).limit(1)
        ).first()
    return found is not None


def authenticate(engine: Engine, authorization: str | None) -> Principal:
    """The principal for an ``Authorization: Bearer <token>`` header, else ``UnauthorizedError``."""
    if not authorization:
        raise UnauthorizedError()
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise UnauthorizedError()
    now = utcnow()
    with transaction(engine) as session:
        row = session.exec(select(Token).where(Token.token_hash == hash_token(token), _usable(now))).first()
        if row is None:
            raise UnauthorizedError("the bearer token is not valid (unknown, revoked or expired)")
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = now
            session.add(row)
        principal = Principal(owner=row.owner, role=Role(row.role), token_id=row.id)
    return principal
