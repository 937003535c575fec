"""Runs Pulumi programs against mocks (no engine, no cluster) and records what they register.

``deploy(fn)`` runs ``fn`` under ``pulumi.runtime.set_mocks``; the returned ``Deployment`` lists every
registered resource with its inputs (camelCase, as the provider would receive them), its URN, the
URNs it depends on and its delete-before-replace option, plus the values of the Outputs ``fn`` returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret


@dataclass
class Registered:
    """One registered resource."""

    typ: str
    name: str
    urn: str
    inputs: dict[str, Any]
    dependencies: list[str]
    custom: bool
    provider: str
    delete_before_replace: bool = False
    timeouts: tuple[str, str, str] = ("", "", "")
    """The custom create, update and delete timeouts ("" where none)."""

    @property
    def metadata(self) -> dict[str, Any]:
        result: dict[str, Any] = plain(self.inputs.get("metadata") or {})
        return result

    @property
    def k8s_name(self) -> str | None:
        return self.metadata.get("name")

    @property
    def spec(self) -> dict[str, Any]:
        result: dict[str, Any] = plain(self.inputs.get("spec") or {})
        return result


def plain(value: Any) -> Any:
    """``value`` with Pulumi secret wrappers removed (recursively)."""
    if is_rpc_secret(value):
        return plain(unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.registered.append(
                Registered(
                    typ=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=inputs,
                    dependencies=list(request.dependencies),
                    custom=bool(request.custom),
                    provider=request.provider,
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    timeouts=(
                        request.customTimeouts.create,
                        request.customTimeouts.update,
                        request.customTimeouts.delete,
                    ),
                )
            )
        return response


@dataclass
class Deployment:
    """What a mocked program registered."""

    resources: list[Registered]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, k8s_name: str | None = None) -> Registered:
        found = [r for r in self.of_type(typ) if k8s_name is None or r.k8s_name == k8s_name]
        assert len(found) == 1, f"expected one {typ} named {k8s_name}, found {[r.k8s_name for r in found]}"
        return found[0]

    def kubernetes(self) -> Iterator[Registered]:
        return (r for r in self.resources if r.typ.startswith("kubernetes:"))

    def depends_on(self, resource: Registered, other: Registered) -> bool:
        return other.urn in resource.dependencies

    def dump(self, resource: Registered) -> str:
        return json.dumps(plain(resource.inputs), sort_keys=True)


def deploy(
    fn: Callable[[], Mapping[str, pulumi.Output[Any]] | None],
    *,
    config: Mapping[str, str] | None = None,
) -> Deployment:
    """Run ``fn`` (which declares resources) under mocks; return what it registered and its outputs."""
    mocks = _Mocks()
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="storestack", stack="unit", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}), secret_keys=list(config or {}))
    captured: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> pulumi.Output[Any]:
        outputs = fn() or {}
        if not outputs:
            return pulumi.Output.from_input(None)
        return pulumi.Output.all(**outputs).apply(captured.update)

    run()
    return Deployment(resources=monitor.registered, outputs=captured)
