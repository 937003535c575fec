"""The request and response bodies of the backup routes (``api.routes.backups``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from api.input_rules import BACKUP_ID_PATTERN, STORE_NAME_PATTERN
from api.models import BackupJob
from stacks.backups import Backup
from stacks.types import validate_store_name


class FromBackup(BaseModel):
    """A backup to clone a new store from (``POST /api/v1/stores`` with ``from_backup``)."""

    model_config = ConfigDict(extra="forbid")

    store: StrictStr = Field(
        min_length=3,
        max_length=40,
        description="the store whose backup it is (one the caller may see; it may be deleted since)",
        json_schema_extra={"pattern": STORE_NAME_PATTERN},
    )
    backup_id: StrictStr = Field(pattern=BACKUP_ID_PATTERN, description="the backup's id (GET .../backups)")

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        return validate_store_name(value)


class BackupOut(BaseModel):
    """A complete backup in the object store."""

    id: str
    store: str
    engine: str
    kind: str = Field(description="manual, scheduled")
    created_at: dt.datetime
    age_seconds: int
    size: int = Field(description="bytes, all parts")
    seconds: float = Field(description="how long making it took")
    parts: dict[str, int] = Field(description="each part's size in bytes")
    images: dict[str, str] = Field(description="the images of the containers the data came from")

    @classmethod
    def from_backup(cls, backup: Backup, now: dt.datetime) -> BackupOut:
        return cls(
            id=backup.id,
            store=backup.store,
            engine=backup.engine,
            kind=backup.kind,
            created_at=backup.created_at,
            age_seconds=max(0, int((now - backup.created_at).total_seconds())),
            size=backup.size,
            seconds=backup.seconds,
            parts={name: part.size for name, part in backup.parts.items()},
            images=backup.images,
        )


class BackupJobOut(BaseModel):
    """A backup or restore asked of a store, and how it went."""

    id: int
    store: str
    action: str = Field(description="backup, restore")
    kind: str = Field(description="manual, scheduled, clone")
    state: str = Field(description="queued, running, complete, failed")
    backup_id: str | None = Field(description="the backup made, or the one restored")
    source_store: str | None = Field(description="whose backup a restore loads (a clone's source)")
    size: int | None
    seconds: float | None
    error: str | None = Field(description="why it failed")
    requested_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: BackupJob) -> BackupJobOut:
        assert row.id is not None
        return cls(
            id=row.id,
            store=row.store_name,
            action=row.action,
            kind=row.kind,
            state=row.state,
            backup_id=row.backup_id,
            source_store=row.source_store,
            size=row.size,
            seconds=row.seconds,
            error=row.error,
            requested_by=row.requested_by,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )


class BackupList(BaseModel):
    configured: bool = Field(description="whether the control plane has a bucket for backups")
    backups: list[BackupOut] = Field(description="complete backups, newest first")
    jobs: list[BackupJobOut] = Field(description="the store's latest backup and restore jobs, newest first")
