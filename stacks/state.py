"""What ``Fleet`` reads of a store's stack without starting the ``pulumi`` CLI.

Every CLI call costs 0.2-0.45 s (a Go binary that loads the backend and decrypts the config), and
an ``up`` used to make 13 of them besides the update itself. With the file backend the state is a
JSON checkpoint at ``.pulumi/stacks/<project>/<store>.json`` and the config is ``Pulumi.<store>.yaml``
in the workspace: both are read here directly. ``Checkpoint.read`` answers ``None`` for any other
backend, and callers then ask the CLI (``stack export``, ``stack output``) as before. Secret values
are never decrypted here: a secret output is reported as secret, without its value.

``StoreStack`` is the Automation API ``Stack`` that uses these reads: selecting an existing stack,
and the outputs and summary ``Stack.up`` reads after the update, cost no CLI call when the
checkpoint is at hand. Called by ``stacks.fleet``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode

from stacks.errors import StoreNotFoundError
from stacks.failures import translate
from stacks.runtime import PROJECT_NAME, FleetConfig
from stacks.stack_init import StackTemplate
from stacks.types import StoreInfo

# How the engine marks a secret in a checkpoint (``sig.Secret``).
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a type marker, not a password
_SIG_KEY = "4dabf18193072939515e22adb298388d"


def bookkeeping(type_: str) -> bool:
    """The stack itself and provider resources: not counted as the store's resources."""
    return type_.startswith(("pulumi:pulumi:", "pulumi:providers:"))


def checkpoint_path(config: FleetConfig, name: str) -> Path | None:
    """The store's checkpoint file with the file backend; ``None`` with any other backend."""
    url = config.resolved_backend_url()
    if not url.startswith("file://"):
        return None
    return Path(urlparse(url).path) / ".pulumi" / "stacks" / PROJECT_NAME / f"{name}.json"


class Checkpoint:
    """The latest deployment of one stack, as the file backend last wrote it."""

    def __init__(self, data: dict[str, Any], modified: float) -> None:
        self._latest: dict[str, Any] = (data.get("checkpoint") or {}).get("latest") or {}
        self.modified = modified

    @classmethod
    def read(cls, config: FleetConfig, name: str) -> Checkpoint | None:
        """``None`` if the backend is not a file backend; raises ``FileNotFoundError`` if the
        stack does not exist and ``ValueError`` if its checkpoint cannot be read."""
        path = checkpoint_path(config, name)
        if path is None:
            return None
        text = path.read_text()
        return cls(json.loads(text) if text.strip() else {}, path.stat().st_mtime)

    @property
    def resources(self) -> list[dict[str, Any]]:
        return list(self._latest.get("resources") or [])

    @property
    def pending_operations(self) -> list[dict[str, Any]]:
        return list(self._latest.get("pending_operations") or [])

    def store_resource_count(self) -> int:
        return sum(1 for r in self.resources if not bookkeeping(r.get("type", "")))

    def outputs(self) -> auto.OutputMap:
        """The stack's outputs; a secret one has the value ``"[secret]"`` and ``secret=True``."""
        root = next((r for r in self.resources if r.get("type") == "pulumi:pulumi:Stack"), None)
        outputs: auto.OutputMap = {}
        for key, value in ((root or {}).get("outputs") or {}).items():
            secret = isinstance(value, dict) and value.get(_SIG_KEY) == _SECRET_SIG
            outputs[key] = auto.OutputValue(value="[secret]" if secret else value, secret=secret)
        return outputs

    def last_update(self) -> dt.datetime | None:
        raw = (self._latest.get("manifest") or {}).get("time")
        try:
            return dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            return None


def config_keys(config: FleetConfig, name: str) -> set[str]:
    """The keys set in the store's stack config file (values, secret or not, are not read)."""
    path = config.project_dir / f"Pulumi.{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        return set()
    return set((data.get("config") or {}).keys())


class StoreWorkspace(auto.LocalWorkspace):
    """A ``LocalWorkspace`` that selects an existing file-backend stack without the CLI: every
    command ``Fleet`` runs names its stack (``--stack``), so the CLI's notion of a current stack
    is never used."""

    def __init__(self, config: FleetConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fleet_config = config

    def select_stack(self, stack_name: str) -> None:
        path = checkpoint_path(self._fleet_config, stack_name)
        if path is not None and path.is_file():
            return
        super().select_stack(stack_name)


class StoreStack(auto.Stack):
    """A ``Stack`` whose plain outputs and update summary come from the checkpoint when it can be
    read (``Stack.up`` asks for both after the update: three CLI calls), else from the CLI."""

    fleet_config: FleetConfig
    _quick_summary = False

    @classmethod
    def open(
        cls,
        name: str,
        workspace: StoreWorkspace,
        config: FleetConfig,
        *,
        create: bool,
        template: StackTemplate | None = None,
    ) -> StoreStack:
        """Select the store's stack; with ``create``, make it first if it is missing (from
        ``template`` where it can, else ``pulumi stack init``, whose result ``template`` keeps)."""
        path = checkpoint_path(config, name)
        config_file = config.project_dir / f"Pulumi.{name}.yaml"
        if path is None:  # another backend: the CLI looks
            mode = StackInitMode.CREATE_OR_SELECT if create else StackInitMode.SELECT
        elif create and not path.is_file():
            made = template is not None and template.create(path, config_file, name)
            mode = StackInitMode.SELECT if made else StackInitMode.CREATE
        else:  # a missing stack is selected through the CLI, so that it raises StackNotFoundError
            mode = StackInitMode.SELECT
        stack = cls(name, workspace, mode)
        stack.fleet_config = config
        if path is not None and mode == StackInitMode.CREATE and template is not None:
            template.remember(path, config_file)
        return stack

    def checkpoint(self) -> Checkpoint | None:
        try:
            return Checkpoint.read(self.fleet_config, self.name)
        except (OSError, ValueError):
            return None

    def outputs(self) -> auto.OutputMap:
        checkpoint = self.checkpoint()
        return super().outputs() if checkpoint is None else checkpoint.outputs()

    def secret_outputs(self) -> auto.OutputMap:
        """Every output with its value, secrets decrypted (the CLI: two calls)."""
        return super().outputs()

    @contextmanager
    def quick_summary(self) -> Iterator[None]:
        """Within: ``info`` (which ``up`` and ``destroy`` call for their result's summary) is made
        from the checkpoint, without ``resource_changes``; ``refresh`` and ``preview`` need those."""
        self._quick_summary = True
        try:
            yield
        finally:
            self._quick_summary = False

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        checkpoint = self.checkpoint() if self._quick_summary else None
        if checkpoint is None:
            return super().info(show_secrets)
        when = checkpoint.last_update() or dt.datetime.now(dt.UTC)
        return auto.UpdateSummary(
            kind="update",
            start_time=when,
            end_time=when,
            message="",
            environment={},
            config={},
            result="succeeded",
        )


def store_info(stack: StoreStack, workspace: auto.LocalWorkspace) -> StoreInfo:
    """A store's outputs and last update: from its checkpoint file, else from the CLI."""
    checkpoint = stack.checkpoint()
    if checkpoint is not None:
        outputs, last_update = checkpoint.outputs(), checkpoint.last_update()
        count = len(checkpoint.resources)
    else:
        with translate("read outputs", stack.name):
            outputs = stack.outputs()
            summaries = [s for s in workspace.list_stacks() if s.name == stack.name]
        if not summaries:
            raise StoreNotFoundError(f"store '{stack.name}' has no stack")
        last_update, count = summaries[0].last_update, summaries[0].resource_count or 0

    def out(key: str) -> str:
        value = outputs.get(key)
        return "" if value is None or value.secret else str(value.value)

    return StoreInfo(
        name=stack.name,
        namespace=out("namespace") or f"store-{stack.name}",
        url=out("url"),
        admin_url=out("admin_url"),
        admin_user=out("admin_user"),
        web_address=out("web_address"),
        last_update=last_update,
        last_result="succeeded" if outputs else None,
        resource_count=count,
    )
