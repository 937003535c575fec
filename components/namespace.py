"""The store's namespace, ``store-<name>``, with Storestack and Pod Security Admission labels.

Created first by ``components.store.Store``; every other object of the store lives in it, so deleting
the stack deletes it last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common import child_opts, inherited_depends_on, object_labels

POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")


def namespace_name(store_name: str) -> str:
    """The namespace of a store: ``store-<name>``."""
    return f"store-{store_name}"


@dataclass(frozen=True, kw_only=True)
class PodSecuritySettings:
    """Pod Security Admission levels, written as namespace labels."""

    enforce: str = "baseline"
    """``pod-security.kubernetes.io/enforce``: pods violating it are rejected."""
    warn: str = "restricted"
    """``pod-security.kubernetes.io/warn``: violations are returned as API warnings."""
    audit: str = "restricted"
    """``pod-security.kubernetes.io/audit``: violations are recorded in the audit log."""

    def __post_init__(self) -> None:
        for mode in ("enforce", "warn", "audit"):
            level = getattr(self, mode)
            if level not in POD_SECURITY_LEVELS:
                raise ValueError(f"pod security {mode} level {level!r} is not one of {POD_SECURITY_LEVELS}")

    def labels(self) -> dict[str, str]:
        return {
            "pod-security.kubernetes.io/enforce": self.enforce,
            "pod-security.kubernetes.io/warn": self.warn,
            "pod-security.kubernetes.io/audit": self.audit,
        }


@dataclass(frozen=True, kw_only=True)
class StoreNamespaceArgs:
    """Inputs of ``StoreNamespace``."""

    store_name: str
    """The store's name (a DNS label); the namespace is ``store-<name>``."""
    pod_security: PodSecuritySettings = field(default_factory=PodSecuritySettings)
    """Pod Security Admission levels of the namespace."""


class StoreNamespace(pulumi.ComponentResource):
    """The ``store-<name>`` namespace."""

    name: pulumi.Output[str]
    """The namespace's name, resolved once it exists (depend on it through this Output)."""

    def __init__(
        self, name: str, args: StoreNamespaceArgs, *, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("storestack:index:StoreNamespace", name, None, opts)
        labels = {**object_labels(args.store_name), **args.pod_security.labels()}
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace_name(args.store_name), labels=labels),
            opts=child_opts(self, inherited_depends_on(opts)),
        )
        self.name = namespace.metadata.name
        self.register_outputs({"name": self.name})
