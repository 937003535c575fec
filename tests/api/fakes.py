"""An in-memory, thread-safe stand-in for ``stacks.Fleet`` with scriptable delays and failures."""

from __future__ import annotations

import builtins
import datetime as dt
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from pydantic import SecretStr

from stacks.backups import Backup, BackupNotFoundError, PartInfo, keep_ids
from stacks.errors import OperationFailedError, StoreNotFoundError
from stacks.types import BASE_REVISION, Credentials, Drift, Progress, Revision, StoreInfo, StoreSpec

FAKE_PASSWORD = "Fake-Sup3r-S3cret-Passw0rd-xyzzy"

ProgressFn = Callable[[Progress], None]


class FakeFleet:
    """Implements ``api.fleet.FleetProtocol`` in memory.

    ``steps``/``step_delay`` shape the progress each operation reports; ``fail(name, op, *errors)``
    queues exceptions raised by the next calls; ``block(name, op)`` makes the next call wait on
    the returned event.
    """

    def __init__(self, *, steps: int = 3, step_delay: float = 0.0) -> None:
        self.steps = steps
        self.step_delay = step_delay
        self.reachable = True
        self._lock = threading.Lock()
        self._stores: dict[str, StoreInfo] = {}
        self._failures: dict[tuple[str, str], deque[Exception]] = defaultdict(deque)
        self._blocks: dict[tuple[str, str], deque[threading.Event]] = defaultdict(deque)
        self.calls: list[tuple[str, str]] = []
        self.refreshes: list[tuple[str, bool]] = []
        self.specs: list[StoreSpec] = []  # the spec of every up, in order
        self.cancelled: list[str] = []
        self.budget = 60  # what up_budget_seconds answers
        self.in_flight_while_blocked: tuple[str, ...] = ()  # reported before a blocked operation waits
        self._waiting: dict[str, threading.Event] = {}  # (store, refresh) of every up
        self.drift: dict[str, Drift] = {}  # what check_drift finds, until an up with refresh
        self.revisions: dict[str, int] = {}  # the revision of each store's last up
        self.unhealthy: dict[str, set[int]] = {}  # an up of the store on these revisions fails
        self.fake_backups = FakeBackups(self)

    # scripting -------------------------------------------------------------------------------

    def fail(self, name: str, operation: str, *errors: Exception) -> None:
        with self._lock:
            self._failures[(name, operation)].extend(errors)

    def fail_always(self, name: str, operation: str, error: Exception, times: int = 100) -> None:
        self.fail(name, operation, *([error] * times))

    def block(self, name: str, operation: str) -> threading.Event:
        """The next ``operation`` on ``name`` waits until the returned event is set."""
        gate = threading.Event()
        with self._lock:
            self._blocks[(name, operation)].append(gate)
        return gate

    def count(self, operation: str, name: str) -> int:
        with self._lock:
            return sum(1 for call in self.calls if call == (operation, name))

    # the protocol ------------------------------------------------------------------------------

    def _begin(self, name: str, operation: str, on_progress: ProgressFn | None = None) -> None:
        with self._lock:
            self.calls.append((operation, name))
            gate = self._blocks[(name, operation)].popleft() if self._blocks[(name, operation)] else None
            error = self._failures[(name, operation)].popleft() if self._failures[(name, operation)] else None
        if gate is not None and on_progress is not None and self.in_flight_while_blocked:
            started = self.in_flight_while_blocked
            on_progress(
                Progress(operation=operation, done=0, total=self.steps, step=started[-1], in_flight=started)
            )  # type: ignore[arg-type]
        if gate is not None:
            with self._lock:
                self._waiting[name] = gate
            gate.wait(timeout=30)
            with self._lock:
                self._waiting.pop(name, None)
                cancelled = name in self.cancelled
            if cancelled:
                raise OperationFailedError(f"{operation} of store '{name}' was cancelled", temporary=True)
        if error is not None:
            raise error

    def _report(self, operation: str, on_progress: ProgressFn | None, what: str) -> None:
        for i in range(1, self.steps + 1):
            if self.step_delay:
                time.sleep(self.step_delay)
            if on_progress is not None:
                on_progress(Progress(operation=operation, done=i, total=self.steps, step=f"{what} {i}"))  # type: ignore[arg-type]

    def up(
        self,
        spec: StoreSpec,
        *,
        on_progress: ProgressFn | None = None,
        refresh: bool = False,
        revision: Revision = BASE_REVISION,
    ) -> StoreInfo:
        self.refreshes.append((spec.name, refresh))
        self.specs.append(spec)
        with self._lock:
            self.revisions[spec.name] = revision.number
        self._begin(spec.name, "up", on_progress)
        with self._lock:
            failing = revision.number in self.unhealthy.get(spec.name, ())
        if failing:
            raise OperationFailedError(
                f"storefront check of {spec.name} failed on revision {revision.number}",
                temporary=True,
                reason="storefront_unavailable",
            )
        self._report("up", on_progress, f"creating resource of {spec.name}")
        info = StoreInfo(
            name=spec.name,
            namespace=f"store-{spec.name}",
            url=f"http://{spec.name}.stores.test",
            admin_url=f"http://{spec.name}.stores.test/wp-admin",
            admin_user="admin",
            resource_count=self.steps,
        )
        with self._lock:
            self._stores[spec.name] = info
            if refresh:
                self.drift.pop(spec.name, None)  # an up that read the cluster back repaired it
        return info

    def destroy(self, name: str, *, on_progress: ProgressFn | None = None) -> None:
        self._begin(name, "destroy", on_progress)
        self._report("destroy", on_progress, f"deleting resource of {name}")
        with self._lock:
            self._stores.pop(name, None)

    def check_drift(self, name: str) -> Drift:
        self._begin(name, "check", None)
        self.get(name)
        with self._lock:
            return self.drift.get(name, Drift())

    def get(self, name: str) -> StoreInfo:
        with self._lock:
            if name not in self._stores:
                raise StoreNotFoundError(f"store '{name}' has no stack")
            return self._stores[name]

    def list(self) -> builtins.list[StoreInfo]:
        with self._lock:
            return [self._stores[n] for n in sorted(self._stores)]

    def credentials(self, name: str) -> Credentials:
        self.get(name)
        return Credentials(admin_user="admin", admin_password=SecretStr(FAKE_PASSWORD))

    def cancel(self, name: str) -> bool:
        with self._lock:
            gate = self._waiting.get(name)
            if gate is None:
                return False
            self.cancelled.append(name)
        gate.set()
        return True

    def cluster_reachable(self) -> bool:
        return self.reachable

    def up_budget_seconds(self) -> int:
        return self.budget

    def backups(self) -> FakeBackups:
        return self.fake_backups


class FakeBackups:
    """``stacks.backups.Backups`` in memory, for the API tests; its calls go through the fleet's
    ``fail``/``block`` scripting as operations ``backup`` and ``restore``."""

    def __init__(self, fleet: FakeFleet) -> None:
        self._fleet = fleet
        self.stored: dict[str, list[Backup]] = defaultdict(list)
        self.restored: list[tuple[str, str]] = []  # (store restored into, backup id)
        self.pruned: list[tuple[str, int, int]] = []
        self.rebound: list[tuple[str, str, str, str, str]] = []  # namespace, url, login, email, password
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    def create(self, store: str, *, engine: str, namespace: str, kind: str = "manual") -> Backup:
        self._fleet._begin(store, "backup")
        when = self.clock().replace(microsecond=0)
        part = PartInfo(key=f"{store}/x/database.sql.gz", size=1000, sha256="0" * 64)
        backup = Backup(
            id=f"{when:%Y%m%dT%H%M%SZ}-{len(self.stored[store]):06x}",
            store=store,
            engine=engine,
            kind=kind,
            created_at=when,
            seconds=0.5,
            images={"mysql": "mysql:8.4"},
            parts={"database.sql.gz": part, "files.tar.gz": part.model_copy(update={"size": 234})},
        )
        self.stored[store].append(backup)
        return backup

    def list(self, store: str) -> builtins.list[Backup]:
        return sorted(self.stored[store], key=lambda b: (b.created_at, b.id), reverse=True)

    def get(self, store: str, backup_id: str) -> Backup:
        for backup in self.stored[store]:
            if backup.id == backup_id:
                return backup
        raise BackupNotFoundError(f"store {store} has no complete backup {backup_id}")

    def restore(self, backup: Backup, *, store: str, namespace: str) -> None:
        self._fleet._begin(store, "restore")
        self.restored.append((store, backup.id))

    def rebind(
        self, engine: str, *, namespace: str, url: str, login: str, email: str, password: SecretStr
    ) -> None:
        self.rebound.append((namespace, url, login, email, password.get_secret_value()))

    def prune(self, store: str, *, keep_daily: int, keep_weekly: int) -> builtins.list[str]:
        self.pruned.append((store, keep_daily, keep_weekly))
        scheduled = [b for b in self.stored[store] if b.kind == "scheduled"]
        kept = set(keep_ids(scheduled, keep_daily=keep_daily, keep_weekly=keep_weekly))
        deleted = [b.id for b in scheduled if b.id not in kept]
        self.stored[store] = [b for b in self.stored[store] if b.id not in deleted]
        return deleted

    def delete(self, store: str, backup_id: str) -> None:
        self.get(store, backup_id)
        self.stored[store] = [b for b in self.stored[store] if b.id != backup_id]

    def purge(self, store: str, *, made_before: dt.datetime, keep: str | None = None) -> int:
        gone = [b for b in self.stored[store] if b.id != keep and b.created_at < made_before]
        self.stored[store] = [b for b in self.stored[store] if b not in gone]
        return len(gone)
