"""Sections of an environment file about running stores, not placing them: web-server sizing and
uploads (``web``) and the scheduled-work runner (``cron``).

Part of ``environments.model.Environment`` (both sections are optional: the defaults below suit
every packaged environment); ``stacks.program`` turns them into component settings (the Apache
worker count is derived there from the WordPress container's memory limit).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

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
