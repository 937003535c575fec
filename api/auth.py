"""Bearer-token authentication: tokens map to an owner and a role (admin or owner).

Tokens are random strings shown once; only their SHA-256 is stored. Used by the routes (through
``api.deps``), by ``storestack token create`` and by ``storestack serve`` (which makes the first admin
token on a fresh data dir). Admins see every store; owners only their own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from api.db import transaction, utcnow
from api.errors import UnauthorizedError, ValidationFailedError
from api.models import Role, Token
from api.schemas import OWNER_PATTERN

TOKEN_PREFIX = "sst_"  # noqa: S105 - a prefix, not a secret
_OWNER_RE = re.compile(OWNER_PATTERN)


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: the token's owner and role."""

    owner: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, *, owner: str, role: Role = Role.OWNER) -> str:
    """Make a token for ``owner``; returns the plaintext (the only time it exists)."""
    if not _OWNER_RE.fullmatch(owner):
        raise ValidationFailedError(
            "owner: must be 1-64 characters of lowercase letters, digits, '.', '_', '@' and '-'"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(engine) as session:
        session.add(Token(token_hash=hash_token(token), owner=owner, role=role.value, created_at=utcnow()))
    return token


def has_admin_token(engine: Engine) -> bool:
    with transaction(engine) as session:
        found = session.exec(
            select(Token.id).where(Token.role == Role.ADMIN.value, col(Token.revoked_at).is_(None)).limit(1)
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
    with transaction(engine) as session:
        row = session.exec(
            select(Token).where(Token.token_hash == hash_token(token), col(Token.revoked_at).is_(None))
        ).first()
    if row is None:
        raise UnauthorizedError("the bearer token is not valid")
    return Principal(owner=row.owner, role=Role(row.role))
