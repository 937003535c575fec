"""Environment revisions as the control plane records them, and which revision a store is built from.

A revision is the environment file plus overrides (``environments.revisions``); revision 0 is the
file as it is and has no row. ``record_revision`` makes the next one from its parent's overrides and
a change, validated against the served environment (a 422 names the field). ``load_revision`` gives
the reconciler what ``Fleet.up`` needs; ``default_revision`` is the revision a new store gets: the
target of the newest rollout that succeeded, or of the running one once its canary wave has passed.
Called by the store service (create), the revision routes, the reconciler and ``api.rollouts``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.errors import NotFoundError, ValidationFailedError
from api.models import ROLLOUT_ACTIVE, Desired, EnvironmentRevision, Rollout, RolloutState, Store
from environments import Environment, EnvironmentError
from environments.revisions import merge, revise
from stacks.types import BASE_REVISION, Revision

log = logging.getLogger("storestack.revisions")


class RevisionNotFoundError(NotFoundError):
    code = "revision_not_found"


def _row(session: Session, number: int) -> EnvironmentRevision | None:
    return session.exec(select(EnvironmentRevision).where(col(EnvironmentRevision.number) == number)).first()


def overrides_of(session: Session, number: int) -> dict[str, Any]:
    """The overrides of revision ``number`` (``RevisionNotFoundError`` if it was never recorded)."""
    if number == 0:
        return {}
    row = _row(session, number)
    if row is None:
        raise RevisionNotFoundError(f"revision {number} does not exist")
    loaded: dict[str, Any] = json.loads(row.overrides_json)
    return loaded


def load_revision(session: Session, number: int) -> Revision:
    """What ``Fleet.up`` builds a store on revision ``number`` from (the file's, if it is gone)."""
    try:
        return Revision(number=number, overrides=overrides_of(session, number))
    except RevisionNotFoundError:
        log.error("revision %d is not recorded; building from the environment file", number)
        return BASE_REVISION


def latest_number(session: Session) -> int:
    numbers = session.exec(
        select(EnvironmentRevision.number).order_by(col(EnvironmentRevision.number).desc())
    )
    return int(numbers.first() or 0)


def record_revision(
    session: Session,
    environment: Environment,
    *,
    changes: Mapping[str, Any],
    parent: int | None,
    description: str,
    actor: str,
    now: dt.datetime,
) -> EnvironmentRevision:
    """Record the next revision: ``parent``'s overrides (default: the newest revision's) with
    ``changes`` merged in; 422 when the changed environment is not valid or changes nothing."""
    newest = latest_number(session)
    base = newest if parent is None else parent
    inherited = overrides_of(session, base)
    overrides = merge(inherited, changes)
    try:
        revised = revise(environment, overrides, label="changes")
    except EnvironmentError as exc:
        raise ValidationFailedError(str(exc).replace("\n", "; ")) from None
    if revised == revise(environment, inherited):
        raise ValidationFailedError(f"changes: the changes leave revision {base} as it is")
    row = EnvironmentRevision(
        number=newest + 1,
        overrides_json=json.dumps(overrides, sort_keys=True),
        changes_json=json.dumps(dict(changes), sort_keys=True),
        parent=base,
        description=description,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_revision(session: Session, number: int) -> EnvironmentRevision:
    row = _row(session, number)
    if row is None:
        raise RevisionNotFoundError(f"revision {number} does not exist")
    return row


def stores_on_revisions(session: Session) -> dict[int, int]:
    """How many live stores each revision has (by the revision their last successful up applied)."""
    rows = session.exec(
        select(Store.applied_revision, func.count())
        .where(col(Store.desired) == Desired.PRESENT.value, col(Store.applied_revision).is_not(None))
        .group_by(col(Store.applied_revision))
    ).all()
    return {int(number or 0): int(count) for number, count in rows}


def default_revision(session: Session) -> int:
    """The revision a store created now is built from (see the module's docstring)."""
    active = session.exec(select(Rollout).where(col(Rollout.state).in_(ROLLOUT_ACTIVE))).first()
    if active is not None and active.state != RolloutState.ROLLING_BACK.value and active.wave >= 1:
        return active.revision
    done = session.exec(
        select(Rollout.revision)
        .where(col(Rollout.state) == RolloutState.SUCCEEDED.value)
        .order_by(col(Rollout.id).desc())
    ).first()
    return int(done or 0)
