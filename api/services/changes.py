"""Changing a live store: a new spec (``PATCH /api/v1/stores/{name}``), asking for its deletion
(``DELETE``, or its ``expires_at`` passing) or its repair (``POST .../repair``, or a drift check with
automatic repair), each with its audit event and the re-queue.

Called by ``api.services.stores.StoreService`` (update, delete) and by the reconciler (expiry). Like
the rest of the service it only records desired state: a new spec replaces the old one in the row,
the row goes back to ``pending`` with a new ``generation`` and the reconciler converges the store
with an in-place ``up`` (an ``up`` still running for the old spec is cancelled by the reconciler,
see ``Reconciler._preempt_superseded``). The ``changed`` event keeps the previous values, so a
change can be reverted with another PATCH.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from pydantic import ValidationError
from sqlmodel import Session

from api.db import lock_for_create
from api.errors import InvalidStateError, ValidationFailedError
from api.models import Desired, Status, Store
from api.schemas import StoreOut, UpdateStoreRequest
from api.services.events import record_event
from api.services.limits import Limits, check_active_limits, check_suspended_limit
from environments import plan_refusal
from stacks.types import StoreSpec

# What ``StoreService._act`` runs on a locked row: records a request, or raises an ``ApiError``.
Action = Callable[..., None]


@dataclasses.dataclass(frozen=True)
class UpdateResult:
    """The store after a PATCH, and whether anything changed (else nothing was recorded)."""

    store: StoreOut
    changed: bool


def apply_update(
    session: Session, store: Store, request: UpdateStoreRequest, *, actor: str, now: dt.datetime
) -> UpdateResult:
    """Record ``request`` on the (locked) ``store`` row; a PATCH that changes nothing changes nothing."""
    if store.desired == Desired.ABSENT.value:
        raise InvalidStateError(f"store '{store.name}' is {store.status}; a deleted store cannot be changed")
    if store.suspended:
        raise InvalidStateError(f"store '{store.name}' is suspended; resume it before changing it")
    before = StoreSpec.model_validate_json(store.spec_json)
    try:
        after = StoreSpec.model_validate({**before.model_dump(), **request.changes()})
    except ValidationError as exc:  # the API's rules are at least as strict; kept as a safety net
        raise ValidationFailedError(f"the changed store is not valid: {exc.errors()[0]['msg']}") from None
    fields = [field for field in request.changes() if getattr(before, field) != getattr(after, field)]
    refusal = plan_refusal(after.engine)
    if "plan" in fields and after.plan is not None and refusal is not None:
        raise InvalidStateError(f"store '{store.name}': {refusal}")
    if not fields:
        return UpdateResult(StoreOut.from_row(store), changed=False)
    store.spec_json = after.model_dump_json()
    requeue(session, store, status=Status.PENDING, step="change requested", now=now)
    described = ", ".join(
        f"{field} {_shown(getattr(before, field))!r} → {_shown(getattr(after, field))!r}" for field in fields
    )
    record_event(
        session,
        store,
        kind="changed",
        message=f"changed by {actor}: {described}",
        actor=actor,
        data={
            "fields": fields,
            "before": {field: getattr(before, field) for field in fields},
            "after": {field: getattr(after, field) for field in fields},
            "status": store.status,
        },
    )
    return UpdateResult(StoreOut.from_row(store), changed=True)


def _shown(value: object) -> object:
    """A spec value as a change event names it: host names as a list, the rest as they are."""
    return list(value) if isinstance(value, tuple) else value


def requeue(
    session: Session, store: Store, *, status: Status, step: str, now: dt.datetime, clear_error: bool = True
) -> None:
    """Put the row back in the reconciler's queue as a new operation: a new ``generation`` (a worker
    still at the old one can write nothing), no attempts yet, no backoff; the error goes unless kept."""
    store.status = status.value
    store.generation += 1
    store.attempts = 0
    store.next_attempt_at = None
    store.operation_started_at = None
    if clear_error:
        store.last_error_code = None
        store.last_error_message = None
    store.progress_done, store.progress_total, store.progress_step = 0, 0, step
    store.updated_at = now
    session.add(store)


def expiry(now: dt.datetime, seconds: int | None) -> dt.datetime | None:
    """When a store created at ``now`` with ``expires_in_seconds`` expires (None: never)."""
    return None if seconds is None else now + dt.timedelta(seconds=seconds)


def request_deletion(
    session: Session, store: Store, *, kind: str, message: str, actor: str, now: dt.datetime
) -> bool:
    """Mark the (locked) ``store`` row for deletion; False if that was already asked for."""
    gone = (Status.DELETING.value, Status.DELETED.value)
    if store.desired == Desired.ABSENT.value and store.status in gone:
        return False
    store.desired = Desired.ABSENT.value
    requeue(session, store, status=Status.DELETING, step="deletion requested", now=now)
    record_event(session, store, kind=kind, message=message, actor=actor, data={"status": store.status})
    return True


def request_repair(
    session: Session, store: Store, *, actor: str, now: dt.datetime, automatic: bool = False
) -> None:
    """Queue an ``up`` of the (locked) ``store`` row that reads the cluster back first, so objects
    deleted or changed by hand are put back as the program declares them (``api.drift``)."""
    if store.desired == Desired.ABSENT.value:
        raise InvalidStateError(f"store '{store.name}' is {store.status}; a deleted store cannot be repaired")
    found = store.drift_summary
    store.refresh_requested = True
    requeue(session, store, status=Status.PENDING, step="repair requested", now=now)
    who = "automatically (drift_auto_repair)" if automatic else f"by {actor}"
    record_event(
        session,
        store,
        kind="repair_requested",
        message=f"repair requested {who}" + (f": {found}" if found else ""),
        actor=actor,
        data={"status": store.status, "drift": found, "automatic": automatic},
    )


def _live(store: Store, what: str) -> None:
    if store.desired == Desired.ABSENT.value:
        raise InvalidStateError(f"store '{store.name}' is {store.status}; a deleted store cannot be {what}")


def _audit(session: Session, store: Store, kind: str, message: str, actor: str) -> None:
    record_event(session, store, kind=kind, message=message, actor=actor, data={"status": store.status})


def request_retry(session: Session, store: Store, *, actor: str, now: dt.datetime) -> None:
    """Try a failed store's last operation (provision or delete) again; its error stays until the
    retry's outcome replaces it."""
    if store.status != Status.FAILED.value:
        raise InvalidStateError(f"store '{store.name}' is {store.status}; only failed stores can be retried")
    status = Status.PENDING if store.desired == Desired.PRESENT.value else Status.DELETING
    requeue(session, store, status=status, step="retry requested", now=now, clear_error=False)
    _audit(session, store, "retry_requested", f"retry requested by {actor}", actor)


def request_drift_check(session: Session, store: Store, *, actor: str, now: dt.datetime) -> None:
    """Make the (ready) store's drift check due now; the reconciler runs it with its next free slot."""
    if store.status != Status.READY.value:
        raise InvalidStateError(
            f"store '{store.name}' is {store.status}; drift is checked on ready stores only"
        )
    store.drift_due_at = now
    store.drift_requested = True
    session.add(store)
    _audit(session, store, "drift_check_requested", f"drift check requested by {actor}", actor)


def _set_suspended(session: Session, store: Store, suspended: bool, now: dt.datetime) -> None:
    spec = StoreSpec.model_validate_json(store.spec_json)
    store.spec_json = spec.model_copy(update={"suspended": suspended}).model_dump_json()
    store.suspended = suspended
    step = "suspend requested" if suspended else "resume requested"
    requeue(session, store, status=Status.PENDING, step=step, now=now)


def request_suspend(session: Session, store: Store, *, actor: str, now: dt.datetime, limits: Limits) -> None:
    """Scale the store's workloads to zero with an ``up``; its volumes and credentials stay."""
    _live(store, "suspended")
    if store.suspended:
        raise InvalidStateError(f"store '{store.name}' is already suspended")
    check_suspended_limit(session, limits, store.owner)
    _set_suspended(session, store, True, now)
    _audit(session, store, "suspend_requested", f"suspend requested by {actor}", actor)


def request_resume(session: Session, store: Store, *, actor: str, now: dt.datetime, limits: Limits) -> None:
    """Bring a suspended store's workloads back, on the data it kept; it counts as active again."""
    _live(store, "resumed")
    if not store.suspended:
        raise InvalidStateError(f"store '{store.name}' is not suspended")
    lock_for_create(session)  # the active-store limits, as for a create
    check_active_limits(session, limits, store.owner)
    _set_suspended(session, store, False, now)
    _audit(session, store, "resume_requested", f"resume requested by {actor}", actor)
