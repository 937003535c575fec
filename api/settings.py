"""The control plane's settings: one ``Settings`` object built at the edge and passed down.

Read from the environment (prefix ``STORESTACK_``) by the CLI and by ``uvicorn`` entry points; nothing
else in the api layer reads the environment. ``Settings.fleet_config()`` builds the ``FleetConfig``
the stacks layer needs. The Pulumi passphrase is never defaulted in code: when unset, one is
generated once and kept in ``<data_dir>/passphrase`` (mode 600); replicas on several hosts are
all given the same one (``api.replicas`` checks).
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from stacks import FleetConfig

PASSPHRASE_FILE = "passphrase"  # noqa: S105 - a file name


SIMULATED_CLUSTER_ENVIRONMENTS = ("sim", "realnode")
"""The packaged environments that run on ``storestack cluster up``'s cluster."""


class Settings(BaseSettings):
    """Every knob of the control plane; env var ``STORESTACK_<FIELD>`` sets each."""

    model_config = SettingsConfigDict(env_prefix="STORESTACK_", extra="ignore")

    # where things live
    data_dir: Path = Field(default=Path("~/.local/share/storestack"), description="state directory")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    environment: str = Field(default="sim", description="environment name or YAML path")
    kubeconfig: Path | None = Field(
        default=None,
        description="kubeconfig; default: the simulated cluster's for sim and realnode, else ~/.kube/config",
    )
    tools_dir: Path = Field(default=Path("~/.cache/storestack/tools"), description="toolchain cache")
    pulumi_backend_url: str | None = Field(default=None, description="Pulumi backend; default file backend")
    pulumi_passphrase: SecretStr | None = Field(default=None, description="secrets provider passphrase")

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = Field(default=None, description="URL users reach the API at")
    max_body_bytes: int = Field(default=16 * 1024, ge=256)
    idempotency_ttl_seconds: float = Field(default=24 * 3600, gt=0)

    # reconciler
    log_error_messages: bool = Field(
        default=False, description="debugging only: log unhandled errors' messages (may hold secrets)"
    )
    strict_file_modes: bool = Field(
        default=False, description="refuse to start when data-dir files are open to other users"
    )
    run_reconciler: bool = Field(default=True, description="serve also runs the reconciler in-process")
    worker_id: str | None = Field(default=None, description="lease owner id; default host:pid:random")
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    lease_seconds: float = Field(default=30.0, gt=0)
    foreign_lock_grace_seconds: float = Field(
        default=60.0,
        ge=0,
        description="a stack lock another host left is a dead worker's after this long (its lease gone)",
    )
    backup_url: str | None = Field(
        default=None,
        description="where store backups go: s3://bucket[/prefix]?endpoint=...; AWS_* variables for the keys",
    )
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, description="tries of one operation before failing it")
    backoff_base_seconds: float = Field(default=5.0, ge=0)
    backoff_max_seconds: float = Field(default=300.0, ge=0)
    stall_report_seconds: float = Field(
        default=60.0, gt=0, description="an event when an operation shows no engine step for this long"
    )
    cluster_check_seconds: float = Field(
        default=5.0, gt=0, description="how often the reconciler asks whether the cluster answers"
    )
    provisioning_timeout_seconds: float = Field(
        default=3600.0, gt=0, description="an operation not done this long after its first try fails"
    )
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    drift_check_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="how often each ready store is checked for drift (spread ±20%); 0 turns checks off",
    )
    drift_auto_repair: bool = Field(
        default=False, description="repair drift as soon as a check finds it, instead of on request"
    )
    rollout_canary: int = Field(default=1, ge=1, le=100, description="stores in a rollout's first wave")
    rollout_growth: int = Field(default=2, ge=1, le=10, description="each wave this many times the last")
    rollout_max_concurrency: int = Field(
        default=2, ge=1, le=50, description="stores of a rollout updating at once"
    )

    # limits
    max_active_stores_per_owner: int = Field(default=10, ge=0)
    max_active_stores_total: int = Field(default=100, ge=0)
    max_suspended_stores_per_owner: int = Field(default=10, ge=0)
    creations_per_owner_per_minute: int = Field(default=10, ge=0)

    # event streams
    sse_poll_seconds: float = Field(default=0.5, gt=0)
    sse_keepalive_seconds: float = Field(default=15.0, gt=0)

    @field_validator("data_dir", "tools_dir", "kubeconfig", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    def resolved_database_url(self) -> str:
        """The database URL: the setting, else a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'storestack.db').resolve()}"

    def cluster_dir(self) -> Path:
        """Where ``storestack cluster up`` keeps the simulated cluster (and its kubeconfig)."""
        return self.data_dir.resolve() / "cluster"

    def resolved_kubeconfig(self) -> Path | None:
        """The kubeconfig: the setting; else, in the ``sim`` and ``realnode`` environments (both run
        on the simulated cluster), its kubeconfig (``<data_dir>/cluster/kubeconfig``); else None."""
        if self.kubeconfig is not None:
            return self.kubeconfig
        if self.environment in SIMULATED_CLUSTER_ENVIRONMENTS:
            return self.cluster_dir() / "kubeconfig"
        return None

    def resolved_public_url(self) -> str:
        """Where users reach the API (used for login URLs)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def passphrase(self) -> SecretStr:
        """The Pulumi secrets passphrase: the setting, else one generated once in the data dir."""
        if self.pulumi_passphrase is not None:
            return self.pulumi_passphrase
        return SecretStr(load_or_create_passphrase(self.data_dir / PASSPHRASE_FILE))

    def fleet_config(self) -> FleetConfig:
        """The ``FleetConfig`` for ``stacks.Fleet``."""
        from stacks import FleetConfig

        return FleetConfig(
            data_dir=self.data_dir.resolve(),
            backend_url=self.pulumi_backend_url,
            passphrase=self.passphrase(),
            kubeconfig=self.resolved_kubeconfig(),
            tools_dir=self.tools_dir.resolve(),
            environment=self.environment,
            foreign_lock_grace_seconds=self.foreign_lock_grace_seconds,
            backup_url=self.backup_url,
        )


def load_or_create_passphrase(path: Path) -> str:
    """Read the passphrase file, creating it (mode 600, exclusively) with a random value if absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # another process may have created it a moment ago and still be writing it
        for _ in range(40):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.05)
        raise RuntimeError(f"the passphrase file {path} is empty") from None
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
