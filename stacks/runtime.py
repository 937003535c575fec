"""The Pulumi runtime Storestack runs every stack with: CLI, plugins, backend, passphrase.

``FleetConfig`` is built by the API's settings (or by hand in a notebook) and passed down; this
module turns it into the environment every Pulumi call gets, so a user's shell needs nothing
special: no update check, no automatic plugin download, an absolute ``file://`` backend in the
data dir unless another backend URL is set, the passphrase from the config, and the tool cache's
``pulumi`` and provider plugin. ``storestack env`` prints the same for the ``pulumi`` CLI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr

from stacks.files import write_whole

PROJECT_NAME = "storestack"


class FleetConfig(BaseModel):
    """Everything the stacks layer needs to know about where and how to run Pulumi."""

    model_config = ConfigDict(frozen=True)

    data_dir: Path
    backend_url: str | None = None
    passphrase: SecretStr
    kubeconfig: Path | None = None
    tools_dir: Path
    environment: str = "sim"
    # A stack lock written on another host is taken as a dead worker's once it has been seen this
    # long (``stacks.recovery``); ``None``: never (the caller holds no lease that fences others).
    foreign_lock_grace_seconds: float | None = None
    # Where backups go (``stacks.backups``): ``s3://bucket[/prefix]?endpoint=...``; None: no backups.
    backup_url: str | None = None

    @property
    def pulumi_dir(self) -> Path:
        return self.data_dir / "pulumi"

    @property
    def state_dir(self) -> Path:
        return self.pulumi_dir / "state"

    @property
    def project_dir(self) -> Path:
        """The workspace: Pulumi.yaml plus one Pulumi.<store>.yaml of secret config per store."""
        return self.pulumi_dir / "project"

    @property
    def pulumi_home(self) -> Path:
        return self.tools_dir / "pulumi-home"

    def resolved_backend_url(self) -> str:
        return self.backend_url or f"file://{self.state_dir.resolve()}"

    def pulumi_root(self) -> Path | None:
        """The folder holding ``bin/pulumi``: the tool cache's build, else a ``pulumi`` on PATH."""
        if (self.tools_dir / "bin" / "pulumi").exists():
            return self.tools_dir
        found = shutil.which("pulumi")
        return Path(found).resolve().parent.parent if found else None


def pulumi_env(config: FleetConfig, *, include_passphrase: bool = True) -> dict[str, str]:
    """The environment variables every Pulumi CLI call of the fleet runs with."""
    env = {
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        "PULUMI_BACKEND_URL": config.resolved_backend_url(),
        "PULUMI_HOME": str(config.pulumi_home),
        # Storestack owns the fields it declares: an apply takes back one that kubectl (or anyone)
        # changed by hand, instead of failing every later up and drift check with a Server-Side
        # Apply conflict (pulumi-kubernetes' patchForce, for every object of the store).
        "PULUMI_K8S_ENABLE_PATCH_FORCE": "true",
        # The passphrase provider's salt is in the stack config and, with this, read back from the
        # stack's state when the config lacks it: a replica can open any store's stack.
        "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true",
        "PATH": f"{config.tools_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if config.kubeconfig is not None:
        env["KUBECONFIG"] = str(config.kubeconfig)
    if include_passphrase:
        env["PULUMI_CONFIG_PASSPHRASE"] = config.passphrase.get_secret_value()
    return env


def write_project_file(config: FleetConfig) -> None:
    """Write the workspace's Pulumi.yaml once, atomically, if it is missing or different."""
    path = config.project_dir / "Pulumi.yaml"
    text = yaml.safe_dump(
        {"name": PROJECT_NAME, "runtime": "python", "backend": {"url": config.resolved_backend_url()}},
        sort_keys=False,
    )
    if path.exists() and path.read_text() == text:
        return
    write_whole(path, text)
