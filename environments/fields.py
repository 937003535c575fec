"""Field types of the environment model: Kubernetes quantities, pinned images, labels, and the
strict base model every section derives from.

Imported by ``environments.model`` and ``environments.operations`` (and, for ``byte_count`` and
``cpu_cores``, by ``stacks.program``, which sizes servers from the limits). Pure functions and types.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

_DNS_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})+$")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
# A Kubernetes label key (optional DNS prefix + name) and value.
LABEL_KEY_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?$")

MAX_STORE_NAME = 40
"""The longest store name (``stacks.types.validate_store_name``); the host is ``<name>.<domain>``."""

ACME_SOLVER_REQUESTS = {"cpu": Decimal("0.01"), "memory": Decimal(64 * 2**20)}
ACME_SOLVER_LIMITS = {"cpu": Decimal("0.1"), "memory": Decimal(64 * 2**20)}
"""cert-manager's default HTTP-01 solver pod resources; it runs in the store namespace (so under its
quota) while a certificate is issued, so the quota check reserves room for it when TLS is on."""

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_CPU_RE = re.compile(r"^(\d+(\.\d+)?)(m?)$")
_BYTES_RE = re.compile(r"^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?$")


def cpu_cores(quantity: str) -> Decimal:
    """A CPU quantity (``"250m"``, ``"1"``, ``"0.5"``) in cores."""
    match = _CPU_RE.fullmatch(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a CPU quantity (e.g. '250m', '1', '0.5')")
    value = Decimal(match.group(1))
    return value / 1000 if match.group(3) else value


def byte_count(quantity: str) -> Decimal:
    """A memory or storage quantity (``"512Mi"``, ``"1Gi"``, ``"100M"``) in bytes."""
    match = _BYTES_RE.fullmatch(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a memory/storage quantity (e.g. '512Mi', '10Gi')")
    try:
        value = Decimal(match.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{quantity!r} is not a number") from exc
    suffix = match.group(3)
    if suffix is None:
        return value
    return value * (_BINARY.get(suffix) or _DECIMAL[suffix])


def _cpu(value: str) -> str:
    if cpu_cores(value) <= 0:
        raise ValueError(f"{value!r} must be more than zero")
    return value


def _bytes(value: str) -> str:
    if byte_count(value) <= 0:
        raise ValueError(f"{value!r} must be more than zero")
    return value


def _image(value: str) -> str:
    """An image reference pinned by tag (not ``latest``) or by digest."""
    if any(c.isspace() for c in value) or not value:
        raise ValueError("must be an image reference without spaces")
    if "@sha256:" in value:
        return value
    last = value.rsplit("/", 1)[-1]
    if ":" not in last:
        raise ValueError(f"{value!r} has no tag: pin a version, e.g. 'mysql:8.4.7'")
    tag = last.rsplit(":", 1)[1]
    if not tag:
        raise ValueError(f"{value!r} has an empty tag")
    if tag == "latest":
        raise ValueError(f"{value!r} uses the 'latest' tag: pin a version")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    for key, label in value.items():
        if not LABEL_KEY_RE.fullmatch(key):
            raise ValueError(f"{key!r} is not a valid label key")
        if not LABEL_VALUE_RE.fullmatch(label):
            raise ValueError(f"{label!r} (for {key!r}) is not a valid label value")
    return value


Cpu = Annotated[str, AfterValidator(_cpu)]
"""A positive CPU quantity string, e.g. ``"250m"``."""
Bytes = Annotated[str, AfterValidator(_bytes)]
"""A positive memory/storage quantity string, e.g. ``"512Mi"``."""
Image = Annotated[str, AfterValidator(_image)]
"""An image reference with a pinned tag (never ``latest``) or a digest."""
Labels = Annotated[dict[str, str], AfterValidator(_labels)]
"""Kubernetes labels (valid keys and values)."""
PodSecurityLevel = Literal["privileged", "baseline", "restricted"]


class Strict(BaseModel):
    """Unknown keys are errors; values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
