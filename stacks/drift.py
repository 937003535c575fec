"""Drift: what differs between a store's objects in the cluster and what its program declares.

``Fleet.check_drift`` runs ``pulumi preview --refresh``: the engine reads every object back from
the cluster in memory (the saved state is not touched) and diffs the program against it, so an
object deleted by hand shows as a ``create``, one edited by hand as an ``update`` or ``replace``.
A preview diffs inputs, not status, so a Deployment whose pods were rescheduled is not drift.
``DriftCollector`` gathers those steps from the engine events; the reconciler's drift checks
(``api.drift``) record the result, and an ``up`` with ``refresh`` repairs it.
"""

from __future__ import annotations

from pulumi.automation import EngineEvent, OpType

from stacks.progress import describe_urn
from stacks.types import Drift

# Steps of a preview that say nothing about drift: reading the cluster back, resources unchanged.
_NO_DRIFT = {OpType.SAME, OpType.REFRESH, OpType.READ, OpType.DISCARD}
MAX_LISTED = 50


class DriftCollector:
    """Feed it a ``preview --refresh``'s engine events; ``drift()`` says what would change."""

    def __init__(self) -> None:
        self._changes: dict[str, str] = {}  # urn -> operation, in the order the engine reports them

    def on_event(self, event: EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is None:
            return
        meta = pre.metadata
        if meta.op in _NO_DRIFT or meta.type.startswith("pulumi:"):
            return
        self._changes[meta.urn] = f"{meta.op.value} {describe_urn(meta.urn, meta.type)}"

    def drift(self) -> Drift:
        changes = list(self._changes.values())
        counts: dict[str, int] = {}
        for change in changes:
            op = change.split(" ", 1)[0]
            counts[op] = counts.get(op, 0) + 1
        return Drift(changes=counts, resources=changes[:MAX_LISTED])
