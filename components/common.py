"""Shared vocabulary of the store parts: labels, resource settings, scheduling, options helpers.

Used by every module of ``components`` (never by other layers directly, except through the dataclasses
re-exported from ``components``). Pure helpers: nothing here creates a resource.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

MANAGED_BY = "storestack"
"""Value of ``app.kubernetes.io/managed-by`` on everything a store owns."""
LABEL_STORE = "storestack.io/store"
"""Label with the store's name, on every object and pod of a store."""
LABEL_ROLE = "storestack.io/role"
"""Label with a pod's role; the NetworkPolicies select pods by it."""
ROLE_WEB = "web"
"""Pods that serve HTTP to the ingress controller (WordPress)."""
ROLE_DATABASE = "database"
"""The database pods (MySQL)."""
ROLE_SETUP = "setup"
"""One-shot setup pods (the WooCommerce setup job)."""
ROLE_CRON = "cron"
"""Scheduled-work pods (the WP-Cron runner): they may reach the web pods, nothing else."""


@dataclass(frozen=True, kw_only=True)
class Compute:
    """A CPU + memory pair, as Kubernetes quantity strings."""

    cpu: str
    """CPU, e.g. ``"250m"``."""
    memory: str
    """Memory, e.g. ``"256Mi"``."""

    def to_dict(self) -> dict[str, str]:
        return {"cpu": self.cpu, "memory": self.memory}


@dataclass(frozen=True, kw_only=True)
class Resources:
    """Requests and limits of one container."""

    requests: Compute
    """What the scheduler reserves (and what counts against ``requests.*`` quota)."""
    limits: Compute
    """The ceiling (and what counts against ``limits.*`` quota)."""

    def to_k8s(self) -> k8s.core.v1.ResourceRequirementsArgs:
        return k8s.core.v1.ResourceRequirementsArgs(
            requests=self.requests.to_dict(), limits=self.limits.to_dict()
        )


@dataclass(frozen=True, kw_only=True)
class Toleration:
    """A pod toleration."""

    key: str | None = None
    """Taint key; ``None`` with ``Exists`` tolerates every taint."""
    operator: str = "Equal"
    """``Equal`` or ``Exists``."""
    value: str | None = None
    """Taint value (for ``Equal``)."""
    effect: str | None = None
    """``NoSchedule``, ``PreferNoSchedule``, ``NoExecute`` or ``None`` for all."""


@dataclass(frozen=True, kw_only=True)
class Scheduling:
    """Where a store's pods may run."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    """``nodeSelector`` of every store pod."""
    tolerations: Sequence[Toleration] = ()
    """Tolerations of every store pod."""

    def tolerations_k8s(self) -> list[k8s.core.v1.TolerationArgs] | None:
        if not self.tolerations:
            return None
        return [
            k8s.core.v1.TolerationArgs(key=t.key, operator=t.operator, value=t.value, effect=t.effect)
            for t in self.tolerations
        ]

    def node_selector_k8s(self) -> dict[str, str] | None:
        return dict(self.node_selector) or None


def selector_labels(store_name: str, app: str) -> dict[str, str]:
    """The immutable selector of a workload: its app name and the store instance."""
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": store_name}


def object_labels(store_name: str, *, app: str | None = None, role: str | None = None) -> dict[str, str]:
    """Labels of every object of a store; ``app``/``role`` add the workload's selector and role."""
    labels = {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/part-of": "storestack",
        LABEL_STORE: store_name,
    }
    if app is not None:
        labels.update(selector_labels(store_name, app))
    if role is not None:
        labels[LABEL_ROLE] = role
    return labels


def secret_env(env_name: str, *, secret_name: pulumi.Input[str], key: str) -> k8s.core.v1.EnvVarArgs:
    """An env var read from the store Secret (``valueFrom.secretKeyRef``): never a literal value."""
    return k8s.core.v1.EnvVarArgs(
        name=env_name,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret_name, key=key)
        ),
    )


def plain_env(env_name: str, value: pulumi.Input[str]) -> k8s.core.v1.EnvVarArgs:
    """An env var with a non-secret literal value."""
    return k8s.core.v1.EnvVarArgs(name=env_name, value=value)


def pvc_volume(name: str, claim_name: str) -> k8s.core.v1.VolumeArgs:
    """A pod volume backed by the PersistentVolumeClaim ``claim_name``.

    By its fixed name, not the claim's Output: a workload is then created beside its claim instead
    of after the claim's await (0.5 s on the simulated cluster; the scheduler holds the pod until the
    claim exists and binds, which is what that await waited for)."""
    return k8s.core.v1.VolumeArgs(
        name=name,
        persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=claim_name),
    )


def inherited_depends_on(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources a component was told to depend on, to hand down to its children.

    Pulumi does not propagate a component's ``depends_on`` to its children, so each part passes these
    on explicitly. Only plain lists of resources are propagated (not Outputs of lists). A part
    registered with ``part_opts`` hands them to its claims and to the children that make pods.
    """
    if opts is None or opts.depends_on is None:
        return []
    deps = opts.depends_on
    if isinstance(deps, pulumi.Resource):
        return [deps]
    if isinstance(deps, Sequence):
        return [d for d in deps if isinstance(d, pulumi.Resource)]
    return []


DELETE_TIMEOUT = "3m"
"""How long Pulumi waits for one object of a store to be gone. Its delete await watches the object,
and a watch cut by an API-server restart was seen never to recover: a CronJob's delete still waited
7 minutes after the API server was back, the CronJob long gone. Failing after this long lets the
reconciler's retry, which finds the object gone, finish the destroy; a namespace's own deletion
(its finalizer empties it) takes seconds to a minute."""


def part_opts(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions | None:
    """A part's own options without its ``depends_on``: for a workload part, ``depends_on`` (the
    guardrails and the credentials) is what its pods wait for, and the children that make pods get
    it through ``inherited_depends_on``. The part itself and its ConfigMaps and Services (no pod, no
    traffic) are then made beside the guardrails instead of after them: a store's setup Job starts
    about 0.3 s sooner on the simulated cluster. Claims stay behind the guardrails: made beside
    them too, the first steps crowded two cores and a create took longer (median 2.61 s against
    2.35 s over nine stores each)."""
    if opts is None or opts.depends_on is None:
        return opts
    own = copy.copy(opts)
    own.depends_on = None
    return own


def child_opts(
    parent: pulumi.Resource,
    inherited: Sequence[pulumi.Resource] = (),
    *,
    depends_on: Sequence[pulumi.Resource] = (),
    custom_timeouts: pulumi.CustomTimeouts | None = None,
    ignore_changes: Sequence[str] = (),
) -> pulumi.ResourceOptions:
    """Options of a Kubernetes object owned by a part.

    Every object has a fixed ``metadata.name``, so a replacement must delete the old object first
    (``delete_before_replace``); the provider infers that too, this makes it explicit. Deletes give
    up after ``DELETE_TIMEOUT`` unless ``custom_timeouts`` says otherwise.
    """
    deps = [*inherited, *depends_on]
    given = custom_timeouts or pulumi.CustomTimeouts()
    timeouts = pulumi.CustomTimeouts(
        create=given.create, update=given.update, delete=given.delete or DELETE_TIMEOUT
    )
    return pulumi.ResourceOptions(
        parent=parent,
        depends_on=deps or None,
        delete_before_replace=True,
        custom_timeouts=timeouts,
        ignore_changes=list(ignore_changes) or None,
    )


SERVICE_AWAIT_SKIPPED = {"pulumi.com/skipAwait": "true"}
"""Annotations of a store's Services. Pulumi's Service await waits for ready endpoints and then 10 s
more "for stragglers"; the workload behind each Service (a Deployment or StatefulSet, with the same
selector) is awaited until its pods are ready, which is what the endpoints are made of, so the
Service's own await proves nothing more and only adds those 10 s to every ``up``."""

CLAIM_FIXED_FIELDS = ("spec.resources", "spec.storageClassName")
"""PersistentVolumeClaim fields Pulumi would change by replacing the claim (deleting the data):
ignored after creation; ``stacks.volumes`` changes sizes in place instead."""


def pod_security_context(
    *, run_as_user: int | None = None, fs_group: int | None = None, sysctls: Mapping[str, str] | None = None
) -> k8s.core.v1.PodSecurityContextArgs:
    """A pod security context with the RuntimeDefault seccomp profile (required by ``restricted``)."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_user=run_as_user,
        run_as_group=run_as_user,
        run_as_non_root=True if run_as_user else None,
        fs_group=fs_group,
        fs_group_change_policy="OnRootMismatch" if fs_group is not None else None,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        sysctls=[k8s.core.v1.SysctlArgs(name=k, value=v) for k, v in sysctls.items()] if sysctls else None,
    )


def container_security_context(
    *, non_root: bool, add_capabilities: Sequence[str] = ()
) -> k8s.core.v1.SecurityContextArgs:
    """A container security context: no privilege escalation, all capabilities dropped but ``add``."""
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        privileged=False,
        run_as_non_root=True if non_root else None,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"], add=list(add_capabilities) or None),
    )


@dataclass(frozen=True, kw_only=True)
class ShopSettings:
    """The shop's base settings (any engine)."""

    country: str
    """Base country, optionally ``:state`` (``US:CA``)."""
    currency: str
    """ISO 4217 currency code."""
    address: str
    """Address line."""
    city: str
    """City."""
    postcode: str
    """Postcode."""
    sample_product: bool = True
    """Create one virtual sample product."""


@dataclass(frozen=True, kw_only=True)
class WebTuning:
    """How the web server is sized (decided by ``stacks.program`` from the environment)."""

    max_workers: int = 8
    """Requests served at once (Apache's MaxRequestWorkers), so a burst cannot exceed the memory limit."""
    php_memory_limit: str = "256M"
    """PHP's memory_limit, PHP shorthand."""
    upload_max_size: str = "64M"
    """PHP's upload_max_filesize and post_max_size, PHP shorthand."""


@dataclass(frozen=True, kw_only=True)
class CronSettings:
    """The per-store scheduled-work runner."""

    schedule: str = "*/5 * * * *"
    """A five-field cron expression."""
    resources: Resources = field(
        default_factory=lambda: Resources(
            requests=Compute(cpu="50m", memory="32Mi"), limits=Compute(cpu="50m", memory="32Mi")
        )
    )
    """Requests/limits of the cron container."""


def data_claim(
    resource_name: str,
    *,
    parent: pulumi.Resource,
    inherited: Sequence[pulumi.Resource],
    claim_name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    storage_class: str,
    size: str,
) -> k8s.core.v1.PersistentVolumeClaim:
    """A store's ReadWriteOnce data claim; its size and class are changed in place by
    ``stacks.volumes``, never by Pulumi (``CLAIM_FIXED_FIELDS``)."""
    return k8s.core.v1.PersistentVolumeClaim(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=claim_name, namespace=namespace, labels=dict(labels)),
        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
            access_modes=["ReadWriteOnce"],
            storage_class_name=storage_class,
            resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": size}),
        ),
        opts=child_opts(parent, inherited, ignore_changes=CLAIM_FIXED_FIELDS),
    )


def web_service(
    resource_name: str,
    *,
    parent: pulumi.Resource,
    inherited: Sequence[pulumi.Resource],
    service_name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    port: int,
) -> k8s.core.v1.Service:
    """The ClusterIP Service in front of a store's web pods (port ``http``), not awaited."""
    return k8s.core.v1.Service(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=service_name, namespace=namespace, labels=dict(labels), annotations=SERVICE_AWAIT_SKIPPED
        ),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=dict(selector),
            ports=[k8s.core.v1.ServicePortArgs(name="http", port=port, target_port="http")],
        ),
        opts=child_opts(parent, inherited),
    )
