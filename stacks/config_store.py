"""Where a store's stack config lives when several replicas share a fleet: a shared store, with the
local ``Pulumi.<store>.yaml`` only a working copy.

The stack config file holds what a store needs across operations besides its state: its encrypted
credentials, the passphrase provider's salt and the spec and revision it was deployed with
(``stacks.stack_config``). On one host the workspace's file is enough. With replicas on several
hosts, any worker may take any store, so ``Fleet`` is given a ``StackConfigStore`` (the control
plane keeps it in its database, ``api.replicas``) and ``ConfigSync`` makes the local file a copy:
pulled before every operation, pushed whenever the operation changed it (the credentials are
pushed before any of them reach the cluster), and removed once the operation is over
(``working_copy``): a host keeps no copy between operations, so none of a store another replica
deleted either. Without a store, ``Fleet`` works on the local files alone, as a notebook on one
machine does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

from stacks import stack_config
from stacks.errors import OperationFailedError
from stacks.files import write_whole

T = TypeVar("T")


class StackConfigStore(Protocol):
    """A shared place for each store's stack config file text."""

    def get(self, name: str) -> str | None:
        """The store's stack config text, or ``None`` if none is kept."""
        ...

    def put(self, name: str, text: str) -> None:
        """Keep ``text`` as the store's stack config (replacing what was kept)."""
        ...

    def delete(self, name: str) -> None:
        """Forget the store's stack config; a missing one is fine."""
        ...


class ConfigSync:
    """Keeps the local stack config files of one workspace in step with a ``StackConfigStore``."""

    def __init__(self, project_dir: Path, store: StackConfigStore | None) -> None:
        self._project_dir = project_dir
        self._store = store
        self._known: dict[str, str | None] = {}  # the text last pulled or pushed, per store
        self._guard = threading.Lock()

    @property
    def shared(self) -> bool:
        return self._store is not None

    def _path(self, name: str) -> Path:
        return stack_config.config_path(self._project_dir, name)

    def pull(self, name: str) -> None:
        """Make the local file the shared copy: written when it differs, removed when none is kept
        (a file left from an earlier store of the same name, deleted by another replica)."""
        if self._store is None:
            return
        text = self._call("read", name, lambda store: store.get(name))
        path = self._path(name)
        local = path.read_text() if path.exists() else None
        if text is None:
            path.unlink(missing_ok=True)
        elif local != text:
            write_whole(path, text)
        with self._guard:
            self._known[name] = text

    def push(self, name: str) -> None:
        """Keep the local file in the shared store if it changed since the last pull or push."""
        if self._store is None:
            return
        path = self._path(name)
        if not path.exists():
            return
        text = path.read_text()
        with self._guard:
            if self._known.get(name) == text:
                return
        self._call("store", name, lambda store: store.put(name, text))
        with self._guard:
            self._known[name] = text

    @contextlib.contextmanager
    def working_copy(self, name: str, *, keep_existing: bool = False) -> Iterator[None]:
        """The local file for one operation or read: pulled first and, with a shared store,
        removed after, once the store has its newest text (kept if the store does not answer: it
        is the newest copy then). ``keep_existing``: a read leaves a file that was there before it
        alone (another process's operation on the same data dir works on it)."""
        existed = self._path(name).exists()
        self.pull(name)
        try:
            yield
        finally:
            if self._store is not None and not (keep_existing and existed):
                self._release(name)

    def _release(self, name: str) -> None:
        try:
            self.push(name)
        except OperationFailedError:
            return
        self._path(name).unlink(missing_ok=True)
        with self._guard:
            self._known.pop(name, None)

    def forget(self, name: str) -> None:
        """Remove the store's config: the shared copy and the local file."""
        if self._store is not None:
            self._call("remove", name, lambda store: store.delete(name))
        self._path(name).unlink(missing_ok=True)
        with self._guard:
            self._known.pop(name, None)

    def _call(self, verb: str, name: str, action: Callable[[StackConfigStore], T]) -> T:
        assert self._store is not None
        try:
            return action(self._store)
        except Exception as exc:  # the store's own error (a database that does not answer)
            raise OperationFailedError(
                f"could not {verb} the stack config of store '{name}' in the shared store "
                f"({type(exc).__name__})",
                temporary=True,
                reason="config_failed",
            ) from None
