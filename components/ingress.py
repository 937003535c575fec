"""The store's Ingress: ``<name>.<domain>`` and its custom domains -> the engine's web Service, with
TLS via cert-manager (one certificate for every host).

Created by ``components.store.Store`` once the app workload exists. When the environment has no
ingress controller (the simulated cluster), ``await_ready=False`` adds ``pulumi.com/skipAwait`` to this
Ingress only, since nothing would ever give it an address; every other object keeps Pulumi's awaits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common import child_opts, inherited_depends_on, object_labels

INGRESS_NAME = "store"
ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"
SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"
HOST_RE = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)


@dataclass(frozen=True, kw_only=True)
class IngressSettings:
    """What an environment decides about Ingress."""

    class_name: str
    """``ingressClassName``, e.g. ``nginx`` or ``traefik``."""
    controller_namespace_labels: Mapping[str, str]
    """Labels of the controller's namespace (used by the NetworkPolicies)."""
    controller_pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Optional labels of the controller's pods (narrows the NetworkPolicies)."""
    tls_issuer: str | None = None
    """cert-manager ClusterIssuer; ``None`` means no TLS section."""
    await_ready: bool = True
    """Whether Pulumi waits for the Ingress to get an address (false without a controller)."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Extra annotations (controller tuning); ``pulumi.com/*`` is reserved."""

    def __post_init__(self) -> None:
        for key in self.annotations:
            if key.startswith("pulumi.com/"):
                raise ValueError(f"ingress annotation {key!r}: pulumi.com/ annotations are reserved")


def ingress_annotations(settings: IngressSettings) -> dict[str, str]:
    """The Ingress's annotations: extras, the cert-manager issuer, and skipAwait when not awaiting."""
    annotations = dict(settings.annotations)
    if settings.tls_issuer:
        annotations[ISSUER_ANNOTATION] = settings.tls_issuer
    if not settings.await_ready:
        annotations[SKIP_AWAIT_ANNOTATION] = "true"
    return annotations


@dataclass(frozen=True, kw_only=True)
class StoreIngressArgs:
    """Inputs of ``StoreIngress``."""

    namespace: pulumi.Input[str]
    """The store namespace."""
    store_name: str
    """The store's name (labels, TLS secret name)."""
    host: str
    """The public host, ``<name>.<domain>``."""
    service_name: pulumi.Input[str]
    """The web Service to route to."""
    service_port: int
    """Its port."""
    settings: IngressSettings
    """Class, TLS issuer, await behaviour, extra annotations."""
    extra_hosts: tuple[str, ...] = ()
    """More host names routed to the same Service, and in the TLS certificate (custom domains)."""


class StoreIngress(pulumi.ComponentResource):
    """The Ingress of a store."""

    host: str
    """The public host."""
    ingress_name: pulumi.Output[str]
    """The Ingress's name."""

    def __init__(
        self, name: str, args: StoreIngressArgs, *, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("storestack:index:StoreIngress", name, None, opts)
        hosts = [args.host, *args.extra_hosts]
        for host in hosts:
            if not HOST_RE.fullmatch(host):
                raise ValueError(f"ingress host {host!r} is not a lowercase DNS name")
        if len(set(hosts)) != len(hosts):
            raise ValueError(f"ingress hosts {hosts!r} repeat a name")
        settings = args.settings
        annotations = ingress_annotations(settings)
        tls = (
            [k8s.networking.v1.IngressTLSArgs(hosts=hosts, secret_name=f"{args.store_name}-tls")]
            if settings.tls_issuer
            else None
        )
        backend = k8s.networking.v1.IngressBackendArgs(
            service=k8s.networking.v1.IngressServiceBackendArgs(
                name=args.service_name,
                port=k8s.networking.v1.ServiceBackendPortArgs(number=args.service_port),
            )
        )
        rules = [
            k8s.networking.v1.IngressRuleArgs(
                host=host,
                http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                    paths=[
                        k8s.networking.v1.HTTPIngressPathArgs(path="/", path_type="Prefix", backend=backend)
                    ]
                ),
            )
            for host in hosts
        ]
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=INGRESS_NAME,
                namespace=args.namespace,
                labels=object_labels(args.store_name),
                annotations=annotations or None,
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=settings.class_name,
                tls=tls,
                rules=rules,
            ),
            opts=child_opts(self, inherited_depends_on(opts)),
        )
        self.host = args.host
        self.ingress_name = ingress.metadata.name
        self.register_outputs({"host": self.host, "ingress_name": self.ingress_name})
