"""Sections of an environment file about running stores, not placing them: web-server sizing and
uploads (``web``), the scheduled-work runner (``cron``), the outgoing-mail relay (``mail``) and the
stores' backups (``backups``).

Part of ``environments.model.Environment`` (all are optional: the defaults suit every packaged
environment, and without ``mail`` no mail leaves a store); ``stacks.program`` turns the first three
into component settings (the Apache worker count is derived there from the WordPress container's
memory limit, the relay password read from the control plane's environment); ``backups`` is the
control plane's (``api.backup_jobs``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from environments.fields import Bytes, Cpu, Strict

# Five cron fields, each a number, a range, a list or a step (no @-names, no seconds field).
_CRON_FIELD = r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*"
CRON_RE = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")


class WebConfig(Strict):
    """The storefront's web server (Apache + PHP): how many requests at once, how large an upload."""

    upload_max_size: Bytes = Field(
        default="64Mi",
        description="largest upload (product images, imports): PHP's upload_max_filesize and "
        "post_max_size, and the ingress body limit where the environment sets one",
    )
    php_memory_limit: Bytes = Field(default="256Mi", description="PHP's memory_limit for one request")
    worker_memory: Bytes = Field(
        default="64Mi",
        description="memory one Apache worker (a PHP request) is expected to take: MaxRequestWorkers is "
        "the WordPress container's memory limit less 64Mi, divided by this (at least 2)",
    )


class CronConfig(Strict):
    """WordPress's scheduled work (WP-Cron, so also WooCommerce's Action Scheduler).

    WP-Cron normally runs on page views by calling the store's own public URL, which the egress
    policy blocks; it is switched off in wp-config and a Kubernetes CronJob per store calls
    ``wp-cron.php`` through the store's Service instead."""

    schedule: str = Field(default="*/5 * * * *", description="when due events run (a cron expression)")
    cpu: Cpu = Field(default="50m", description="CPU of the cron container (request = limit)")
    memory: Bytes = Field(default="32Mi", description="memory of the cron container (request = limit)")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not CRON_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a five-field cron expression, e.g. '*/5 * * * *'")
        return value


class BackupsConfig(Strict):
    """Scheduled backups of every store (``api.backup_jobs``; where they go is the control plane's
    ``STORESTACK_BACKUP_URL``), how many are kept, and how long a deleted store's last one stays."""

    every_hours: float = Field(
        default=0, ge=0, description="a backup of each ready store this often (0: on demand only)"
    )
    keep_daily: int = Field(default=7, ge=0, description="keep the newest backup of each of this many days")
    keep_weekly: int = Field(default=4, ge=0, description="keep the newest backup of each of this many weeks")
    keep_after_delete_days: float = Field(
        default=0,
        ge=0,
        description="a deleted store's newest backup is kept this long (0: deleted with the store)",
    )


_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")


class MailConfig(Strict):
    """The SMTP relay every store's mail (orders, password resets) goes through."""

    host: str = Field(description="relay host name or address, e.g. smtp.example.com")
    port: int = Field(default=587, ge=1, le=65535, description="relay TCP port (587 STARTTLS, 465 TLS)")
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls, tls (from the first byte) or none (trusted network)"
    )
    user: str | None = Field(default=None, max_length=200, description="SMTP user, if the relay wants one")
    password_env: str | None = Field(
        default=None,
        description="the control plane's environment variable holding the SMTP password (never the "
        "password itself: environment files are not secret); required with user",
    )
    from_address: str | None = Field(
        default=None, max_length=200, description="sender address (WordPress's wordpress@<host> otherwise)"
    )
    egress_cidrs: list[str] = Field(
        default_factory=lambda: ["0.0.0.0/0"],
        min_length=1,
        description="where the relay's addresses are: the web pods may reach the relay port there",
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOST_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a host name or address")
        return value

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name (A-Z, 0-9, _)")
        return value

    @model_validator(mode="after")
    def _user_has_password(self) -> MailConfig:
        if (self.user is None) != (self.password_env is None):
            raise ValueError("user and password_env go together: set both or neither")
        return self
