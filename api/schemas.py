"""The JSON shapes of the HTTP API: request bodies (validated, unknown fields rejected) and responses.

Used by the routes and the store service; response models are built from the SQL rows here so the
wire format lives in one place. Timestamps go out as ISO 8601 in UTC. The rules of single values
(names, text, e-mail, plans, host names) are in ``api.input_rules``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

from api.input_rules import (
    HOST_PATTERN,
    MAX_TOKEN_SECONDS,
    PLAN_PATTERN,
    STORE_NAME_PATTERN,
    TEXT_PATTERN,
    check_domains,
    check_email,
    check_plan,
    check_text,
)
from api.models import Desired, Event, Status, Store
from api.schemas_backups import FromBackup
from stacks.types import ENGINES, MAX_DOMAINS, StoreSpec, validate_store_name


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive-UTC database timestamp as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class _PlanAndDomains(BaseModel):
    """The size plan and custom host names, which a store takes at create and by a change."""

    plan: StrictStr | None = Field(
        default=None,
        min_length=2,
        max_length=32,
        description="a size plan of the environment (GET /api/v1/plans); null: the environment's defaults",
        json_schema_extra={"pattern": PLAN_PATTERN},
    )
    domains: list[StrictStr] = Field(
        default_factory=list,
        max_length=MAX_DOMAINS,
        description="extra host names the store's Ingress serves (lowercase DNS names with a '.', none "
        "under the environment's own domain, each at most one store's); TLS from the environment's "
        "issuer; WordPress answers on <name>.<domain> and redirects these there",
        json_schema_extra={
            "uniqueItems": True,
            "items": {"type": "string", "pattern": HOST_PATTERN, "maxLength": 253},
        },
    )

    @field_validator("plan")
    @classmethod
    def _plan(cls, value: str | None) -> str | None:
        return None if value is None else check_plan(value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return check_domains(value)


class CreateStoreRequest(_PlanAndDomains):
    """Body of ``POST /api/v1/stores``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "shop", "engine": "woocommerce", "title": "My Shop", "admin_email": "me@example.com"}
            ],
            # Plans size WooCommerce stores: a Medusa store takes none (api.services.limits.check_engine).
            "if": {"properties": {"engine": {"const": "medusa"}}, "required": ["engine"]},
            "then": {"properties": {"plan": {"type": "null"}}},
        },
    )

    name: StrictStr = Field(
        min_length=3,
        max_length=40,
        description="DNS label: lowercase letters, digits and single '-', a letter first; names the "
        "namespace `store-<name>`. Unique among live stores of every owner.",
        json_schema_extra={"pattern": STORE_NAME_PATTERN},
    )
    engine: Literal["woocommerce", "medusa"] = Field(
        description="the store engine: woocommerce (WordPress + WooCommerce + MySQL) or medusa "
        "(MedusaJS + PostgreSQL), where the environment offers it (GET /api/v1/engines)"
    )
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

    expires_in_seconds: int | None = Field(
        default=None,
        ge=60,
        le=MAX_TOKEN_SECONDS,
        description="delete the store this many seconds after it was created (demo stores); default never",
    )

    from_backup: FromBackup | None = Field(
        default=None,
        description="clone: the new store starts with this backup's data (same engine), under its own "
        "host name and credentials; it is `restoring` until the data is in, then `ready`",
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
        return StoreSpec(
            name=self.name,
            engine=self.engine,
            title=self.title,
            plan=self.plan,
            domains=tuple(self.domains),
            **extra,
        )


class UpdateStoreRequest(_PlanAndDomains):
    """Body of ``PATCH /api/v1/stores/{name}``: the fields to change; those left out keep their value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "minProperties": 1,
            "examples": [{"title": "My Better Shop"}, {"admin_email": "owner@example.com"}],
        },
    )

    title: StrictStr = Field(
        default="",
        max_length=120,
        description="the shop's title, printable text (empty: the name)",
        json_schema_extra={"pattern": TEXT_PATTERN},
    )
    admin_email: StrictStr = Field(
        default="",
        max_length=254,
        description="the administrator's e-mail (the same rules as at create)",
        json_schema_extra={"format": "email"},
    )

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return check_text(value)

    @field_validator("admin_email")
    @classmethod
    def _admin_email(cls, value: str) -> str:
        return check_email(value)

    @model_validator(mode="after")
    def _something(self) -> UpdateStoreRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change: title, admin_email, plan, domains")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given, with their new values (``null`` only for ``plan``: the defaults)."""
        given = {field: getattr(self, field) for field in sorted(self.model_fields_set)}
        if "domains" in given:
            given["domains"] = tuple(given["domains"])
        return given


class PlanOut(BaseModel):
    """A size plan of the environment, as ``GET /api/v1/plans`` lists it."""

    name: str
    description: str
    resources: dict[str, dict[str, dict[str, str]]] = Field(
        description="per container (mysql, wordpress, setup): requests and limits of cpu and memory"
    )


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
    "admin_email": "me@example.com",
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
    "expires_at": None,
    "backup_kept_until": None,
    "plan": None,
    "domains": [],
    "suspended": False,
    "drift": {"drifted": False, "summary": None, "checked_at": "2026-12-01T11:02:10Z"},
    "revision": 2,
    "applied_revision": 2,
    "attempts": 1,
    "last_error": None,
}


class DriftOut(BaseModel):
    """What the store's last drift check found (objects changed or deleted outside Storestack)."""

    drifted: bool = Field(description="the last check found objects that differ from the store's program")
    summary: str | None = Field(description="what differs, e.g. '1 to create: NetworkPolicy default-deny'")
    checked_at: dt.datetime | None = Field(description="when the last check ran; null: not yet")


class StoreOut(BaseModel):
    """A store as the API shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_STORE_EXAMPLE]})

    name: str
    engine: Literal[ENGINES]  # type: ignore[valid-type]
    title: str
    admin_email: str = Field(description="the WordPress administrator's e-mail")
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
    expires_at: dt.datetime | None = Field(description="when the store is deleted by itself; null: never")
    backup_kept_until: dt.datetime | None = Field(
        default=None,
        description="a deleted store's newest backup is kept until then (the environment's "
        "backups.keep_after_delete_days); null: none kept",
    )
    plan: str | None = Field(description="its size plan; null: the environment's defaults")
    domains: list[str] = Field(description="the extra host names its Ingress serves")
    suspended: bool = Field(
        description="its workloads are scaled to zero and its data kept (resume brings it back)"
    )
    drift: DriftOut
    revision: int = Field(description="the environment revision it is to be on (0: the environment file)")
    applied_revision: int | None = Field(
        description="the revision its last successful provisioning applied; null: not provisioned yet"
    )
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
            admin_email=str(spec.get("admin_email") or StoreSpec.model_fields["admin_email"].default),
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
            expires_at=as_utc(store.expires_at),
            backup_kept_until=as_utc(store.backup_kept_until),
            plan=spec.get("plan"),
            domains=list(spec.get("domains") or []),
            suspended=store.suspended,
            revision=store.revision,
            applied_revision=store.applied_revision,
            drift=DriftOut(
                drifted=store.drifted, summary=store.drift_summary, checked_at=as_utc(store.drift_checked_at)
            ),
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


class Health(BaseModel):
    status: Literal["ok"]


class ReadyChecks(BaseModel):
    database: bool
    cluster: bool


class Readiness(BaseModel):
    """``ready`` when the database and the cluster answer (then 200, else 503)."""

    status: Literal["ready", "unready"]
    checks: ReadyChecks
