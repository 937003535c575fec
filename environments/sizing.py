"""What a store may use: per-container requests and limits, the namespace quota and limit range, and
size plans (``small``, ``medium``, ...) that replace the first two for the stores that choose one.

Part of the ``Environment`` model (``environments.model``), which checks each plan as it checks the
environment's own sizes; ``stacks.program`` applies a store's plan with ``Environment.with_plan``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from environments.fields import Bytes, Cpu, byte_count, cpu_cores
from environments.fields import Strict as _Strict


class Compute(_Strict):
    """A CPU + memory pair."""

    cpu: Cpu = Field(description="CPU quantity, e.g. 250m")
    memory: Bytes = Field(description="memory quantity, e.g. 256Mi")


class ContainerResources(_Strict):
    """Requests and limits of one container."""

    requests: Compute = Field(description="what the scheduler reserves")
    limits: Compute = Field(description="the ceiling the container may use")


class ResourcesConfig(_Strict):
    """Requests/limits per container of a store."""

    mysql: ContainerResources = Field(description="the MySQL container")
    wordpress: ContainerResources = Field(description="the WordPress (Apache + PHP) container")
    setup: ContainerResources = Field(description="the WP-CLI setup job container")


class QuotaConfig(_Strict):
    """The store namespace's ResourceQuota."""

    requests_cpu: Cpu = Field(description="requests.cpu")
    requests_memory: Bytes = Field(description="requests.memory")
    limits_cpu: Cpu = Field(description="limits.cpu")
    limits_memory: Bytes = Field(description="limits.memory")
    pods: int = Field(ge=1, le=1000, description="pods (non-terminal) in the namespace")
    persistentvolumeclaims: int = Field(ge=1, le=1000, description="PVC count")
    requests_storage: Bytes = Field(description="requests.storage: sum of PVC sizes")


class LimitRangeConfig(_Strict):
    """The store namespace's LimitRange."""

    default_request: Compute = Field(description="container defaultRequest when a container sets none")
    default: Compute = Field(description="container default limit when a container sets none")
    max_pvc_storage: Bytes = Field(description="largest PVC allowed in the namespace")


class PlanConfig(_Strict):
    """A size plan: a store on it gets these resources and this quota instead of the environment's."""

    description: str = Field(default="", max_length=200, description="what the plan is for, shown to users")
    resources: ResourcesConfig = Field(description="per-container requests/limits on this plan")
    quota: QuotaConfig = Field(description="the namespace ResourceQuota on this plan")


def requests_within_limits(
    prefix: str, containers: Mapping[str, ContainerResources]
) -> list[tuple[str, str]]:
    """(dotted path, message) for each container under ``prefix`` whose requests exceed its limits."""
    problems = []
    for name, res in containers.items():
        if cpu_cores(res.requests.cpu) > cpu_cores(res.limits.cpu):
            problems.append((f"{prefix}.{name}.requests.cpu", "is more than limits.cpu"))
        if byte_count(res.requests.memory) > byte_count(res.limits.memory):
            problems.append((f"{prefix}.{name}.requests.memory", "is more than limits.memory"))
    return problems
