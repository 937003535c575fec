"""``Fleet``: one Pulumi stack per store, driven by the Pulumi Automation API.

The public Python API of Storestack (the reconciler calls it; so can a notebook). It creates or
selects a store's stack, keeps the store's generated credentials as secret stack config (made once,
stable across updates), runs ``up`` / ``refresh`` / ``preview`` / ``destroy`` + ``stack rm``,
turns engine events into ``Progress``, reads outputs, recovers a stack left locked or with pending
operations by a killed process, and translates Pulumi's exceptions into ``stacks.errors``.
Operations on different stores run concurrently; on the same store they are serialised.
"""

from __future__ import annotations

import builtins
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

import environments
from components import namespace_name
from environments import Environment
from stacks import recovery, volumes
from stacks.cluster_probe import api_server_ready, kubectl_argv
from stacks.errors import FleetError, InvalidSpecError, OperationFailedError, StoreNotFoundError
from stacks.failures import translate
from stacks.files import make_private_dir
from stacks.processes import OWNER_VAR, interrupt_engine, owner_token
from stacks.program import (
    CONFIG_NAMESPACE,
    CREDENTIAL_KEYS,
    generate_credentials,
    mail_relay,
    preload_sdk,
    store_program,
    up_budget_seconds,
)
from stacks.progress import ProgressTracker
from stacks.runtime import PROJECT_NAME, FleetConfig, pulumi_env
from stacks.storefront import check_storefront
from stacks.types import Credentials, OperationName, Progress, StoreInfo, StoreSpec

ProgressFn = Callable[[Progress], None]

_locks_guard = threading.Lock()
_store_locks: dict[str, threading.Lock] = {}


def _store_lock(name: str) -> threading.Lock:
    """Serialises operations on one store in this process; other processes meet the stack lock."""
    with _locks_guard:
        return _store_locks.setdefault(name, threading.Lock())


class Fleet:
    """All stores of one environment, each a stack in one Pulumi project and backend."""

    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        try:
            self.environment: Environment = environments.load(config.environment)
        except environments.EnvironmentError as exc:
            raise InvalidSpecError(str(exc)) from exc
        root = config.pulumi_root()
        if root is None:
            raise FleetError(
                f"no pulumi CLI found in {config.tools_dir / 'bin'} or on PATH; run the setup command"
            )
        self._command = auto.PulumiCommand(root=str(root))
        preload_sdk()
        make_private_dir(config.data_dir)
        config.project_dir.mkdir(parents=True, exist_ok=True)
        if config.backend_url is None:
            config.state_dir.mkdir(parents=True, exist_ok=True)
        self._env = {**pulumi_env(config), OWNER_VAR: owner_token()}
        _write_project_file(config)
        # Workspaces are made without project settings so that nothing rewrites Pulumi.yaml while
        # a concurrent pulumi process reads it; this one serves listing and `stack rm`.
        self._fleet_workspace = self._new_workspace(None)

    # -- workspace plumbing -------------------------------------------------------------------

    def _new_workspace(self, program: auto.PulumiFn | None) -> auto.LocalWorkspace:
        return auto.LocalWorkspace(
            work_dir=str(self.config.project_dir),
            pulumi_home=str(self.config.pulumi_home),
            program=program,
            env_vars=self._env,
            secrets_provider="passphrase",
            pulumi_command=self._command,
        )

    def _workspace(self) -> auto.LocalWorkspace:
        return self._fleet_workspace

    def _stack(self, spec: StoreSpec, *, create: bool, render_to: Path | None = None) -> auto.Stack:
        workspace = self._new_workspace(store_program(spec, self.environment, render_to=render_to))
        recovery.repair_interrupted_writes(self.config, spec.name)
        with translate("open stack", spec.name):
            if create:
                return auto.Stack.create_or_select(spec.name, workspace)
            return auto.Stack.select(spec.name, workspace)

    def _exists(self, name: str) -> bool:
        with translate("list stacks", name):
            return any(s.name == name for s in self._workspace().list_stacks())

    def _ensure_credentials(self, stack: auto.Stack) -> None:
        """Generate the store's credentials once; later ups keep the stored ones."""
        current = stack.get_all_config()
        missing = [k for k in CREDENTIAL_KEYS if f"{CONFIG_NAMESPACE}:{k}" not in current]
        if not missing:
            return
        deployment = stack.export_stack().deployment or {}
        if any(not _bookkeeping(r.get("type", "")) for r in deployment.get("resources") or []):
            # New values would not reach MySQL (it keeps its first passwords): refuse, don't rotate.
            raise InvalidSpecError(
                f"store '{stack.name}' has resources but its credentials are missing from "
                f"{self.config.project_dir / f'Pulumi.{stack.name}.yaml'}; restore that file"
            )
        generated = generate_credentials()
        for key in missing:
            self._set_secret(stack.name, f"{CONFIG_NAMESPACE}:{key}", generated[key])

    def _set_secret(self, stack_name: str, key: str, value: str) -> None:
        """``pulumi config set --secret`` with the value on stdin, never on a command line."""
        proc = subprocess.run(
            [self._command.command, "config", "set", "--secret", key, "--stack", stack_name],
            input=value,
            cwd=self.config.project_dir,
            env={**os.environ, **self._env},
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise OperationFailedError(
                f"storing {key} of store '{stack_name}' failed: {proc.stderr.strip()[-300:]}",
                temporary=True,
                reason="config_failed",
            )

    def _spec_config(self, stack: auto.Stack, spec: StoreSpec) -> None:
        stack.set_all_config(
            {
                f"{CONFIG_NAMESPACE}:spec": auto.ConfigValue(value=spec.model_dump_json()),
                f"{CONFIG_NAMESPACE}:environment": auto.ConfigValue(value=self.environment.name),
            }
        )

    def _spec_of(self, name: str) -> StoreSpec:
        """The spec a store was last deployed with (kept in its stack config)."""
        path = self.config.project_dir / f"Pulumi.{name}.yaml"
        if not path.exists():
            return StoreSpec(name=name)
        try:
            data = yaml.safe_load(path.read_text()) or {}
            raw = (data.get("config") or {}).get(f"{CONFIG_NAMESPACE}:spec")
            return StoreSpec.model_validate_json(raw) if isinstance(raw, str) else StoreSpec(name=name)
        except (yaml.YAMLError, ValueError):
            # An unreadable or outdated spec must not block destroy, refresh or reading outputs.
            return StoreSpec(name=name)

    def _recover(self, stack: auto.Stack, name: str) -> None:
        """Clear what a killed process left: a stale lock file and pending operations."""
        recovery.clear_stale_locks(self.config, name)
        with translate("read state", name):
            deployment = stack.export_stack()
        pending = (deployment.deployment or {}).get("pending_operations") or []
        if pending:
            # Pending creates are dropped from the state; the next up re-applies them with
            # server-side apply, which adopts objects that already exist in the cluster.
            with translate("refresh", name):
                stack.refresh(clear_pending_creates=True, color="never", on_output=lambda _line: None)

    # -- public operations --------------------------------------------------------------------

    def up(
        self, spec: StoreSpec, *, on_progress: ProgressFn | None = None, refresh: bool = False
    ) -> StoreInfo:
        """Create or converge the store; returns its outputs once Pulumi's awaits have passed.

        ``refresh`` first reads the cluster back into the state (``pulumi up --refresh``), so objects
        that vanished since the last operation (a rebuilt cluster, a namespace deleted by hand) are
        created again instead of failing the update; the reconciler asks for it on every retry."""
        with _store_lock(spec.name):
            stack = self._stack(spec, create=True)
            self._recover(stack, spec.name)
            with translate("configure", spec.name):
                self._ensure_credentials(stack)
                self._spec_config(stack, spec)
            tracker = self._tracker("up", stack, on_progress)
            try:
                mail_relay(self.environment)  # the relay's password variable must be set
            except ValueError as exc:
                raise InvalidSpecError(str(exc)) from None
            kubectl = kubectl_argv(self.config.kubeconfig, tools_dir=self.config.tools_dir)
            if kubectl is not None:  # sizes change in place, never by replacing a claim
                namespace = namespace_name(spec.name)
                wanted = volumes.wanted_claims(self.environment)
                volumes.resize_claims(volumes.Kubectl(kubectl), namespace, wanted, report=tracker.step)
            with translate("up", spec.name, tracker=tracker):
                stack.up(
                    on_event=tracker.on_event, color="never", on_output=lambda _line: None, refresh=refresh
                )
            info = self._info(stack)
            readiness = self.environment.readiness
            if readiness.http_check:
                tracker.step("checking the storefront: home page, Store API, cart")
                check_storefront(info.url, timeout=readiness.timeout_seconds)
            tracker.finish("store is up")
            return info

    def preview(self, spec: StoreSpec) -> dict[str, int]:
        """What ``up`` would change: counts by operation (create, update, same, delete, ...)."""
        with _store_lock(spec.name):
            stack = self._stack(spec, create=True)
            with translate("configure", spec.name):
                self._ensure_credentials(stack)
            with translate("preview", spec.name):
                result = stack.preview(color="never", on_output=lambda _line: None)
            return _counts(result.change_summary)

    def refresh(self, name: str, *, on_progress: ProgressFn | None = None) -> dict[str, int]:
        """Read the cluster back into the state; counts show drift (``update``/``delete`` != 0)."""
        with _store_lock(name):
            if not self._exists(name):
                raise StoreNotFoundError(f"store '{name}' has no stack")
            stack = self._stack(self._spec_of(name), create=False)
            self._recover(stack, name)
            tracker = self._tracker("refresh", stack, on_progress)
            with translate("refresh", name, tracker=tracker):
                result = stack.refresh(on_event=tracker.on_event, color="never", on_output=lambda _line: None)
            tracker.finish("refreshed")
            return _counts(result.summary.resource_changes or {})

    def destroy(self, name: str, *, on_progress: ProgressFn | None = None) -> None:
        """Delete every object of the store, then its stack and config; a missing store is fine."""
        with _store_lock(name):
            if self._exists(name):
                stack = self._stack(self._spec_of(name), create=False)
                self._recover(stack, name)
                tracker = self._tracker("destroy", stack, on_progress)
                with translate("destroy", name, tracker=tracker):
                    stack.destroy(on_event=tracker.on_event, color="never", on_output=lambda _line: None)
                with translate("stack rm", name):
                    self._workspace().remove_stack(name)
                tracker.finish("store deleted")
            (self.config.project_dir / f"Pulumi.{name}.yaml").unlink(missing_ok=True)
            recovery.purge_traces(self.config, name)

    def get(self, name: str) -> StoreInfo:
        """A store's outputs and last update; ``StoreNotFoundError`` if it has no stack."""
        if not self._exists(name):
            raise StoreNotFoundError(f"store '{name}' has no stack")
        return self._info(self._stack(self._spec_of(name), create=False))

    def list(self) -> list[StoreInfo]:
        """Every store that has a stack in this fleet's backend."""
        with translate("list stacks", "*"):
            names = sorted(s.name for s in self._workspace().list_stacks())
        infos = []
        for name in names:
            try:
                infos.append(self._info(self._stack(self._spec_of(name), create=False)))
            except StoreNotFoundError:
                continue  # removed while we listed
        return infos

    def credentials(self, name: str) -> Credentials:
        """The WordPress admin login of a store (for the audited credentials endpoint)."""
        if not self._exists(name):
            raise StoreNotFoundError(f"store '{name}' has no stack")
        stack = self._stack(self._spec_of(name), create=False)
        with translate("read outputs", name):
            outputs = stack.outputs()
        if "admin_password" not in outputs:
            raise StoreNotFoundError(f"store '{name}' has not been provisioned yet")
        return Credentials(
            admin_user=str(outputs["admin_user"].value), admin_password=outputs["admin_password"].value
        )

    def render(self, spec: StoreSpec, directory: Path) -> builtins.list[Path]:
        """Write the store's Kubernetes manifests to ``directory`` without touching a cluster."""
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="storestack-render-") as tmp:
            config = self.config.model_copy(
                update={"data_dir": Path(tmp), "backend_url": None, "kubeconfig": None}
            )
            renderer = Fleet(config)
            stack = renderer._stack(spec, create=True, render_to=directory)
            with translate("render", spec.name):
                renderer._ensure_credentials(stack)
                stack.up(color="never", on_output=lambda _line: None)
        return sorted(p for p in directory.rglob("*.yaml"))

    def cancel(self, name: str) -> bool:
        """Interrupt a running operation on the store (its ``up`` or ``destroy`` then fails with a
        cancelled update, its state saved); whether one was running in this process."""
        root = self.config.pulumi_root()
        return bool(root and interrupt_engine(root / "bin" / "pulumi", name))

    def up_budget_seconds(self) -> int:
        """How long one healthy ``up`` may take in this environment (``program.up_budget_seconds``)."""
        return up_budget_seconds(self.environment)

    def cluster_reachable(self, timeout: float = 3.0) -> bool:
        """Whether the kubeconfig's API server answers its ``/readyz`` (``stacks.cluster_probe``)."""
        return api_server_ready(self.config.kubeconfig, tools_dir=self.config.tools_dir, timeout=timeout)

    # -- helpers ------------------------------------------------------------------------------

    def _tracker(
        self, operation: OperationName, stack: auto.Stack, on_progress: ProgressFn | None
    ) -> ProgressTracker:
        known = 0
        try:
            deployment = stack.export_stack().deployment or {}
            known = sum(1 for r in deployment.get("resources") or [] if not _bookkeeping(r.get("type", "")))
        except auto.errors.CommandError:
            known = 0
        return ProgressTracker(operation=operation, known_total=known, callback=on_progress)

    def _info(self, stack: auto.Stack) -> StoreInfo:
        with translate("read outputs", stack.name):
            outputs = stack.outputs()
            summaries = [s for s in self._workspace().list_stacks() if s.name == stack.name]
        if not summaries:
            raise StoreNotFoundError(f"store '{stack.name}' has no stack")
        summary = summaries[0]

        def out(key: str) -> str:
            value = outputs.get(key)
            return "" if value is None or value.secret else str(value.value)

        return StoreInfo(
            name=stack.name,
            namespace=out("namespace") or f"store-{stack.name}",
            url=out("url"),
            admin_url=out("admin_url"),
            admin_user=out("admin_user"),
            last_update=summary.last_update,
            last_result="succeeded" if outputs else None,
            resource_count=summary.resource_count or 0,
        )


def _write_project_file(config: FleetConfig) -> None:
    """Write the workspace's Pulumi.yaml once, atomically, if it is missing or different."""
    path = config.project_dir / "Pulumi.yaml"
    text = yaml.safe_dump(
        {"name": PROJECT_NAME, "runtime": "python", "backend": {"url": config.resolved_backend_url()}},
        sort_keys=False,
    )
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(f".Pulumi.yaml.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _bookkeeping(type_: str) -> bool:
    """The stack itself and provider resources: not counted as the store's resources."""
    return type_.startswith(("pulumi:pulumi:", "pulumi:providers:"))


def _counts(changes: Mapping[Any, int]) -> dict[str, int]:
    """Pulumi's change counts keyed by plain operation names ("same", "update", ...)."""
    return {str(getattr(op, "value", op)): n for op, n in changes.items()}
