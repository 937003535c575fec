"""The control plane's limits on stores: how many may be active (per owner and in the whole fleet)
and how many may be suspended per owner, checked inside the transaction that would add one; and
which size plans the environment offers.

Called by ``api.services.stores`` (create) and ``api.services.changes`` (suspend, resume). A
suspended store counts against the owner's suspended limit, not against the active ones: it holds
its volumes but runs nothing, so it is cheap to keep and does not take a running store's place.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.errors import QuotaExceededError, ValidationFailedError
from api.models import Store
from api.settings import Settings
from environments import plan_refusal


@dataclasses.dataclass(frozen=True)
class Limits:
    """The service's limits, from ``Settings``."""

    max_active_per_owner: int = 10
    max_active_total: int = 100
    max_suspended_per_owner: int = 10
    creations_per_minute: int = 10
    idempotency_ttl_seconds: float = 24 * 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_active_per_owner=settings.max_active_stores_per_owner,
            max_active_total=settings.max_active_stores_total,
            max_suspended_per_owner=settings.max_suspended_stores_per_owner,
            creations_per_minute=settings.creations_per_owner_per_minute,
            idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
        )


def _live(suspended: bool):  # type: ignore[no-untyped-def]
    return col(Store.active_name).is_not(None), col(Store.suspended).is_(suspended)


def check_engine(engine: str, plan: str | None, engines: frozenset[str] | None) -> None:
    """Raise ``ValidationFailedError`` naming the field unless the environment offers ``engine``, and
    ``plan`` is empty for an engine that plans do not size (plans size WooCommerce's containers)."""
    if engines is not None and engine not in engines:
        offered = ", ".join(sorted(engines))
        raise ValidationFailedError(
            f"engine: this environment does not offer '{engine}' (its engines: {offered})"
        )
    refusal = plan_refusal(engine)
    if plan is not None and refusal is not None:
        raise ValidationFailedError(f"plan: {refusal}")


def check_offered(plan: str | None, plans: frozenset[str] | None) -> None:
    """Raise ``ValidationFailedError`` naming the field if the environment has no such plan."""
    if plan is None or plans is None or plan in plans:
        return
    offered = ", ".join(sorted(plans)) or "none"
    raise ValidationFailedError(f"plan: this environment has no plan '{plan}' (its plans: {offered})")


def check_active_limits(session: Session, limits: Limits, owner: str) -> None:
    """Raise ``QuotaExceededError`` if one more active (not suspended) store would pass a limit."""
    active_owner = session.exec(select(func.count()).where(Store.owner == owner, *_live(False))).one()
    if active_owner >= limits.max_active_per_owner:
        raise QuotaExceededError(
            f"owner '{owner}' already has {active_owner} of at most "
            f"{limits.max_active_per_owner} active stores; delete or suspend one first",
            retry_after=60,
        )
    active_total = session.exec(select(func.count()).where(*_live(False))).one()
    if active_total >= limits.max_active_total:
        raise QuotaExceededError(
            f"the fleet is full ({limits.max_active_total} active stores); try again later",
            retry_after=60,
        )


def check_suspended_limit(session: Session, limits: Limits, owner: str) -> None:
    """Raise ``QuotaExceededError`` if one more suspended store of ``owner`` would pass its limit."""
    suspended = session.exec(select(func.count()).where(Store.owner == owner, *_live(True))).one()
    if suspended >= limits.max_suspended_per_owner:
        raise QuotaExceededError(
            f"owner '{owner}' already has {suspended} of at most {limits.max_suspended_per_owner} "
            "suspended stores; delete or resume one first",
            retry_after=60,
        )
