"""Request and response bodies of ``/api/v1/revisions`` and ``/api/v1/rollouts`` (``api.routes.rollouts``).

Used by the routes, the rollout service, the CLI (through the client) and the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from api.models import (
    EnvironmentRevision,
    Rollout,
    RolloutEvent,
    RolloutState,
    RolloutStore,
    RolloutStoreState,
)
from api.schemas import as_utc
from environments.revisions import changed_fields


def _numbers_only(data: Any, fields: tuple[str, ...]) -> Any:
    """Refuse booleans and strings for integer fields (lax validation would read ``true`` as 1 and
    ``"2"`` as 2); a JSON number that is whole (``2`` or ``2.0``) passes."""
    if isinstance(data, dict):
        for name in fields:
            if isinstance(data.get(name), bool | str):
                raise ValueError(f"{name} must be a whole number")
    return data


MAX_CANARY = 100
MAX_CONCURRENCY = 50


def _utc(value: dt.datetime) -> dt.datetime:
    shown = as_utc(value)
    assert shown is not None
    return shown


class CreateRevisionRequest(BaseModel):
    """A change of the environment, recorded as its next revision."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "changes": {"woocommerce_version": "10.4.0", "images": {"wordpress": "wordpress:6.9.0"}},
                    "description": "WooCommerce 10.4",
                }
            ]
        },
    )

    changes: dict[str, Any] = Field(
        min_length=1,
        description="environment fields to change, nested as in the environment file: mappings merge "
        "with the parent revision's, other values replace them (name, domain and scheme are fixed)",
    )
    description: StrictStr = Field(default="", max_length=500, description="what the revision is for")
    parent: int | None = Field(
        default=None, ge=0, le=2_000_000_000, description="the revision it changes; default: the newest"
    )

    @model_validator(mode="before")
    @classmethod
    def _integers(cls, data: Any) -> Any:
        return _numbers_only(data, ("parent",))


class RevisionOut(BaseModel):
    number: int = Field(description="the revision's number; 0 is the environment file as it is")
    parent: int
    description: str
    changes: dict[str, Any] = Field(description="what it changed over its parent")
    changed_fields: list[str] = Field(description="the dotted paths of everything it overrides")
    overrides: dict[str, Any] = Field(description="every override of the environment file it applies")
    created_by: str
    created_at: dt.datetime | None
    stores: int = Field(description="live stores on it now (their last provisioning applied it)")

    @classmethod
    def from_row(cls, row: EnvironmentRevision, stores: int) -> RevisionOut:
        overrides = json.loads(row.overrides_json)
        return cls(
            number=row.number,
            parent=row.parent,
            description=row.description,
            changes=json.loads(row.changes_json),
            changed_fields=changed_fields(overrides),
            overrides=overrides,
            created_by=row.created_by,
            created_at=as_utc(row.created_at),
            stores=stores,
        )

    @classmethod
    def base(cls, stores: int) -> RevisionOut:
        return cls(
            number=0,
            parent=0,
            description="the environment file as it is",
            changes={},
            changed_fields=[],
            overrides={},
            created_by="",
            created_at=None,
            stores=stores,
        )


class CreateRolloutRequest(BaseModel):
    """Roll a revision out to every live store not on it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"revision": 2, "canary": 1}]})

    revision: int = Field(ge=0, le=2_000_000_000, description="the target revision")
    canary: int | None = Field(
        default=None, ge=1, le=MAX_CANARY, description="stores in the first wave; default: the setting"
    )
    growth: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="each wave this many times the one before; default: the setting",
    )
    max_concurrency: int | None = Field(
        default=None, ge=1, le=MAX_CONCURRENCY, description="stores updating at once; default: the setting"
    )
    rollback_all: StrictBool = Field(
        default=True,
        description="on a failure roll back every store the rollout moved, not only the one that failed",
    )

    @model_validator(mode="before")
    @classmethod
    def _integers(cls, data: Any) -> Any:
        return _numbers_only(data, ("revision", "canary", "growth", "max_concurrency"))


class RolloutStoreOut(BaseModel):
    store: str
    wave: int = Field(description="0: the canary")
    from_revision: int
    state: RolloutStoreState
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    seconds: float | None = Field(description="from its move to its result")
    error: str | None

    @classmethod
    def from_row(cls, row: RolloutStore) -> RolloutStoreOut:
        took = None
        if row.started_at is not None and row.finished_at is not None:
            took = round((row.finished_at - row.started_at).total_seconds(), 1)
        return cls(
            store=row.store_name,
            wave=row.wave,
            from_revision=row.from_revision,
            state=RolloutStoreState(row.state),
            started_at=as_utc(row.started_at),
            finished_at=as_utc(row.finished_at),
            seconds=took,
            error=row.error,
        )


class WaveOut(BaseModel):
    wave: int
    stores: int
    states: dict[str, int] = Field(description="how many of its stores are in each state")
    seconds: float | None = Field(description="from its first move to its last result, once all are done")


class RolloutEventOut(BaseModel):
    id: int
    kind: str
    message: str
    actor: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: RolloutEvent) -> RolloutEventOut:
        assert row.id is not None
        return cls(
            id=row.id, kind=row.kind, message=row.message, actor=row.actor, created_at=_utc(row.created_at)
        )


class RolloutOut(BaseModel):
    id: int
    revision: int
    state: RolloutState
    canary: int
    growth: int
    max_concurrency: int
    rollback_all: bool
    wave: int = Field(description="the wave in progress (0: the canary)")
    waves: int
    message: str
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    seconds: float | None = Field(description="from its start to its end")
    counts: dict[str, int] = Field(description="how many of its stores are in each state")
    wave_detail: list[WaveOut]
    stores: list[RolloutStoreOut]
    events: list[RolloutEventOut]

    @classmethod
    def from_rows(cls, row: Rollout, entries: list[RolloutStore], events: list[RolloutEvent]) -> RolloutOut:
        assert row.id is not None
        counts: dict[str, int] = {}
        for entry in entries:
            counts[entry.state] = counts.get(entry.state, 0) + 1
        waves = []
        for number in sorted({e.wave for e in entries}):
            members = [e for e in entries if e.wave == number]
            states: dict[str, int] = {}
            for entry in members:
                states[entry.state] = states.get(entry.state, 0) + 1
            starts = [e.started_at for e in members if e.started_at]
            ends = [e.finished_at for e in members if e.finished_at]
            settled = all(e.finished_at for e in members) and starts
            took = round((max(ends) - min(starts)).total_seconds(), 1) if settled and ends else None
            waves.append(WaveOut(wave=number, stores=len(members), states=states, seconds=took))
        took_all = None
        if row.finished_at is not None:
            took_all = round((row.finished_at - row.created_at).total_seconds(), 1)
        return cls(
            id=row.id,
            revision=row.revision,
            state=RolloutState(row.state),
            canary=row.canary,
            growth=row.growth,
            max_concurrency=row.max_concurrency,
            rollback_all=row.rollback_all,
            wave=row.wave,
            waves=row.waves,
            message=row.message,
            created_by=row.created_by,
            created_at=_utc(row.created_at),
            finished_at=as_utc(row.finished_at),
            seconds=took_all,
            counts=counts,
            wave_detail=waves,
            stores=[RolloutStoreOut.from_row(e) for e in entries],
            events=[RolloutEventOut.from_row(e) for e in events],
        )
