"""``Fleet``: one Pulumi stack per store, driven by the Pulumi Automation API.

The public Python API of Storestack (the reconciler calls it; so can a notebook). It creates or
selects a store's stack, keeps the store's generated credentials as secret stack config (made once,
stable across updates; ``stacks.credentials``), reads the state and config files directly where it
can (``stacks.state``: an operation starts two to four ``pulumi`` processes, not a dozen), runs
``up`` / ``refresh`` / ``preview`` / ``destroy`` + ``stack rm``,
turns engine events into ``Progress``, reads outputs, recovers a stack left locked or with pending
operations by a killed process, and translates Pulumi's exceptions into ``stacks.errors``.
Operations on different stores run concurrently; on the same store they are serialised.
Given a ``StackConfigStore`` (``stacks.config_store``), the stack config files are copies of a
shared store, so replicas on other hosts can run any store's operations.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pulumi import automation as auto

import environments
from components import namespace_name
from environments import Environment
from environments.revisions import revise
from stacks import recovery, stack_config, volumes
from stacks.backups import BackupError, Backups
from stacks.cancel import Operation, cancel_operation, register_operation
from stacks.cluster_probe import api_server_ready, kubectl_argv
from stacks.config_store import ConfigSync, StackConfigStore
from stacks.credentials import CredentialStore
from stacks.drift import DriftCollector
from stacks.errors import FleetError, InvalidSpecError, StoreNotFoundError
from stacks.failures import translate
from stacks.files import make_private_dir
from stacks.processes import OWNER_VAR, interrupt_engine, owner_token
from stacks.program import (
    mail_relay,
    pending_credentials,
    preload_sdk,
    store_program,
    up_budget_seconds,
)
from stacks.progress import ProgressTracker
from stacks.runtime import FleetConfig, pulumi_env, write_project_file
from stacks.stack_init import StackTemplate
from stacks.state import StoreStack, StoreWorkspace, bookkeeping, checkpoint_path, store_info
from stacks.storefront import CHECKED, check_store, wants_check
from stacks.types import (
    BASE_REVISION,
    Credentials,
    Drift,
    OperationName,
    Progress,
    Revision,
    StoreInfo,
    StoreSpec,
)

ProgressFn = Callable[[Progress], None]
log = logging.getLogger("storestack.fleet")

_locks_guard = threading.Lock()
_store_locks: dict[str, threading.Lock] = {}


def _store_lock(name: str) -> threading.Lock:
    """Serialises operations on one store in this process; other processes meet the stack lock."""
    with _locks_guard:
        return _store_locks.setdefault(name, threading.Lock())


class Fleet:
    """All stores of one environment, each a stack in one Pulumi project and backend."""

    def __init__(self, config: FleetConfig, *, configs: StackConfigStore | None = None) -> None:
        self.config = config
        self._sync = ConfigSync(config.project_dir, configs)
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
        self._credentials = CredentialStore(
            config, self._command.command, self._env, on_stored=self._sync.push
        )
        write_project_file(config)
        self._template = StackTemplate()  # new stacks without `pulumi stack init` (stacks.stack_init)
        # Workspaces are made without project settings so that nothing rewrites Pulumi.yaml while
        # a concurrent pulumi process reads it; this one serves listing and `stack rm`.
        self._fleet_workspace = self._new_workspace(None)

    # -- workspace plumbing -------------------------------------------------------------------

    def _new_workspace(self, program: auto.PulumiFn | None) -> StoreWorkspace:
        return StoreWorkspace(
            self.config,
            work_dir=str(self.config.project_dir),
            pulumi_home=str(self.config.pulumi_home),
            program=program,
            env_vars=self._env,
            secrets_provider="passphrase",
            pulumi_command=self._command,
        )

    def _workspace(self) -> auto.LocalWorkspace:
        return self._fleet_workspace

    def _stack(
        self, spec: StoreSpec, *, create: bool, env: Environment | None = None, render_to: Path | None = None
    ) -> StoreStack:
        program = store_program(spec, env or self.environment, render_to=render_to)
        workspace = self._new_workspace(program)
        recovery.repair_interrupted_writes(self.config, spec.name)
        with translate("open stack", spec.name):
            return StoreStack.open(spec.name, workspace, self.config, create=create, template=self._template)

    def _exists(self, name: str) -> bool:
        path = checkpoint_path(self.config, name)
        if path is not None:
            return path.is_file()
        with translate("list stacks", name):
            return any(s.name == name for s in self._workspace().list_stacks())

    def _resources(self, stack: StoreStack) -> tuple[builtins.list[dict[str, Any]], builtins.list[Any]]:
        """The stack's resources and pending operations: from the checkpoint, else ``stack export``."""
        checkpoint = stack.checkpoint()
        if checkpoint is not None:
            return checkpoint.resources, checkpoint.pending_operations
        with translate("read state", stack.name):
            deployment = stack.export_stack().deployment or {}
        return list(deployment.get("resources") or []), list(deployment.get("pending_operations") or [])

    def _ensure_credentials(self, stack: StoreStack, resources: builtins.list[dict[str, Any]]) -> None:
        """Generate and store the store's credentials if it has none (preview, render)."""
        fresh = self._credentials.fresh(stack.name, resources)
        if fresh is not None:
            self._credentials.store(stack.name, fresh)

    def _environment(self, revision: Revision) -> Environment:
        """The environment as ``revision`` changes it (``environments.revisions``)."""
        try:
            return revise(self.environment, revision.overrides, label=f"revision {revision.number}")
        except environments.EnvironmentError as exc:
            raise InvalidSpecError(str(exc)) from None

    def _config_path(self, name: str) -> Path:
        return stack_config.config_path(self.config.project_dir, name)

    def _deployed(self, name: str, *, create: bool = False) -> StoreStack:
        """The store's stack with the program of the spec and revision it was last deployed with."""
        spec, revision = stack_config.read(self._config_path(name), name)
        return self._stack(spec, create=create, env=self._environment(revision))

    def revision_of(self, name: str) -> Revision:
        """The environment revision the store was last deployed with (0: the file as it is)."""
        return stack_config.read(self._config_path(name), name)[1]

    def _recover(self, stack: StoreStack, name: str) -> builtins.list[dict[str, Any]]:
        """Clear what a killed process left (a stale lock file, pending operations); returns the
        stack's resources."""
        for holder in recovery.clear_stale_locks(self.config, name):
            log.warning("store %s: removed the stack lock of %s, a worker that lost its lease", name, holder)
        resources, pending = self._resources(stack)
        if pending:
            # Pending creates are dropped from the state; the next up re-applies them with
            # server-side apply, which adopts objects that already exist in the cluster.
            with translate("refresh", name):
                stack.refresh(clear_pending_creates=True, color="never", on_output=lambda _line: None)
            resources, _ = self._resources(stack)
        return resources

    # -- public operations --------------------------------------------------------------------

    def up(
        self,
        spec: StoreSpec,
        *,
        on_progress: ProgressFn | None = None,
        refresh: bool = False,
        revision: Revision = BASE_REVISION,
    ) -> StoreInfo:
        """Create or converge the store; returns its outputs once Pulumi's awaits have passed.

        ``refresh`` first reads the cluster back into the state (``pulumi up --refresh``), so objects
        that vanished since the last operation (a rebuilt cluster, a namespace deleted by hand) are
        created again instead of failing the update; the reconciler asks for it on every retry.
        ``revision`` is the environment revision to build the store from (``api.rollouts``)."""
        env = self._environment(revision)
        with (
            _store_lock(spec.name),
            self._operation(spec.name, "up") as op,
            self._sync.working_copy(spec.name),
        ):
            stack = self._stack(spec, create=True, env=env)
            resources = self._recover(stack, spec.name)
            with translate("configure", spec.name):
                fresh = self._credentials.fresh(spec.name, resources)
                stack_config.write(self._config_path(spec.name), spec, env.name, revision)
            self._sync.push(spec.name)  # with the salt `stack init` wrote
            tracker = self._tracker("up", resources, on_progress)
            try:
                mail_relay(env)  # the relay's password variable must be set
                env.check_store(spec.engine, spec.plan)  # the engine and plan are still offered
            except ValueError as exc:
                raise InvalidSpecError(str(exc)) from None
            kubectl = kubectl_argv(self.config.kubeconfig, tools_dir=self.config.tools_dir)
            # Sizes change in place, never by replacing a claim; only a claim in the state could be
            # replaced, so a stack without resources (a first up) has none to check.
            if kubectl is not None and resources:
                namespace = namespace_name(spec.name)
                wanted = volumes.wanted_claims(env, spec.engine)
                volumes.resize_claims(volumes.Kubectl(kubectl), namespace, wanted, report=tracker.step)
            op.checkpoint()
            options: dict[str, Any] = {
                "on_event": op.guard(tracker.on_event),
                "color": "never",
                "on_output": lambda _line: None,
                "refresh": refresh,
            }
            with translate("up", spec.name, tracker=tracker), stack.quick_summary():
                if fresh is None:
                    stack.up(**options)
                else:  # a first up: the credentials are stored meanwhile (stacks.credentials)
                    with self._credentials.storing(spec.name, fresh) as (stored, config_file):
                        program = store_program(
                            spec, env, credentials=lambda: pending_credentials(fresh, stored)
                        )
                        stack.up(**options, program=program, config_file=str(config_file))
            info = store_info(stack, self._workspace())
            if spec.suspended:  # nothing serves the storefront: there is nothing to check
                tracker.finish("store is suspended: its workloads are scaled to zero")
                return info
            if wants_check(spec, env):
                tracker.step(CHECKED[spec.engine])
                check_store(spec, env, info)
            tracker.finish("store is up")
            return info

    def preview(self, spec: StoreSpec, *, revision: Revision = BASE_REVISION) -> dict[str, int]:
        """What ``up`` (of ``spec`` on ``revision``) would change: counts by operation (create,
        update, same, delete, ...)."""
        with _store_lock(spec.name), self._sync.working_copy(spec.name):
            stack = self._stack(spec, create=True, env=self._environment(revision))
            with translate("configure", spec.name):
                self._ensure_credentials(stack, self._resources(stack)[0])
            with translate("preview", spec.name):
                result = stack.preview(color="never", on_output=lambda _line: None)
            return _counts(result.change_summary)

    def refresh(self, name: str, *, on_progress: ProgressFn | None = None) -> dict[str, int]:
        """Read the cluster back into the state; counts show drift (``update``/``delete`` != 0)."""
        with _store_lock(name), self._operation(name, "refresh") as op, self._sync.working_copy(name):
            if not self._exists(name):
                raise StoreNotFoundError(f"store '{name}' has no stack")
            stack = self._deployed(name)
            tracker = self._tracker("refresh", self._recover(stack, name), on_progress)
            op.checkpoint()
            with translate("refresh", name, tracker=tracker):
                result = stack.refresh(
                    on_event=op.guard(tracker.on_event), color="never", on_output=lambda _line: None
                )
            tracker.finish("refreshed")
            return _counts(result.summary.resource_changes or {})

    def check_drift(self, name: str) -> Drift:
        """What the cluster's objects lack against the store's program (``stacks.drift``): a
        ``preview --refresh``, which leaves the saved state alone; ``up(refresh=True)`` repairs it."""
        with _store_lock(name), self._operation(name, "drift check") as op, self._sync.working_copy(name):
            if not self._exists(name):
                raise StoreNotFoundError(f"store '{name}' has no stack")
            stack = self._deployed(name)
            self._recover(stack, name)
            collector = DriftCollector()
            op.checkpoint()
            with translate("preview", name):
                stack.preview(
                    refresh=True,
                    on_event=op.guard(collector.on_event),
                    color="never",
                    on_output=lambda _line: None,
                )
            return collector.drift()

    def destroy(self, name: str, *, on_progress: ProgressFn | None = None) -> None:
        """Delete every object of the store, then its stack and config; a missing store is fine."""
        with _store_lock(name), self._operation(name, "destroy") as op, self._sync.working_copy(name):
            if self._exists(name):
                stack = self._deployed(name)
                tracker = self._tracker("destroy", self._recover(stack, name), on_progress)
                op.checkpoint()
                with translate("destroy", name, tracker=tracker), stack.quick_summary():
                    stack.destroy(
                        on_event=op.guard(tracker.on_event), color="never", on_output=lambda _line: None
                    )
                with translate("stack rm", name):  # its history and backups too
                    self._workspace()._run_pulumi_cmd_sync(["stack", "rm", "--yes", "--remove-backups", name])
                tracker.finish("store deleted")
            self._sync.forget(name)
            self._credentials.forget(name)
            recovery.purge_traces(self.config, name)

    def get(self, name: str) -> StoreInfo:
        """A store's outputs and last update; ``StoreNotFoundError`` if it has no stack."""
        with self._reading(name):
            if not self._exists(name):
                raise StoreNotFoundError(f"store '{name}' has no stack")
            return store_info(self._deployed(name), self._workspace())

    def list(self) -> list[StoreInfo]:
        """Every store that has a stack in this fleet's backend."""
        with translate("list stacks", "*"):
            names = sorted(s.name for s in self._workspace().list_stacks())
        infos = []
        for name in names:
            with self._reading(name), contextlib.suppress(StoreNotFoundError):  # removed meanwhile
                infos.append(store_info(self._deployed(name), self._workspace()))
        return infos

    def credentials(self, name: str) -> Credentials:
        """The WordPress admin login of a store (for the audited credentials endpoint)."""
        with self._reading(name):
            if not self._exists(name):
                raise StoreNotFoundError(f"store '{name}' has no stack")
            stack = self._deployed(name)
            with translate("read outputs", name):
                outputs = stack.secret_outputs()
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
                renderer._ensure_credentials(stack, [])
                stack.up(color="never", on_output=lambda _line: None)
        return sorted(p for p in directory.rglob("*.yaml"))

    def cancel(self, name: str) -> bool:
        """Stop the store's running operation (``stacks.cancel``): before the engine starts, it
        fails as cancelled; once it runs, the engine is interrupted and the update fails as
        cancelled, its state saved. Whether one was running in this process."""
        return cancel_operation(name)

    def _operation(self, name: str, verb: str) -> contextlib.AbstractContextManager[Operation]:
        root = self.config.pulumi_root()
        pulumi = (root or self.config.tools_dir) / "bin" / "pulumi"
        return register_operation(name, verb, lambda: interrupt_engine(pulumi, name))

    def up_budget_seconds(self) -> int:
        """How long one healthy ``up`` may take in this environment (``program.up_budget_seconds``)."""
        return up_budget_seconds(self.environment)

    def backups(self, log: Callable[[str], None] | None = None) -> Backups:
        """The fleet's backups (``stacks.backups``), in the bucket of ``FleetConfig.backup_url``."""
        kubectl = kubectl_argv(self.config.kubeconfig, tools_dir=self.config.tools_dir)
        if self.config.backup_url is None or kubectl is None:
            raise BackupError("backups need a backup_url (STORESTACK_BACKUP_URL) and kubectl")
        return Backups(self.config.backup_url, kubectl, log=log)

    def cluster_reachable(self, timeout: float = 3.0) -> bool:
        """Whether the kubeconfig's API server answers its ``/readyz`` (``stacks.cluster_probe``)."""
        return api_server_ready(self.config.kubeconfig, tools_dir=self.config.tools_dir, timeout=timeout)

    # -- helpers ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self, name: str) -> Iterator[None]:
        """A read of the store's stack with its shared config as the working copy, unless an
        operation of this process holds the store: then the local file is the newest copy."""
        lock = _store_lock(name)
        if not lock.acquire(blocking=False):
            yield
            return
        try:
            with self._sync.working_copy(name, keep_existing=True):
                yield
        finally:
            lock.release()

    def _tracker(
        self,
        operation: OperationName,
        resources: builtins.list[dict[str, Any]],
        on_progress: ProgressFn | None,
    ) -> ProgressTracker:
        known = sum(1 for r in resources if not bookkeeping(r.get("type", "")))
        return ProgressTracker(operation=operation, known_total=known, callback=on_progress)


def _counts(changes: Mapping[Any, int]) -> dict[str, int]:
    """Pulumi's change counts keyed by plain operation names ("same", "update", ...)."""
    return {str(getattr(op, "value", op)): n for op, n in changes.items()}
