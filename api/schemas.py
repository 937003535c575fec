"""The JSON shapes of the HTTP API: request bodies (validated, unknown fields rejected) and responses.

Used by the routes and the store service; response models are built from the SQL rows here so the
wire format lives in one place. Timestamps go out as ISO 8601 in UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from api.models import Event, Store
from stacks.types import StoreSpec, validate_store_name

OWNER_PATTERN = r"^[a-z0-9][a-z0-9._@-]{0,62}[a-z0-9]$|^[a-z0-9]$"


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive-UTC database timestamp as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class CreateStoreRequest(BaseModel):
    """Body of ``POST /api/v1/stores``."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(max_length=40, description="DNS label, 3-40 characters")
    engine: Literal["woocommerce"] = Field(description="the store engine")
    title: StrictStr = Field(default="", max_length=120, description="the shop's title")
    admin_email: StrictStr | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="admin e-mail"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_store_name(value)

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


class StoreOut(BaseModel):
    """A store as the API shows it."""

    name: str
    engine: str
    title: str
    status: str
    desired: str
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
            status=store.status,
            desired=store.desired,
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

    model_config = ConfigDict(extra="forbid")

    owner: StrictStr = Field(pattern=OWNER_PATTERN, description="owner name the token acts as")
    role: Literal["owner", "admin"] = "owner"


class TokenOut(BaseModel):
    """A freshly made token: shown once, stored only hashed."""

    owner: str
    role: str
    token: str
