"""Cancelling a store's running operation at any moment of it, for ``Fleet.cancel``.

``interrupt_engine`` can only stop a ``pulumi`` CLI that already runs. A cancel that arrives before
(while the stack is selected and configured, or during the volume pre-flight) would otherwise find
nothing to interrupt, and the update would then run to its end after all. So each operation
``Fleet`` runs registers itself here (``register_operation``); ``cancel_operation`` marks it; the
operation stops at its next ``checkpoint`` (before the engine starts) and, should the engine start
in the instant between, at the engine's first event (``guard``), which interrupts it. A mark
belongs to one operation: the next one on the store starts unmarked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from stacks.errors import OperationFailedError

_guard = threading.Lock()
_running: dict[str, Operation] = {}


class Operation:
    """One running operation on one store."""

    def __init__(self, name: str, verb: str, interrupt: Callable[[], object]) -> None:
        self.name, self.verb = name, verb
        self._interrupt = interrupt
        self._lock = threading.Lock()
        self._cancelled = self._engine_started = self._interrupted = False

    def _interrupt_once(self) -> None:
        # Once only: a second SIGINT makes pulumi stop at once, without saving its state.
        if self._cancelled and self._engine_started and not self._interrupted:
            self._interrupted = True
            self._interrupt()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            self._interrupt_once()

    def checkpoint(self) -> None:
        """Raise if the operation was cancelled; call before each step that starts the engine."""
        if self._cancelled:
            raise OperationFailedError(
                f"{self.verb} of store '{self.name}' was cancelled before the engine started",
                temporary=True,
                reason="cancelled",
            )

    def guard(self, on_event: Callable[[Any], None]) -> Callable[[Any], None]:
        """``on_event`` for the engine: interrupts it at its first event if a cancel came first."""

        def handle(event: Any) -> None:
            if not self._engine_started:
                with self._lock:
                    self._engine_started = True
                    self._interrupt_once()
            on_event(event)

        return handle


@contextmanager
def register_operation(name: str, verb: str, interrupt: Callable[[], object]) -> Iterator[Operation]:
    """Register the store's operation for its duration (the caller holds the store's lock)."""
    op = Operation(name, verb, interrupt)
    with _guard:
        _running[name] = op
    try:
        yield op
    finally:
        with _guard:
            if _running.get(name) is op:
                del _running[name]


def cancel_operation(name: str) -> bool:
    """Mark the store's running operation cancelled; whether one was running in this process."""
    with _guard:
        op = _running.get(name)
    if op is None:
        return False
    op.cancel()
    return True
