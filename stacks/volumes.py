"""Volume sizes change on purpose, never by replacing a claim: the resize path of ``Fleet.up``.

A PersistentVolumeClaim's size and class are fields Pulumi would force-replace (delete the claim,
then create an empty one: the store's data gone), so the components ignore changes to them. Before
each ``up`` of a store that exists, ``Fleet`` calls ``resize_claims``: a size that grew is patched
onto the claim when its StorageClass allows expansion; a claim that would shrink, change class, or
grow on a class that cannot expand stops the ``up`` with an ``InvalidSpecError`` that says what to
do. Nothing is changed then, so the data stays where it is.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.database import POSTGRES_PVC_NAME as POSTGRES_PVC
from components.database import PVC_NAME as DATABASE_PVC
from components.engines.medusa import UPLOADS_PVC_NAME as UPLOADS_PVC
from components.wordpress import PVC_NAME as WORDPRESS_PVC
from environments import Environment
from environments.fields import byte_count
from stacks.errors import ClusterUnreachableError, InvalidSpecError, OperationFailedError
from stacks.failures import classify


@dataclass(frozen=True)
class Wanted:
    """What the environment asks of one claim."""

    claim: str
    setting: str  # the environment field, for messages: storage.mysql_size
    size: str
    storage_class: str


class Kubectl:
    """``kubectl`` with the fleet's kubeconfig; JSON in and out."""

    def __init__(self, argv: Sequence[str]) -> None:
        self._argv = list(argv)

    def run(self, *args: str) -> str:
        argv = [*self._argv, "--request-timeout=20s", *args]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterUnreachableError(f"kubectl {args[0]} failed: {type(exc).__name__}") from exc
        if done.returncode != 0:
            message = f"kubectl {' '.join(args[:2])}: {done.stderr.strip()[:300]}"
            code, temporary = classify(message)
            if code == "cluster_unreachable":
                raise ClusterUnreachableError(message)
            raise OperationFailedError(message, temporary=temporary, reason=code)
        return done.stdout

    def get(self, *args: str) -> dict[str, object]:
        result: dict[str, object] = json.loads(self.run("get", *args, "-o", "json"))
        return result


def wanted_claims(env: Environment, engine: str = "woocommerce") -> list[Wanted]:
    """The claims of a store of ``engine`` as the environment sizes them."""
    klass = env.storage.class_name
    if engine == "medusa" and env.medusa is not None:
        medusa = env.medusa
        return [
            Wanted(
                claim=POSTGRES_PVC,
                setting="medusa.postgres_size",
                size=medusa.postgres_size,
                storage_class=klass,
            ),
            Wanted(
                claim=UPLOADS_PVC,
                setting="medusa.uploads_size",
                size=medusa.uploads_size,
                storage_class=klass,
            ),
        ]
    return [
        Wanted(
            claim=DATABASE_PVC, setting="storage.mysql_size", size=env.storage.mysql_size, storage_class=klass
        ),
        Wanted(
            claim=WORDPRESS_PVC,
            setting="storage.wordpress_size",
            size=env.storage.wordpress_size,
            storage_class=klass,
        ),
    ]


def _claims(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    # A new store (no namespace yet) has no claims: they are created at the wanted size.
    items: list[Any] = kubectl.get("pvc", "-n", namespace).get("items") or []  # type: ignore[assignment]
    return {item["metadata"]["name"]: item for item in items}


def resize_claims(
    kubectl: Kubectl, namespace: str, wanted: Sequence[Wanted], *, report: Callable[[str], None]
) -> list[str]:
    """Check every claim against what is wanted, patch those that may grow; returns the claims
    resized. Raises ``InvalidSpecError`` (nothing patched) when a change cannot be made in place."""
    claims = _claims(kubectl, namespace)
    grow: list[tuple[Wanted, str]] = []
    problems: list[str] = []
    classes: dict[str, Mapping[str, object]] = {}
    for want in wanted:
        claim = claims.get(want.claim)
        if claim is None:
            continue
        spec = claim["spec"]
        current = str(spec["resources"]["requests"]["storage"])
        klass = str(spec.get("storageClassName") or "")
        if klass != want.storage_class:
            problems.append(
                f"volume {want.claim} is on StorageClass {klass or '(none)'}; storage.class_name asks "
                f"{want.storage_class}, and a volume cannot move to another class in place (set it back to "
                f"{klass}, or copy the data to a new store)"
            )
            continue
        if byte_count(want.size) == byte_count(current):
            continue
        if byte_count(want.size) < byte_count(current):
            problems.append(
                f"volume {want.claim} is {current}; {want.setting} asks {want.size}, but a volume cannot "
                f"shrink (set it back to {current})"
            )
            continue
        if klass not in classes:
            classes[klass] = kubectl.get("storageclass", klass)
        if classes[klass].get("allowVolumeExpansion") is not True:
            problems.append(
                f"volume {want.claim} is {current}; {want.setting} asks {want.size}, but StorageClass "
                f"{klass} does not allow volume expansion (set it back to {current}, or use a class with "
                "allowVolumeExpansion: true)"
            )
            continue
        grow.append((want, current))
    if problems:
        raise InvalidSpecError("; ".join(problems))
    for want, current in grow:
        report(f"resizing volume {want.claim}: {current} -> {want.size}")
        patch = {"spec": {"resources": {"requests": {"storage": want.size}}}}
        kubectl.run("patch", "pvc", want.claim, "-n", namespace, "--type", "merge", "-p", json.dumps(patch))
    return [want.claim for want, _ in grow]
