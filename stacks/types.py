"""Plain data the stacks layer takes and returns: a store's spec, its outputs, progress, credentials.

Pydantic models, so the API layer can validate and serialise them without knowing Pulumi.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

STORE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
ENGINES = ("woocommerce",)


def validate_store_name(value: str) -> str:
    """A DNS label of 3-40 chars: lowercase letters, digits and '-', starting with a letter."""
    if not STORE_NAME_RE.fullmatch(value) or "--" in value:
        raise ValueError(
            "must be 3-40 characters of lowercase letters, digits and '-', "
            "start with a letter, end with a letter or digit, and have no '--'"
        )
    return value


class StoreSpec(BaseModel):
    """What a user asks for: everything else comes from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="DNS label, 3-40 characters; the namespace is store-<name>")
    engine: Literal["woocommerce"] = Field(default="woocommerce", description="the store engine")
    title: str = Field(default="", max_length=120, description="the shop's title; defaults to the name")
    admin_email: str = Field(
        default="admin@example.com",
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="the WordPress administrator's e-mail",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_store_name(value)

    @property
    def display_title(self) -> str:
        return self.title or self.name


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
    last_update: dt.datetime | None = None
    last_result: str | None = None
    resource_count: int = 0


class Credentials(BaseModel):
    """The WordPress admin login; only the audited credentials endpoint returns it."""

    admin_user: str
    admin_password: SecretStr


OperationName = Literal["up", "destroy", "refresh", "preview"]
