"""The ``network_policy:`` section of an environment: DNS and internet egress beyond default deny.

Part of the ``Environment`` model (``environments.model``); ``stacks.program`` maps it onto
``components.guardrails.EgressSettings``.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, ValidationInfo, field_validator

from environments.fields import Labels
from environments.fields import Strict as _Strict


class InternetEgress(_Strict):
    """Which internet destinations the setup job (and optionally WordPress) may reach."""

    cidrs: list[str] = Field(min_length=1, description="allowed destination CIDRs, e.g. [0.0.0.0/0]")
    except_cidrs: list[str] = Field(
        default_factory=list,
        description="CIDRs carved out of ``cidrs`` (private ranges: pods, services, nodes, metadata)",
    )
    ports: list[int] = Field(min_length=1, description="allowed TCP ports, e.g. [443]")
    for_wordpress: bool = Field(
        default=False,
        description="also let WordPress itself reach these (updates, payment gateways); the setup job "
        "always may (it downloads WooCommerce)",
    )

    @field_validator("cidrs", "except_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a CIDR: {exc}") from exc
        return value

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"{port} is not a TCP port (1-65535)")
        return value

    @field_validator("except_cidrs")
    @classmethod
    def _excepts_inside(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if "cidrs" not in info.data:
            return value  # cidrs itself is invalid; that error is reported already
        cidrs: list[str] = info.data["cidrs"]
        for cidr in value:
            if not any(_strictly_inside(cidr, outer) for outer in cidrs):
                raise ValueError(f"{cidr} is not strictly inside any of {cidrs}")
        return value


def _strictly_inside(inner: str, outer: str) -> bool:
    a = ipaddress.ip_network(inner)
    b = ipaddress.ip_network(outer)
    if isinstance(a, ipaddress.IPv4Network) and isinstance(b, ipaddress.IPv4Network):
        return a != b and a.subnet_of(b)
    if isinstance(a, ipaddress.IPv6Network) and isinstance(b, ipaddress.IPv6Network):
        return a != b and a.subnet_of(b)
    return False


class NetworkPolicyConfig(_Strict):
    """The store namespace's NetworkPolicies (default deny + the allows a store needs)."""

    dns_namespace_labels: Labels = Field(
        min_length=1,
        description="labels selecting the cluster DNS namespace (UDP/TCP 53 egress is allowed there)",
    )
    internet_egress: InternetEgress = Field(description="internet egress for the setup job")
