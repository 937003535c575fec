"""Turns Pulumi engine events into ``Progress`` reports (resource n of m, what is happening).

Used by ``Fleet`` for every ``up``/``refresh``/``destroy``. The total is the larger of the resources
already in the stack's state and the resources the engine has announced so far, so it is exact for
updates and destroys and grows honestly during a first ``up``. Error diagnostics are kept so a
failure can say why (Pulumi masks secret values in them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pulumi.automation import EngineEvent, OpType

from stacks.types import OperationName, Progress

_VERBS = {
    OpType.CREATE: "creating",
    OpType.CREATE_REPLACEMENT: "creating replacement",
    OpType.UPDATE: "updating",
    OpType.DELETE: "deleting",
    OpType.DELETE_REPLACED: "deleting replaced",
    OpType.REPLACE: "replacing",
    OpType.SAME: "checking",
    OpType.REFRESH: "reading",
    OpType.READ: "reading",
}


def describe_urn(urn: str, type_: str) -> str:
    """``kubernetes:apps/v1:Deployment wordpress`` from a URN and type token."""
    short_type = type_.split(":")[-1] if type_ else "resource"
    return f"{short_type} {urn.rsplit('::', 1)[-1]}"


class ProgressTracker:
    """Counts resources started and finished and reports each change to ``callback``."""

    def __init__(
        self, *, operation: OperationName, known_total: int, callback: Callable[[Progress], None] | None
    ) -> None:
        self.operation = operation
        self.known_total = known_total
        self.callback = callback
        self.started: set[str] = set()
        self.finished: set[str] = set()
        self._pending: dict[str, str] = {}  # urn -> its last known state, until its outputs arrive
        self.errors: list[str] = []
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        return max(self.known_total, len(self.started), len(self.finished))

    def _emit(self, step: str) -> None:
        if self.callback is None:
            return
        self.callback(
            Progress(
                operation=self.operation,
                done=len(self.finished),
                total=self.total,
                step=step,
                in_flight=tuple(self._pending.values()),
            )
        )

    def on_event(self, event: EngineEvent) -> None:
        with self._lock:
            if event.resource_pre_event is not None:
                meta = event.resource_pre_event.metadata
                if meta.type.startswith(("pulumi:pulumi:", "pulumi:providers:")):
                    return
                self.started.add(meta.urn)
                state = f"{_VERBS.get(meta.op, str(meta.op.value))} {describe_urn(meta.urn, meta.type)}"
                self._pending[meta.urn] = state
                self._emit(state)
            elif event.res_outputs_event is not None:
                meta = event.res_outputs_event.metadata
                if meta.urn in self.started:
                    self.finished.add(meta.urn)
                    self._pending.pop(meta.urn, None)
                    self._emit(f"done {describe_urn(meta.urn, meta.type)}")
            elif event.res_op_failed_event is not None:
                meta = event.res_op_failed_event.metadata
                self._pending.pop(meta.urn, None)
                self._emit(f"failed {describe_urn(meta.urn, meta.type)}")
            elif event.diagnostic_event is not None:
                diag = event.diagnostic_event
                if diag.severity == "error":
                    message = diag.message.strip()
                    if message:
                        self.errors.append(message)

    def step(self, step: str) -> None:
        """Report a step that is not a resource (e.g. the storefront check)."""
        with self._lock:
            self._emit(step)

    def finish(self, step: str) -> None:
        with self._lock:
            if self.callback is not None:
                self.callback(
                    Progress(operation=self.operation, done=self.total, total=self.total, step=step)
                )
