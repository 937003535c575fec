"""The typed model of one environment file (``environments/<name>.yaml``).

Everything that differs between clusters lives here: domain, TLS issuer, ingress class, storage class
and sizes, pinned images, resource requests/limits, quota, limit range, network policy egress, Pod
Security levels, which readiness checks apply, and how stores run
(``environments.operations``). ``environments.load`` validates a YAML file against
``Environment``; ``stacks.program`` maps an ``Environment`` (plus a store's spec) onto the component
arguments. Every model forbids unknown keys, so a typo in a YAML file is an error, not a silent default.

Cross-field checks (requests within limits, the worst case of all containers within the quota, PVC
sizes within the limit range) run in ``Environment``'s model validator and name the dotted field path
of each problem.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from environments.exposure import IngressConfig, ReadinessConfig
from environments.fields import (
    ACME_SOLVER_LIMITS,
    ACME_SOLVER_REQUESTS,
    DOMAIN_RE,
    MAX_STORE_NAME,
    NAME_RE,
    VERSION_RE,
    Bytes,
    Image,
    Labels,
    PodSecurityLevel,
    byte_count,
    cpu_cores,
)
from environments.fields import Strict as _Strict
from environments.medusa import MedusaConfig
from environments.network import NetworkPolicyConfig
from environments.operations import BackupsConfig, CronConfig, MailConfig, WebConfig
from environments.sizing import (
    Compute,
    ContainerResources,
    LimitRangeConfig,
    PlanConfig,
    QuotaConfig,
    ResourcesConfig,
    requests_within_limits,
)

__all__ = ["ConsistencyError", "Environment", "byte_count", "cpu_cores", "plan_refusal"]


def plan_refusal(engine: str) -> str | None:
    """Why a store of ``engine`` may not take a size plan (plans size WooCommerce's containers);
    None for WooCommerce. The one rule behind ``Environment.check_store`` and the API's checks."""
    if engine == "woocommerce":
        return None
    return f"plans size WooCommerce stores; a {engine} store takes its sizes from the environment"


class StorageConfig(_Strict):
    """Where store data lives: the storage class and the two volume sizes."""

    class_name: str = Field(description="StorageClass of the MySQL and WordPress PVCs")
    mysql_size: Bytes = Field(description="size of the MySQL data PVC, e.g. 2Gi")
    wordpress_size: Bytes = Field(description="size of the WordPress files PVC (/var/www/html), e.g. 2Gi")


class ImagesConfig(_Strict):
    """The official images, each pinned by tag or digest."""

    wordpress: Image = Field(
        description="official WordPress Apache image, e.g. wordpress:6.8.3-php8.3-apache"
    )
    wordpress_cli: Image = Field(
        description="official WP-CLI image for the setup job, e.g. wordpress:cli-2.12.0"
    )
    mysql: Image = Field(description="official MySQL image, e.g. mysql:8.4.7")


class StoreDefaults(_Strict):
    """The shop's base location and currency, written by the setup job."""

    country: str = Field(
        pattern=r"^[A-Z]{2}(:[A-Z0-9-]{1,10})?$",
        description="WooCommerce base location: ISO country, optionally ':state', e.g. US:CA or DE",
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. USD")
    address: str = Field(min_length=1, max_length=200, description="store address line 1")
    city: str = Field(min_length=1, max_length=100, description="store city")
    postcode: str = Field(min_length=1, max_length=20, description="store postcode")


class PodSecurityConfig(_Strict):
    """Pod Security Admission levels set as namespace labels."""

    enforce: PodSecurityLevel = Field(default="baseline", description="pod-security.kubernetes.io/enforce")
    warn: PodSecurityLevel = Field(default="restricted", description="pod-security.kubernetes.io/warn")
    audit: PodSecurityLevel = Field(default="restricted", description="pod-security.kubernetes.io/audit")


class Toleration(_Strict):
    """A pod toleration (for tainted node pools)."""

    key: str | None = Field(default=None, description="taint key; null with Exists matches all")
    operator: Literal["Exists", "Equal"] = Field(default="Equal", description="Exists or Equal")
    value: str | None = Field(default=None, description="taint value for Equal")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="taint effect; null matches all"
    )


class SchedulingConfig(_Strict):
    """Where store pods may run."""

    node_selector: Labels = Field(default_factory=dict, description="nodeSelector of every store pod")
    tolerations: list[Toleration] = Field(default_factory=list, description="tolerations of every store pod")


class ConsistencyError(ValueError):
    """Cross-field problems of an ``Environment``, each as (dotted field path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


class Environment(_Strict):
    """One cluster's settings: everything that differs between local, prod and the simulation."""

    name: str = Field(description="the environment's name (local, prod, sim, ...)")
    domain: str = Field(description="stores are served at <store>.<domain>")
    scheme: Literal["http", "https"] = Field(description="URL scheme of store URLs")
    ingress: IngressConfig = Field(description="Ingress class, controller namespace, TLS")
    storage: StorageConfig = Field(description="storage class and PVC sizes")
    images: ImagesConfig = Field(description="pinned official images")
    woocommerce_version: str = Field(description="the WooCommerce plugin version the setup job installs")
    setup_retries: int = Field(
        default=4,
        ge=0,
        le=10,
        description="how often a failed setup pod is started again before the setup Job, and so the "
        "store's `up`, fails (the Job's backoffLimit; Kubernetes waits 10 s, 20 s, 40 s... between)",
    )
    woocommerce_setup: bool = Field(
        default=True,
        description="whether WooCommerce stores get their setup Job (WP-CLI: installs WordPress core and "
        "the pinned WooCommerce, skips onboarding, leaves coming-soon mode, enables Cash on Delivery, "
        "creates the sample product). false creates no setup ConfigMap and no Job: the store is WordPress "
        "+ MySQL, nothing else changes, and ready means Pulumi's other awaits. For clusters that cannot "
        "get WP-CLI or the WooCommerce plugin (the real-node test environment); it needs "
        "readiness.http_check false, since the storefront check uses WooCommerce's Store API",
    )
    """Whether WooCommerce stores run their setup Job (default true). False: no setup ConfigMap or Job,
    so a store is plain WordPress + MySQL (``ready`` = Pulumi's other awaits); only for clusters where
    WP-CLI and WooCommerce cannot be had. Rejected together with ``readiness.http_check: true``, whose
    storefront check needs WooCommerce's Store API and the sample product the Job creates."""
    store_defaults: StoreDefaults = Field(description="base location and currency of new shops")
    resources: ResourcesConfig = Field(description="per-container requests/limits")
    quota: QuotaConfig = Field(description="the namespace ResourceQuota")
    limit_range: LimitRangeConfig = Field(description="the namespace LimitRange")
    network_policy: NetworkPolicyConfig = Field(description="NetworkPolicy settings")
    pod_security: PodSecurityConfig = Field(
        default_factory=PodSecurityConfig, description="Pod Security Admission levels"
    )
    scheduling: SchedulingConfig = Field(
        default_factory=SchedulingConfig, description="node selector and tolerations"
    )
    readiness: ReadinessConfig = Field(description="extra readiness checks")
    web: WebConfig = Field(default_factory=WebConfig, description="web-server sizing and upload limit")
    cron: CronConfig = Field(default_factory=CronConfig, description="the per-store scheduled-work runner")
    mail: MailConfig | None = Field(default=None, description="SMTP relay for outgoing mail (none: no mail)")
    backups: BackupsConfig = Field(
        default_factory=BackupsConfig, description="scheduled backups and their retention"
    )
    medusa: MedusaConfig | None = Field(
        default=None,
        description="MedusaJS stores: images, sizes, quota; without it the environment offers "
        "WooCommerce only",
    )
    plans: dict[str, PlanConfig] = Field(
        default_factory=dict,
        description="size plans a store may choose at create or by a change (e.g. small, medium); a "
        "store on none gets the top-level resources and quota",
    )

    @field_validator("plans")
    @classmethod
    def _plans(cls, value: dict[str, PlanConfig]) -> dict[str, PlanConfig]:
        for plan in value:
            if not NAME_RE.fullmatch(plan):
                raise ValueError(f"plan name {plan!r}: 2-32 lowercase letters, digits or '-', a letter first")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.fullmatch(value):
            raise ValueError("must be 2-32 lowercase letters, digits or '-', starting with a letter")
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not DOMAIN_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a lowercase DNS domain with at least two labels")
        if len(value) + 1 + MAX_STORE_NAME > 253:
            raise ValueError(f"too long: <store>.{value} could exceed 253 characters")
        return value

    @field_validator("woocommerce_version")
    @classmethod
    def _woocommerce_version(cls, value: str) -> str:
        if not VERSION_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a pinned version like 10.3.5")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Environment:
        problems = self.problems()
        if problems:
            raise ConsistencyError(problems)
        return self

    def with_plan(self, plan: str | None) -> Environment:
        """This environment as a store on ``plan`` sees it (its resources and quota); ``None``: as is.
        Raises ``ValueError`` naming the plans there are when it has no such plan."""
        if plan is None:
            return self
        if plan not in self.plans:
            offered = ", ".join(sorted(self.plans)) or "none"
            raise ValueError(f"environment '{self.name}' has no plan '{plan}' (its plans: {offered})")
        chosen = self.plans[plan]
        return self.model_copy(update={"resources": chosen.resources, "quota": chosen.quota, "plans": {}})

    @property
    def engines(self) -> tuple[str, ...]:
        """The store engines this environment offers."""
        return ("woocommerce", "medusa") if self.medusa is not None else ("woocommerce",)

    def check_store(self, engine: str, plan: str | None) -> None:
        """Raise ``ValueError`` (naming what there is) unless a store of ``engine`` on ``plan`` can
        be made here: the engine is offered, and plans (which size WooCommerce's containers) are
        for WooCommerce stores."""
        if engine not in self.engines:
            raise ValueError(
                f"environment '{self.name}' does not offer engine '{engine}' (its engines: "
                f"{', '.join(self.engines)}; an environment offers medusa with a medusa: section)"
            )
        refusal = plan_refusal(engine)
        if plan is not None and refusal is not None:
            raise ValueError(f"{refusal} (leave plan empty)")
        self.with_plan(plan)

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field problems as (dotted path, message), each plan's too; empty when consistent."""
        problems = self._own_problems()
        if self.medusa is not None:
            problems += self.medusa.problems(max_pvc_storage=self.limit_range.max_pvc_storage)
        for plan in self.plans:
            for path, message in self.with_plan(plan)._own_problems():
                if path.startswith(("resources.", "quota.")):
                    problems.append((f"plans.{plan}.{path}", message))
        return problems

    def _own_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.ingress.tls_issuer is not None and self.scheme != "https":
            problems.append(("ingress.tls_issuer", "a TLS issuer is set but scheme is 'http'"))
        if self.readiness.ingress_address is not None and self.readiness.check_through != "ingress":
            problems.append(
                ("readiness.ingress_address", "is set but readiness.check_through is not 'ingress'")
            )
        if not self.woocommerce_setup and self.readiness.http_check:
            problems.append(
                (
                    "woocommerce_setup",
                    "is false but readiness.http_check is true: the storefront check needs WooCommerce's "
                    "Store API and the sample product, which only the setup job installs (set "
                    "readiness.http_check: false, or woocommerce_setup: true)",
                )
            )

        containers = {
            "mysql": self.resources.mysql,
            "wordpress": self.resources.wordpress,
            "setup": self.resources.setup,
        }
        problems += requests_within_limits("resources", containers)

        # Worst case: MySQL, WordPress, the setup job and a cron run at once (Recreate keeps one
        # WordPress pod; the setup job runs beside it), plus cert-manager's HTTP-01 solver when TLS is on.
        tls = self.ingress.tls_issuer is not None
        cron = Compute(cpu=self.cron.cpu, memory=self.cron.memory)
        containers = {**containers, "cron": ContainerResources(requests=cron, limits=cron)}
        sums = {
            ("requests", "cpu"): sum((cpu_cores(r.requests.cpu) for r in containers.values()), Decimal(0)),
            ("requests", "memory"): sum(
                (byte_count(r.requests.memory) for r in containers.values()), Decimal(0)
            ),
            ("limits", "cpu"): sum((cpu_cores(r.limits.cpu) for r in containers.values()), Decimal(0)),
            ("limits", "memory"): sum((byte_count(r.limits.memory) for r in containers.values()), Decimal(0)),
        }
        if tls:
            for (kind, res_name), _ in list(sums.items()):
                extra = ACME_SOLVER_REQUESTS if kind == "requests" else ACME_SOLVER_LIMITS
                sums[(kind, res_name)] += extra[res_name]
        quota_values = {
            ("requests", "cpu"): cpu_cores(self.quota.requests_cpu),
            ("requests", "memory"): byte_count(self.quota.requests_memory),
            ("limits", "cpu"): cpu_cores(self.quota.limits_cpu),
            ("limits", "memory"): byte_count(self.quota.limits_memory),
        }
        for (kind, res_name), needed in sums.items():
            if quota_values[(kind, res_name)] < needed:
                what = "mysql + wordpress + setup + cron" + (" + the ACME solver" if tls else "")
                problems.append(
                    (
                        f"quota.{kind}_{res_name}",
                        f"is less than the {kind} of {what} running at once ({_show(res_name, needed)})",
                    )
                )
        min_pods = 4 + (1 if tls else 0)
        if self.quota.pods < min_pods:
            pods = "mysql, wordpress, setup job, cron" + (", ACME solver" if tls else "")
            problems.append(("quota.pods", f"must be at least {min_pods} ({pods})"))
        if self.quota.persistentvolumeclaims < 2:
            problems.append(("quota.persistentvolumeclaims", "must be at least 2 (mysql and wordpress)"))

        sizes = {"mysql_size": self.storage.mysql_size, "wordpress_size": self.storage.wordpress_size}
        total = sum((byte_count(s) for s in sizes.values()), Decimal(0))
        if byte_count(self.quota.requests_storage) < total:
            problems.append(
                ("quota.requests_storage", f"is less than the two PVCs together ({_show('memory', total)})")
            )
        max_pvc = byte_count(self.limit_range.max_pvc_storage)
        for field, size in sizes.items():
            if byte_count(size) > max_pvc:
                problems.append((f"storage.{field}", f"{size} is more than limit_range.max_pvc_storage"))
        lr = self.limit_range
        if cpu_cores(lr.default_request.cpu) > cpu_cores(lr.default.cpu):
            problems.append(("limit_range.default_request.cpu", "is more than limit_range.default.cpu"))
        if byte_count(lr.default_request.memory) > byte_count(lr.default.memory):
            problems.append(("limit_range.default_request.memory", "is more than limit_range.default.memory"))
        return problems

    def host(self, store_name: str) -> str:
        """The store's public host name, ``<store>.<domain>``."""
        return f"{store_name}.{self.domain}"


def _show(resource: str, value: Decimal) -> str:
    if resource == "cpu":
        return f"{int(value * 1000)}m"
    return f"{(value / 2**20).quantize(Decimal('0.1')).normalize():f}Mi"  # 800Mi, never 8E+2Mi
