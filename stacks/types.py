"""Plain data the stacks layer takes and returns: a store's spec, its outputs, progress, credentials.

Pydantic models, so the API layer can validate and serialise them without knowing Pulumi.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

STORE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
ENGINES = ("woocommerce", "medusa")
"""Every store engine the code knows; an environment offers a subset (``Environment.engines``)."""


def validate_store_name(value: str) -> str:
    """A DNS label of 3-40 chars: lowercase letters, digits and '-', starting with a letter."""
    if not STORE_NAME_RE.fullmatch(value) or "--" in value:
        raise ValueError(
            "must be 3-40 characters of lowercase letters, digits and '-', "
            "start with a letter, end with a letter or digit, and have no '--'"
        )
    return value


MAX_DOMAINS = 5


class StoreSpec(BaseModel):
    """What a user asks for: everything else comes from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="DNS label, 3-40 characters; the namespace is store-<name>")
    engine: Literal["woocommerce", "medusa"] = Field(default="woocommerce", description="the store engine")
    title: str = Field(default="", max_length=120, description="the shop's title; defaults to the name")
    admin_email: str = Field(
        default="admin@example.com",
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="the WordPress administrator's e-mail",
    )
    plan: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]{1,31}$",
        description="a size plan of the environment (its resources and quota); none: the defaults",
    )
    domains: tuple[str, ...] = Field(
        default=(),
        max_length=MAX_DOMAINS,
        description="extra host names the Ingress serves (TLS from the environment's issuer); "
        "WordPress answers on its primary one, <name>.<domain>",
    )
    suspended: bool = Field(
        default=False, description="workloads scaled to zero (no pod runs), volumes and credentials kept"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_store_name(value)

    @property
    def display_title(self) -> str:
        return self.title or self.name


class Revision(BaseModel):
    """An environment revision a store is built from (``environments.revisions``): its number
    (0: the environment file as it is) and the overrides applied to the file."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(default=0, ge=0)
    overrides: dict[str, Any] = Field(default_factory=dict)


BASE_REVISION = Revision()


class Progress(BaseModel):
    """One progress report from a running operation, built from Pulumi engine events."""

    operation: Literal["up", "destroy", "refresh", "preview"]
    done: int
    total: int
    step: str
    # resources started and not finished yet, each as its last known state ("creating Service web")
    in_flight: tuple[str, ...] = ()


class StoreInfo(BaseModel):
    """A store's stack as Pulumi knows it: its outputs and its last update."""

    name: str
    namespace: str
    url: str
    admin_url: str
    admin_user: str
    web_address: str = ""
    """``ip:port`` of the store's web Service (the storefront check's ``service`` route)."""
    last_update: dt.datetime | None = None
    last_result: str | None = None
    resource_count: int = 0


class Drift(BaseModel):
    """What an ``up`` would change to bring the store's objects back to its program
    (``Fleet.check_drift``): counts by operation and, in order, up to 50 of the changes."""

    changes: dict[str, int] = Field(default_factory=dict)  # {"create": 1, "update": 2}
    resources: list[str] = Field(default_factory=list)  # "create NetworkPolicy store-a-default-deny"

    @property
    def drifted(self) -> bool:
        return bool(self.changes)

    def summary(self) -> str:
        if not self.changes:
            return "no drift"
        counts = ", ".join(f"{n} to {op}" for op, n in sorted(self.changes.items()))
        return f"{counts}: " + "; ".join(self.resources[:5]) + (" ..." if len(self.resources) > 5 else "")


class Credentials(BaseModel):
    """The WordPress admin login; only the audited credentials endpoint returns it."""

    admin_user: str
    admin_password: SecretStr


OperationName = Literal["up", "destroy", "refresh", "preview"]
