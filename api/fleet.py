"""The port through which the api layer drives stores: the subset of ``stacks.Fleet`` it uses.

The reconciler, the credentials endpoint and ``/readyz`` take a ``FleetProtocol``; in production
that is a ``stacks.Fleet``, in the fast tests an in-memory fake. Every method blocks (``up`` and
``destroy`` for minutes), so callers run them in worker threads, never on the event loop.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable
from typing import Protocol

from pydantic import SecretStr

from stacks.backups import Backup
from stacks.types import BASE_REVISION, Credentials, Drift, Progress, Revision, StoreInfo, StoreSpec

ProgressCallback = Callable[[Progress], None]


class FleetProtocol(Protocol):
    """What the control plane needs from a fleet of stores."""

    def up(
        self,
        spec: StoreSpec,
        *,
        on_progress: ProgressCallback | None = None,
        refresh: bool = False,
        revision: Revision = BASE_REVISION,
    ) -> StoreInfo:
        """Create or converge the store (idempotent) on the environment ``revision``; returns its
        outputs. ``refresh`` reads the cluster back into the state first (after a failed or
        interrupted operation)."""
        ...

    def destroy(self, name: str, *, on_progress: ProgressCallback | None = None) -> None:
        """Delete the store and its stack; a missing store is fine."""
        ...

    def check_drift(self, name: str) -> Drift:
        """What an ``up`` with ``refresh`` would change to undo changes made outside Storestack."""
        ...

    def get(self, name: str) -> StoreInfo:
        """The store's outputs; raises ``stacks.errors.StoreNotFoundError``."""
        ...

    def list(self) -> builtins.list[StoreInfo]:
        """Every store that has a stack."""
        ...

    def credentials(self, name: str) -> Credentials:
        """The store's admin login."""
        ...

    def cancel(self, name: str) -> bool:
        """Interrupt the store's running operation in this process; whether there was one."""
        ...

    def cluster_reachable(self) -> bool:
        """Whether the Kubernetes API server answers."""
        ...

    def up_budget_seconds(self) -> int:
        """How long one healthy ``up`` may take before one of the engine's awaits gives up."""
        ...

    def backups(self) -> BackupsProtocol:
        """The fleet's backups; raises a ``FleetError`` (``backup_failed``) when none are set up."""
        ...


class BackupsProtocol(Protocol):
    """What the control plane needs of ``stacks.backups.Backups``."""

    def create(self, store: str, *, engine: str, namespace: str, kind: str = "manual") -> Backup: ...

    def list(self, store: str) -> builtins.list[Backup]: ...

    def get(self, store: str, backup_id: str) -> Backup: ...

    def restore(self, backup: Backup, *, store: str, namespace: str) -> None: ...

    def prune(self, store: str, *, keep_daily: int, keep_weekly: int) -> builtins.list[str]: ...

    def rebind(
        self, engine: str, *, namespace: str, url: str, login: str, email: str, password: SecretStr
    ) -> None: ...

    def delete(self, store: str, backup_id: str) -> None: ...

    def purge(self, store: str, *, made_before: dt.datetime, keep: str | None = None) -> int: ...
