"""Guardrails of a store namespace: ResourceQuota, LimitRange and NetworkPolicies.

Created by ``components.store.Store`` right after the namespace, before any workload (the workloads
depend on it), so no pod ever runs without its quota, defaults and network rules.

Network model (pods are selected by the ``storestack.io/role`` label):

- ``default-deny``: every pod, ingress and egress, nothing allowed.
- ``allow-dns-egress``: every pod -> the DNS namespace, UDP/TCP 53.
- ``allow-ingress-to-web``: the ingress controller's namespace (optionally its pods) and the
  store's cron pods -> web pods.
- ``allow-cron-egress``: cron pods -> web pods (``wp-cron.php``), nothing else.
- ``allow-database-ingress`` / ``allow-database-egress``: web and setup pods <-> database pods.
- ``allow-internet-egress``: setup pods (and web pods if asked) -> the allowed CIDRs/ports.
- ``allow-smtp-egress`` (a mail relay is set): web pods -> the relay's addresses, its port only.
- ``allow-acme-http01`` (TLS only): the controller -> cert-manager's HTTP-01 solver pods.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common import (
    LABEL_ROLE,
    ROLE_CRON,
    ROLE_DATABASE,
    ROLE_SETUP,
    ROLE_WEB,
    Compute,
    child_opts,
    inherited_depends_on,
    object_labels,
)

QUOTA_NAME = "store-quota"
LIMIT_RANGE_NAME = "store-limits"
ACME_SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT = 8089


@dataclass(frozen=True, kw_only=True)
class QuotaSettings:
    """The ResourceQuota's hard limits (Kubernetes quantity strings and counts)."""

    requests_cpu: str
    """``requests.cpu``."""
    requests_memory: str
    """``requests.memory``."""
    limits_cpu: str
    """``limits.cpu``."""
    limits_memory: str
    """``limits.memory``."""
    pods: int
    """``pods``: non-terminal pods."""
    persistentvolumeclaims: int
    """``persistentvolumeclaims``: PVC count."""
    requests_storage: str
    """``requests.storage``: the sum of PVC sizes."""

    def hard(self) -> dict[str, str]:
        return {
            "requests.cpu": self.requests_cpu,
            "requests.memory": self.requests_memory,
            "limits.cpu": self.limits_cpu,
            "limits.memory": self.limits_memory,
            "pods": str(self.pods),
            "persistentvolumeclaims": str(self.persistentvolumeclaims),
            "requests.storage": self.requests_storage,
        }


@dataclass(frozen=True, kw_only=True)
class LimitRangeSettings:
    """The LimitRange: container defaults and the largest PVC."""

    default_request: Compute
    """Requests of a container that sets none."""
    default: Compute
    """Limits of a container that sets none."""
    max_pvc_storage: str
    """The largest PVC allowed."""


@dataclass(frozen=True, kw_only=True)
class EgressSettings:
    """What an environment decides about egress beyond default deny."""

    dns_namespace_labels: Mapping[str, str]
    """Labels of the cluster DNS namespace (egress UDP/TCP 53 is allowed there)."""
    internet_cidrs: Sequence[str] = ("0.0.0.0/0",)
    """Destinations the setup job may reach (WooCommerce download from wordpress.org)."""
    internet_except_cidrs: Sequence[str] = ()
    """Ranges carved out of ``internet_cidrs`` (private networks: pods, services, nodes, metadata)."""
    internet_ports: Sequence[int] = (443,)
    """TCP ports of that internet egress."""
    internet_for_web: bool = False
    """Let web pods reach the internet too (updates, payment gateways)."""
    smtp_cidrs: Sequence[str] = ()
    """Where the mail relay may be (web pods may reach ``smtp_port`` there); empty: no relay."""
    smtp_port: int | None = None
    """The mail relay's TCP port."""


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """Everything the NetworkPolicies allow beyond default deny."""

    egress: EgressSettings
    """DNS and internet egress."""
    ingress_namespace_labels: Mapping[str, str]
    """Labels of the ingress controller's namespace (the only source allowed to reach web pods)."""
    ingress_pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Optional labels narrowing that source to the controller's pods."""
    acme_http01: bool = False
    """Allow the ingress controller to reach cert-manager's HTTP-01 solver pods (TLS on)."""


@dataclass(frozen=True, kw_only=True)
class GuardrailsArgs:
    """Inputs of ``Guardrails``."""

    namespace: pulumi.Input[str]
    """The store namespace."""
    store_name: str
    """The store's name (labels)."""
    quota: QuotaSettings
    """ResourceQuota values."""
    limit_range: LimitRangeSettings
    """LimitRange values."""
    network: NetworkSettings
    """NetworkPolicy settings."""
    web_port: int
    """The port web pods listen on (the engine's)."""
    database_port: int
    """The port database pods listen on."""


def _role_selector(*roles: str) -> k8s.meta.v1.LabelSelectorArgs:
    if len(roles) == 1:
        return k8s.meta.v1.LabelSelectorArgs(match_labels={LABEL_ROLE: roles[0]})
    return k8s.meta.v1.LabelSelectorArgs(
        match_expressions=[
            k8s.meta.v1.LabelSelectorRequirementArgs(key=LABEL_ROLE, operator="In", values=list(roles))
        ]
    )


def _tcp(port: int) -> k8s.networking.v1.NetworkPolicyPortArgs:
    return k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port)


def _strictly_inside(
    inner: ipaddress.IPv4Network | ipaddress.IPv6Network, outer: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner != outer and inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner != outer and inner.subnet_of(outer)
    return False


def ip_blocks(cidrs: Sequence[str], except_cidrs: Sequence[str]) -> list[k8s.networking.v1.IPBlockArgs]:
    """One ipBlock per CIDR, each with the except ranges that lie inside it (the API requires that)."""
    blocks = []
    for cidr in cidrs:
        outer = ipaddress.ip_network(cidr)
        inside = [e for e in except_cidrs if _strictly_inside(ipaddress.ip_network(e), outer)]
        blocks.append(k8s.networking.v1.IPBlockArgs(cidr=cidr, except_=inside or None))
    return blocks


class Guardrails(pulumi.ComponentResource):
    """ResourceQuota + LimitRange + NetworkPolicies of a store namespace."""

    quota_name: pulumi.Output[str]
    """The ResourceQuota's name."""
    policy_names: list[pulumi.Output[str]]
    """The NetworkPolicies' names."""

    def __init__(
        self, name: str, args: GuardrailsArgs, *, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("storestack:index:Guardrails", name, None, opts)
        inherited = inherited_depends_on(opts)
        labels = object_labels(args.store_name)
        ns = args.namespace

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=ns, labels=labels)

        quota = k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=meta(QUOTA_NAME),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=args.quota.hard()),
            opts=child_opts(self, inherited),
        )
        lr = args.limit_range
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=meta(LIMIT_RANGE_NAME),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default=lr.default.to_dict(),
                        default_request=lr.default_request.to_dict(),
                    ),
                    k8s.core.v1.LimitRangeItemArgs(
                        type="PersistentVolumeClaim", max={"storage": lr.max_pvc_storage}
                    ),
                ]
            ),
            opts=child_opts(self, inherited),
        )

        net = args.network
        egress = net.egress
        controller_peer = k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(net.ingress_namespace_labels)),
            pod_selector=(
                k8s.meta.v1.LabelSelectorArgs(match_labels=dict(net.ingress_pod_labels))
                if net.ingress_pod_labels
                else None
            ),
        )
        cron_peer = k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=_role_selector(ROLE_CRON))
        internet_roles = (ROLE_SETUP, ROLE_WEB) if egress.internet_for_web else (ROLE_SETUP,)
        policies: dict[str, k8s.networking.v1.NetworkPolicySpecArgs] = {
            "default-deny": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress", "Egress"],
            ),
            "allow-dns-egress": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels=dict(egress.dns_namespace_labels)
                                )
                            )
                        ],
                        ports=[
                            k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53),
                            k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=53),
                        ],
                    )
                ],
            ),
            "allow-ingress-to-web": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=_role_selector(ROLE_WEB),
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[controller_peer, cron_peer], ports=[_tcp(args.web_port)]
                    )
                ],
            ),
            "allow-cron-egress": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=_role_selector(ROLE_CRON),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=_role_selector(ROLE_WEB))],
                        ports=[_tcp(args.web_port)],
                    )
                ],
            ),
            "allow-database-ingress": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=_role_selector(ROLE_DATABASE),
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                pod_selector=_role_selector(ROLE_WEB, ROLE_SETUP)
                            )
                        ],
                        ports=[_tcp(args.database_port)],
                    )
                ],
            ),
            "allow-database-egress": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=_role_selector(ROLE_WEB, ROLE_SETUP),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                pod_selector=_role_selector(ROLE_DATABASE)
                            )
                        ],
                        ports=[_tcp(args.database_port)],
                    )
                ],
            ),
            "allow-internet-egress": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=_role_selector(*internet_roles),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=block)
                            for block in ip_blocks(egress.internet_cidrs, egress.internet_except_cidrs)
                        ],
                        ports=[_tcp(p) for p in egress.internet_ports],
                    )
                ],
            ),
        }
        if egress.smtp_port is not None and egress.smtp_cidrs:
            policies["allow-smtp-egress"] = k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=_role_selector(ROLE_WEB),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=block)
                            for block in ip_blocks(egress.smtp_cidrs, ())
                        ],
                        ports=[_tcp(egress.smtp_port)],
                    )
                ],
            )
        if net.acme_http01:
            policies["allow-acme-http01"] = k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=ACME_SOLVER_LABELS),
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[controller_peer], ports=[_tcp(ACME_SOLVER_PORT)]
                    )
                ],
            )
        self.policy_names = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=meta(policy_name),
                spec=spec,
                opts=child_opts(self, inherited),
            ).metadata.name
            for policy_name, spec in policies.items()
        ]
        self.quota_name = quota.metadata.name
        self.register_outputs({"quota_name": self.quota_name, "policy_names": self.policy_names})
