"""The SQL tables of the control plane (SQLModel): stores, their events, API tokens, idempotency keys.

Used by the store service, the reconciler, auth and the migrations. Timestamps are naive UTC.
A store row is one incarnation of a name: ``active_name`` equals ``name`` until the store is
deleted and is then cleared, so a unique index on it allows one live store per name while deleted
rows stay behind as audit tombstones and the name can be reused.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata
UTC_NAIVE = DateTime(timezone=False)  # naive UTC everywhere; see api.db.utcnow


class Desired(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


class Status(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    READY = "ready"
    SUSPENDED = "suspended"  # ready, with its workloads scaled to zero (``Store.suspended``)
    RESTORING = "restoring"  # ready, its data being replaced by a backup's (``api.backup_jobs``)
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


class Role(StrEnum):
    ADMIN = "admin"
    OWNER = "owner"


class Store(SQLModel, table=True):
    """One store incarnation: desired state (written by the API) and actual state (by the reconciler)."""

    __tablename__ = "stores"
    __table_args__ = (
        UniqueConstraint("active_name", name="uq_stores_active_name"),
        Index("ix_stores_name_id", "name", "id"),
        Index("ix_stores_owner_created_at", "owner", "created_at"),
        Index("ix_stores_status", "status"),
        Index("ix_stores_expires_at", "expires_at"),
        Index("ix_stores_drift_due_at", "drift_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    active_name: str | None = Field(default=None, max_length=64)
    owner: str = Field(max_length=64)
    engine: str = Field(max_length=32)
    spec_json: str = Field(sa_column=Column(Text, nullable=False))
    desired: str = Field(max_length=16)
    status: str = Field(max_length=16)
    generation: int = 1
    progress_done: int = 0
    progress_total: int = 0
    progress_step: str = Field(default="", max_length=500)
    url: str | None = Field(default=None, max_length=500)
    admin_url: str | None = Field(default=None, max_length=500)
    namespace: str | None = Field(default=None, max_length=100)
    attempts: int = 0
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    operation_started_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    last_error_code: str | None = Field(default=None, max_length=64)
    last_error_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_type=UTC_NAIVE)
    updated_at: dt.datetime = Field(sa_type=UTC_NAIVE)
    ready_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    deleted_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)  # deleted once past
    suspended: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # drift (``api.drift``): what the last check found, when it ran, when the next one is due
    drifted: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    drift_summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    drift_checked_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    drift_due_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    # somebody asked for the next check (``POST .../check-drift``): its result is an event, clean too
    drift_requested: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # the next ``up`` reads the cluster back first (``pulumi up --refresh``): a repair was asked for
    refresh_requested: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # the environment revision the store is to be on (``api.rollouts``), and the one its last
    # successful ``up`` applied (None: not provisioned yet)
    revision: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    applied_revision: int | None = Field(default=None)
    # the next scheduled backup (``api.backup_jobs``; None: not scheduled)
    backup_due_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    # a deleted store's newest backup is kept until then (``backups.keep_after_delete_days``)
    backup_kept_until: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)


class StoreHost(SQLModel, table=True):
    """A custom host name a live store serves (``StoreSpec.domains``): unique, so two stores can never
    claim the same one; its row goes when the store is deleted."""

    __tablename__ = "store_hosts"
    __table_args__ = (UniqueConstraint("host", name="uq_store_hosts_host"),)

    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(max_length=253)
    store_id: int = Field(sa_column=Column(Integer, ForeignKey("stores.id"), nullable=False, index=True))


class RolloutState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    ROLLING_BACK = "rolling_back"  # a store failed: the stores to roll back are going back
    SUCCEEDED = "succeeded"  # every store is on the target revision
    FAILED = "failed"  # stopped by a failed store, the rollback done
    ABORTED = "aborted"  # stopped by an operator; every store kept the revision it had


ROLLOUT_ACTIVE = (RolloutState.RUNNING.value, RolloutState.PAUSED.value, RolloutState.ROLLING_BACK.value)


class RolloutStoreState(StrEnum):
    PENDING = "pending"  # in a wave not started yet
    UPDATING = "updating"  # moved to the target revision, its ``up`` not done
    UPDATED = "updated"  # ready on the target revision, healthy
    FAILED = "failed"  # its ``up`` on the target revision failed (the health check included)
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"  # ready again on its previous revision
    SKIPPED = "skipped"  # deleted, or left alone because the rollout stopped before its wave


class EnvironmentRevision(SQLModel, table=True):
    """A recorded version of the environment: the overrides applied to its file (``number`` 0, the
    file as it is, has no row). Rolled out to the fleet by ``api.rollouts``."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("number", name="uq_revisions_number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: int
    overrides_json: str = Field(sa_column=Column(Text, nullable=False))  # all overrides of the file
    changes_json: str = Field(sa_column=Column(Text, nullable=False))  # what it changed over its parent
    parent: int = 0
    description: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(sa_type=UTC_NAIVE)


class Rollout(SQLModel, table=True):
    """Moving the stores not on ``revision`` to it: a canary wave, then waves growing by ``growth``,
    at most ``max_concurrency`` stores updating at once; stopped (and rolled back) by a failure."""

    __tablename__ = "rollouts"
    __table_args__ = (Index("ix_rollouts_state", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    revision: int
    state: str = Field(max_length=16)
    canary: int
    growth: int
    max_concurrency: int
    rollback_all: bool = Field(sa_column=Column(Boolean, nullable=False))
    wave: int = 0  # the wave in progress (0: the canary)
    waves: int = 0
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(sa_type=UTC_NAIVE)
    updated_at: dt.datetime = Field(sa_type=UTC_NAIVE)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)


class RolloutStore(SQLModel, table=True):
    """One store of a rollout: its wave, the revision it came from and how its move went."""

    __tablename__ = "rollout_stores"
    __table_args__ = (Index("ix_rollout_stores_rollout_id_wave", "rollout_id", "wave"),)

    id: int | None = Field(default=None, primary_key=True)
    rollout_id: int = Field(sa_column=Column(Integer, ForeignKey("rollouts.id"), nullable=False))
    store_id: int = Field(sa_column=Column(Integer, ForeignKey("stores.id"), nullable=False))
    store_name: str = Field(max_length=64)
    wave: int
    from_revision: int
    state: str = Field(max_length=16)
    generation: int = 0  # the store's generation the move (or the rollback) set
    started_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RolloutEvent(SQLModel, table=True):
    """One line of a rollout's history: started, a wave began or passed, a store failed, paused..."""

    __tablename__ = "rollout_events"
    __table_args__ = (Index("ix_rollout_events_rollout_id_id", "rollout_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    rollout_id: int = Field(sa_column=Column(Integer, ForeignKey("rollouts.id"), nullable=False))
    kind: str = Field(max_length=32)
    message: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=200)
    created_at: dt.datetime = Field(sa_type=UTC_NAIVE)


class Event(SQLModel, table=True):
    """One line of a store's history: audit (who did what), status transitions, progress, errors."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_store_id_id", "store_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(sa_column=Column(Integer, ForeignKey("stores.id"), nullable=False))
    store_name: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    message: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=200)
    data_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_type=UTC_NAIVE)


class Token(SQLModel, table=True):
    """An API bearer token, stored as its SHA-256; maps to an owner and a role. It stops working
    once revoked or past ``expires_at``; ``last_used_at`` is updated at most once a minute."""

    __tablename__ = "tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_tokens_token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64)
    owner: str = Field(max_length=64)
    role: str = Field(max_length=16)
    created_at: dt.datetime = Field(sa_type=UTC_NAIVE)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)


class IdempotencyKey(SQLModel, table=True):
    """The first response to a ``POST`` carrying an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key", name="uq_idempotency_keys_owner"),)

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=64)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(sa_type=UTC_NAIVE)


class StackConfig(SQLModel, table=True):
    """A store's Pulumi stack config file (encrypted credentials, salt, deployed spec), shared by
    every replica (``api.replicas``); each worker's local file is a copy (``stacks.config_store``)."""

    __tablename__ = "stack_configs"

    name: str = Field(primary_key=True, max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: dt.datetime = Field(sa_type=UTC_NAIVE)


class FleetFact(SQLModel, table=True):
    """One fact every replica must agree on, by key (the passphrase's verifier: ``api.replicas``)."""

    __tablename__ = "fleet_facts"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class BackupAction(StrEnum):
    BACKUP = "backup"
    RESTORE = "restore"


class BackupState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


class BackupJob(SQLModel, table=True):
    """A backup or restore asked of a store (``api.backup_jobs`` runs it under the store's lease).
    The backups themselves live in the object store; these rows say what was asked, by whom, how it
    went and why it failed."""

    __tablename__ = "backup_jobs"
    __table_args__ = (
        Index("ix_backup_jobs_state_id", "state", "id"),
        Index("ix_backup_jobs_store_id_id", "store_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(sa_column=Column(Integer, ForeignKey("stores.id"), nullable=False))
    store_name: str = Field(max_length=64)
    action: str = Field(max_length=16)
    kind: str = Field(default="manual", max_length=16)  # manual, scheduled, clone
    state: str = Field(max_length=16)
    backup_id: str | None = Field(default=None, max_length=64)  # made (backup) or loaded (restore)
    source_store: str | None = Field(default=None, max_length=64)  # whose backup a restore loads
    size: int | None = None
    seconds: float | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    requested_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(sa_type=UTC_NAIVE)
    started_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTC_NAIVE)
