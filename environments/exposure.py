"""How customers reach an environment's stores, and what proves a store ready: the ``ingress`` and
``readiness`` sections of an environment file.

Part of ``environments.model.Environment`` (which checks them against the other sections); read by
``stacks.program`` (the Ingress and the NetworkPolicies' controller selector) and
``stacks.storefront`` (where the storefront checks connect).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Literal

from pydantic import Field, field_validator

from environments.fields import Labels
from environments.fields import Strict as _Strict


class IngressConfig(_Strict):
    """How stores are exposed: the Ingress class, the controller's namespace, TLS."""

    class_name: str = Field(description="ingressClassName of every store's Ingress (e.g. nginx, traefik)")
    controller_namespace_labels: Labels = Field(
        min_length=1,
        description="labels selecting the ingress controller's namespace; the only source allowed to "
        "reach WordPress (e.g. {kubernetes.io/metadata.name: ingress-nginx})",
    )
    controller_pod_labels: Labels = Field(
        default_factory=dict,
        description="optional labels narrowing the allowed source to the controller's pods (useful when "
        "the controller shares kube-system, as k3s's traefik does)",
    )
    tls_issuer: str | None = Field(
        default=None,
        description="cert-manager ClusterIssuer for the store certificate; null means no TLS on the Ingress",
    )
    await_ready: bool = Field(
        default=True,
        description="whether Pulumi waits for the Ingress to get an address; false where no controller "
        "runs (the simulated cluster)",
    )
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="extra annotations for every store's Ingress (controller tuning); pulumi.com/* is "
        "reserved",
    )

    @field_validator("annotations")
    @classmethod
    def _no_pulumi_annotations(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.startswith("pulumi.com/"):
                raise ValueError(f"{key!r}: pulumi.com/ annotations are reserved (use await_ready)")
        return value


class ReadinessConfig(_Strict):
    """Which checks, beyond Pulumi's awaits, prove a store ready (applied by the stacks layer)."""

    http_check: bool = Field(description="GET the storefront URL after `up` and require a 2xx/3xx")
    timeout_seconds: int = Field(default=300, ge=1, le=3600, description="how long the HTTP check retries")
    check_through: Literal["ingress", "service"] = Field(
        default="ingress",
        description="where the storefront checks go: the store's public URL (ingress), or its web "
        "Service's cluster IP with the store's Host header (service: for a control plane inside the "
        "cluster network where no ingress controller serves the domain)",
    )
    ingress_address: str | None = Field(
        default=None,
        description="with check_through: ingress, the IPv4 address (and optional :port) every store "
        "host name is connected to for the checks instead of resolving it (like curl --resolve; the "
        "Host header and TLS name stay the store's): where the ingress controller answers when the "
        "domain has no DNS record here (the real node's Traefik); null resolves host names as usual",
    )

    @field_validator("ingress_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        address, _, port = value.partition(":")
        try:
            IPv4Address(address)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 address (with an optional :port)") from None
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"{value!r}: the port must be 1-65535")
        return value
