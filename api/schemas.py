"""The JSON shapes of the HTTP API: request bodies (validated, unknown fields rejected) and responses.

Used by the routes and the store service; response models are built from the SQL rows here so the
wire format lives in one place. Timestamps go out as ISO 8601 in UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from api.models import Desired, Event, Role, Status, Store, Token
from stacks.types import ENGINES, StoreSpec, validate_store_name

MAX_TOKEN_SECONDS = 10 * 366 * 24 * 3600  # ten years
OWNER_PATTERN = r"^[a-z0-9][a-z0-9._@-]{0,62}[a-z0-9]$|^[a-z0-9]$"
# A store name as a JSON-schema pattern: the same set ``validate_store_name`` accepts (with 3-40
# characters): a letter first, then letters and digits, each optionally after a single '-'.
STORE_NAME_PATTERN = r"^[a-z](-?[a-z0-9])*$"
# Printable text: no control characters (C0, DEL, C1), line/paragraph separators or bidirectional
# overrides; everything else in Unicode is allowed. The check also refuses lone surrogates (which
# JSON can escape but no Unicode text holds, so the documented pattern need not name them).
_NOT_TEXT = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
TEXT_PATTERN = "^[^" + _NOT_TEXT + "]*$"
_TEXT_RE = re.compile("^[^" + _NOT_TEXT + r"\ud800-\udfff]*$")


def check_text(value: str) -> str:
    """``value`` if it is printable text (see ``TEXT_PATTERN``), else ``ValueError``."""
    if not _TEXT_RE.fullmatch(value):
        raise ValueError("must be printable text without control characters")
    return value


def check_email(value: str) -> str:
    """An ASCII e-mail address a mail system (and WordPress) accepts, normalised; else ``ValueError``."""
    try:
        # ``.test`` domains are allowed (test stores); no DNS lookup is made.
        result = validate_email(
            value, check_deliverability=False, allow_smtputf8=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise ValueError(f"must be an e-mail address ({exc})") from None
    return str(result.normalized)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive-UTC database timestamp as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class CreateStoreRequest(BaseModel):
    """Body of ``POST /api/v1/stores``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "shop", "engine": "woocommerce", "title": "My Shop", "admin_email": "me@example.com"}
            ]
        },
    )

    name: StrictStr = Field(
        min_length=3,
        max_length=40,
        description="DNS label: lowercase letters, digits and single '-', a letter first; names the "
        "namespace `store-<name>`. Unique among live stores of every owner.",
        json_schema_extra={"pattern": STORE_NAME_PATTERN},
    )
    engine: Literal["woocommerce"] = Field(description="the store engine")
    title: StrictStr = Field(
        default="",
        max_length=120,
        description="the shop's title, printable text (default: the name)",
        json_schema_extra={"pattern": TEXT_PATTERN},
    )
    admin_email: StrictStr | None = Field(
        default=None,
        max_length=254,
        description="the administrator's e-mail: an ASCII address whose domain has a '.' and is not "
        "special-use (.local, .localhost, .invalid, .onion, .arpa); default admin@example.com",
        json_schema_extra={"format": "email"},
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_store_name(value)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return check_text(value)

    @field_validator("admin_email")
    @classmethod
    def _admin_email(cls, value: str | None) -> str | None:
        return None if value is None else check_email(value)

    def to_spec(self) -> StoreSpec:
        extra: dict[str, Any] = {"admin_email": self.admin_email} if self.admin_email else {}
        return StoreSpec(name=self.name, engine=self.engine, title=self.title, **extra)


class ProgressOut(BaseModel):
    done: int
    total: int
    step: str


class ErrorInfo(BaseModel):
    code: str
    message: str


_STORE_EXAMPLE: dict[str, Any] = {
    "name": "shop",
    "engine": "woocommerce",
    "title": "My Shop",
    "status": "ready",
    "desired": "present",
    "progress": {"done": 14, "total": 14, "step": "created Ingress shop-ingress"},
    "url": "http://shop.storestack.localhost",
    "admin_url": "http://shop.storestack.localhost/wp-admin/",
    "namespace": "store-shop",
    "owner": "alice",
    "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:00:43Z",
    "ready_at": "2026-12-01T10:00:43Z",
    "deleted_at": None,
    "attempts": 1,
    "last_error": None,
}


class StoreOut(BaseModel):
    """A store as the API shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_STORE_EXAMPLE]})

    name: str
    engine: Literal[ENGINES]  # type: ignore[valid-type]
    title: str
    status: Status = Field(description="where the store is; `deleted` ones only with include_deleted")
    desired: Desired = Field(description="what was asked for: present until a delete")
    progress: ProgressOut
    url: str | None
    admin_url: str | None
    namespace: str | None
    owner: str
    created_at: dt.datetime
    updated_at: dt.datetime
    ready_at: dt.datetime | None
    deleted_at: dt.datetime | None
    attempts: int
    last_error: ErrorInfo | None

    @classmethod
    def from_row(cls, store: Store) -> StoreOut:
        spec = json.loads(store.spec_json)
        error = None
        if store.last_error_code:
            error = ErrorInfo(code=store.last_error_code, message=store.last_error_message or "")
        created = as_utc(store.created_at)
        updated = as_utc(store.updated_at)
        assert created is not None and updated is not None
        return cls(
            name=store.name,
            engine=store.engine,
            title=str(spec.get("title") or ""),
            status=Status(store.status),
            desired=Desired(store.desired),
            progress=ProgressOut(
                done=store.progress_done, total=store.progress_total, step=store.progress_step
            ),
            url=store.url,
            admin_url=store.admin_url,
            namespace=store.namespace,
            owner=store.owner,
            created_at=created,
            updated_at=updated,
            ready_at=as_utc(store.ready_at),
            deleted_at=as_utc(store.deleted_at),
            attempts=store.attempts,
            last_error=error,
        )


class StoreList(BaseModel):
    """One page of stores; ``count`` is the total that match, over all pages."""

    items: list[StoreOut]
    count: int
    limit: int
    offset: int


class EventOut(BaseModel):
    """One event of a store's history."""

    id: int
    store: str
    kind: str
    message: str
    actor: str
    created_at: dt.datetime
    data: dict[str, Any] | None

    @classmethod
    def from_row(cls, event: Event) -> EventOut:
        created = as_utc(event.created_at)
        assert event.id is not None and created is not None
        return cls(
            id=event.id,
            store=event.store_name,
            kind=event.kind,
            message=event.message,
            actor=event.actor,
            created_at=created,
            data=json.loads(event.data_json) if event.data_json else None,
        )


class CredentialsOut(BaseModel):
    """The store's admin login (only from the audited credentials endpoint)."""

    name: str
    admin_url: str | None
    admin_user: str
    admin_password: str


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


class Health(BaseModel):
    status: Literal["ok"]


class ReadyChecks(BaseModel):
    database: bool
    cluster: bool


class Readiness(BaseModel):
    """``ready`` when the database and the cluster answer (then 200, else 503)."""

    status: Literal["ready", "unready"]
    checks: ReadyChecks
