"""The ``medusa:`` section of an environment: what a MedusaJS store gets there.

An environment offers the ``medusa`` engine only when it has this section (``Environment.engines``);
``stacks.program`` maps it onto the Medusa engine's component arguments (``components.engines.medusa``)
and ``components.postgres``. A Medusa store has its own images (the Medusa server, PostgreSQL), container
sizes and namespace quota, checked here the way ``environments.model`` checks WooCommerce's: requests
within limits, every container at once within the quota, the PVC within the limit range (that last
check needs the environment's limit range, so ``Environment`` runs ``problems`` with it).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from environments.fields import Bytes, Image, byte_count, cpu_cores
from environments.fields import Strict as _Strict
from environments.sizing import ContainerResources, QuotaConfig, requests_within_limits


class MedusaImages(_Strict):
    """The Medusa store's images, each pinned by tag or digest."""

    server: Image = Field(
        description="the Medusa server image: the project's own Medusa application "
        "(`storestack images build medusa`), e.g. localhost/storestack/medusa:2.21.2-node20-trixie"
    )
    postgres: Image = Field(
        description="a PostgreSQL image honouring the official image's POSTGRES_* contract, "
        "e.g. postgres:17.6"
    )


class MedusaResources(_Strict):
    """Requests/limits per container of a Medusa store."""

    server: ContainerResources = Field(description="the Medusa server (Node.js)")
    postgres: ContainerResources = Field(description="the PostgreSQL container")
    setup: ContainerResources = Field(description="the setup Job: migrations, seed, admin user")


class MedusaConfig(_Strict):
    """Everything an environment decides about its Medusa stores."""

    images: MedusaImages = Field(description="pinned images")
    postgres_size: Bytes = Field(description="size of the PostgreSQL data PVC, e.g. 2Gi")
    uploads_size: Bytes = Field(
        default="1Gi",
        description="size of the PVC of the files the admin uploads (product images), served at /static",
    )
    resources: MedusaResources = Field(description="per-container requests/limits")
    quota: QuotaConfig = Field(description="the namespace ResourceQuota of a Medusa store")
    storefront_check: bool = Field(
        default=True,
        description="after `up`, require the Store API to list the sample product with the store's "
        "publishable key and a cart to be created (through readiness.check_through)",
    )

    def problems(self, *, max_pvc_storage: str) -> list[tuple[str, str]]:
        """Cross-field problems as (dotted path under ``medusa.``, message); empty when consistent."""
        problems: list[tuple[str, str]] = []
        containers = {
            "server": self.resources.server,
            "postgres": self.resources.postgres,
            "setup": self.resources.setup,
        }
        problems += requests_within_limits("medusa.resources", containers)
        quota = self.quota
        room = {
            "requests_cpu": (
                cpu_cores(quota.requests_cpu),
                [cpu_cores(r.requests.cpu) for r in containers.values()],
            ),
            "requests_memory": (
                byte_count(quota.requests_memory),
                [byte_count(r.requests.memory) for r in containers.values()],
            ),
            "limits_cpu": (
                cpu_cores(quota.limits_cpu),
                [cpu_cores(r.limits.cpu) for r in containers.values()],
            ),
            "limits_memory": (
                byte_count(quota.limits_memory),
                [byte_count(r.limits.memory) for r in containers.values()],
            ),
        }
        for field, (hard, needs) in room.items():
            if hard < sum(needs, Decimal(0)):
                problems.append(
                    (f"medusa.quota.{field}", "is less than server + postgres + setup running at once")
                )
        if quota.pods < 3:
            problems.append(("medusa.quota.pods", "must be at least 3 (postgres, server, setup job)"))
        if quota.persistentvolumeclaims < 2:
            problems.append(
                ("medusa.quota.persistentvolumeclaims", "must be at least 2 (postgres and uploads)")
            )
        if byte_count(quota.requests_storage) < byte_count(self.postgres_size) + byte_count(
            self.uploads_size
        ):
            problems.append(("medusa.quota.requests_storage", "is less than postgres_size + uploads_size"))
        for field in ("postgres_size", "uploads_size"):
            size = getattr(self, field)
            if byte_count(size) > byte_count(max_pvc_storage):
                problems.append((f"medusa.{field}", f"{size} is more than limit_range.max_pvc_storage"))
        return problems
