"""The store service: create, list, get, change, delete and retry stores, read events and credentials.

Called by ``api.routes.stores``. It only records desired state (and audit events) in SQL and reads
status back; the reconciler does the work. Authorisation lives here: admins see every store,
owners only their own (another owner's store is reported as not found). Limits (active stores per
owner and in total, creations per owner per minute) and ``Idempotency-Key`` replay are enforced
inside the creating transaction, which is serialised (see ``api.db.lock_for_create``).
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Collection
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.auth import Principal
from api.db import lock_for_create, transaction, utcnow
from api.errors import (
    BadRequestError,
    IdempotencyKeyReusedError,
    InvalidStateError,
    RateLimitedError,
    StoreExistsError,
    StoreNotFoundError,
    ValidationFailedError,
)
from api.fleet import FleetProtocol
from api.models import Desired, IdempotencyKey, Status, Store
from api.revisions import default_revision
from api.schemas import CreateStoreRequest, CredentialsOut, EventOut, StoreOut, UpdateStoreRequest
from api.services import changes
from api.services.changes import UpdateResult, apply_update, expiry, request_deletion
from api.services.events import events_after, record_event
from api.services.hosts import check_reserved, claim
from api.services.limits import Limits, check_active_limits, check_engine, check_offered

MAX_EVENTS_PAGE = 1000
IDEMPOTENCY_KEY_MAX = 200
RATE_WINDOW = dt.timedelta(seconds=60)


def find_store(session: Session, principal: Principal, name: str, *, lock: bool = False) -> Store:
    """The newest incarnation of ``name`` the principal may see, else ``StoreNotFoundError``."""
    query = select(Store).where(Store.name == name)
    if not principal.is_admin:
        query = query.where(Store.owner == principal.owner)
    query = query.order_by(col(Store.id).desc()).limit(1)
    if lock:
        query = query.with_for_update()
    store = session.exec(query).first()
    if store is None:
        raise StoreNotFoundError(name)
    return store


@dataclasses.dataclass(frozen=True)
class CreateResult:
    """The response to a create: a fresh one, or the replay of the first one for the same key."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


def request_hash(request: CreateStoreRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_idempotency_key(key: str) -> None:
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not all(33 <= ord(c) <= 126 for c in key):
        raise BadRequestError(
            f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} printable ASCII characters without spaces"
        )


class StoreService:
    """Stores' desired state and status, as seen by one principal at a time."""

    def __init__(
        self,
        *,
        engine: Engine,
        limits: Limits | None = None,
        plans: Collection[str] | None = None,
        engines: Collection[str] | None = None,
        reserved_domain: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._limits = limits or Limits()
        self._plans = None if plans is None else frozenset(plans)  # None: any plan (tests)
        self._engines = None if engines is None else frozenset(engines)  # None: any engine (tests)
        self._reserved_domain = reserved_domain  # the environment's: custom domains must be elsewhere
        self._clock = clock
        self._on_change = on_change

    # -- reading --------------------------------------------------------------------------------

    def _find(self, session: Session, principal: Principal, name: str, *, lock: bool = False) -> Store:
        return find_store(session, principal, name, lock=lock)

    def get(self, principal: Principal, name: str) -> StoreOut:
        with transaction(self._engine) as session:
            return StoreOut.from_row(self._find(session, principal, name))

    def list(
        self,
        principal: Principal,
        *,
        include_deleted: bool = False,
        status: str | None = None,
        owner: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[builtins.list[StoreOut], int]:
        """One page of the stores the principal may see, oldest first, and how many match in all."""
        query = select(Store)
        if not principal.is_admin:
            query = query.where(Store.owner == principal.owner)
        elif owner is not None:
            query = query.where(Store.owner == owner)
        if status is not None:
            if status not in {s.value for s in Status}:
                raise ValidationFailedError("status: must be one of " + ", ".join(s.value for s in Status))
            query = query.where(Store.status == status)
        elif not include_deleted:
            query = query.where(Store.status != Status.DELETED.value)
        with transaction(self._engine) as session:
            total = session.exec(select(func.count()).select_from(query.subquery())).one()
            page = query.order_by(col(Store.id)).offset(offset)
            rows = session.exec(page.limit(limit) if limit is not None else page).all()
            return [StoreOut.from_row(row) for row in rows], int(total)

    def events(
        self, principal: Principal, name: str, *, after: int = 0, limit: int = MAX_EVENTS_PAGE
    ) -> builtins.list[EventOut]:
        """The store's events after event id ``after``, oldest first."""
        with transaction(self._engine) as session:
            store = self._find(session, principal, name)
            assert store.id is not None
            rows = events_after(session, store_id=store.id, after=after, limit=min(limit, MAX_EVENTS_PAGE))
            return [EventOut.from_row(row) for row in rows]

    def resolve(self, principal: Principal, name: str) -> int:
        """The id of the store incarnation ``name`` means for the principal (for event streams)."""
        with transaction(self._engine) as session:
            store = self._find(session, principal, name)
            assert store.id is not None
            return store.id

    def poll(self, store_id: int, *, after: int) -> tuple[builtins.list[EventOut], str]:
        """Events after ``after`` of an already resolved store, and its current status."""
        with transaction(self._engine) as session:
            store = session.get(Store, store_id)
            status = store.status if store is not None else Status.DELETED.value
            rows = events_after(session, store_id=store_id, after=after, limit=MAX_EVENTS_PAGE)
            return [EventOut.from_row(row) for row in rows], status

    # -- changing ------------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        request: CreateStoreRequest,
        *,
        idempotency_key: str | None = None,
        after_create: Callable[[Session, Store, dt.datetime], None] | None = None,
    ) -> CreateResult:
        """Record a new store (desired present, status pending); the reconciler builds it.
        ``after_create`` adds to the same transaction (a clone's restore job)."""
        if idempotency_key is not None:
            _check_idempotency_key(idempotency_key)
        try:
            spec = request.to_spec()
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            raise ValidationFailedError(f"{field}: {first['msg']}") from None
        check_engine(spec.engine, spec.plan, self._engines)
        check_offered(spec.plan, self._plans)
        check_reserved(spec.domains, self._reserved_domain)
        digest = request_hash(request)
        try:
            with transaction(self._engine) as session:
                lock_for_create(session)
                now = self._clock()
                if idempotency_key is not None:
                    replay = self._replay(session, principal, idempotency_key, digest, now)
                    if replay is not None:
                        return replay
                self._check_name_free(session, spec.name)
                self._check_limits(session, principal, now)
                store = Store(
                    name=spec.name,
                    active_name=spec.name,
                    owner=principal.owner,
                    engine=spec.engine,
                    spec_json=spec.model_dump_json(),
                    desired=Desired.PRESENT.value,
                    status=Status.PENDING.value,
                    progress_step="queued",
                    created_at=now,
                    updated_at=now,
                    expires_at=expiry(now, request.expires_in_seconds),
                    revision=default_revision(session),
                )
                session.add(store)
                session.flush()
                if spec.domains:
                    assert store.id is not None
                    claim(session, store.id, spec.domains)
                record_event(
                    session,
                    store,
                    kind="created",
                    message=f"store '{spec.name}' created by {principal.owner}",
                    actor=principal.owner,
                    data={"status": store.status},
                )
                if after_create is not None:
                    after_create(session, store, now)
                body = StoreOut.from_row(store).model_dump(mode="json")
                if idempotency_key is not None:
                    session.add(
                        IdempotencyKey(
                            owner=principal.owner,
                            key=idempotency_key,
                            request_hash=digest,
                            status_code=202,
                            response_json=json.dumps(body),
                            created_at=now,
                        )
                    )
        except IntegrityError:
            # Lost a race the lock did not cover (e.g. another database client): report the outcome.
            if idempotency_key is not None:
                with transaction(self._engine) as session:
                    replay = self._replay(session, principal, idempotency_key, digest, self._clock())
                if replay is not None:
                    return replay
            raise StoreExistsError(spec.name) from None
        self._changed()
        return CreateResult(status_code=202, body=body, replayed=False)

    def delete(self, principal: Principal, name: str) -> StoreOut:
        """Ask for the store to be deleted; repeating it is harmless."""
        with transaction(self._engine) as session:
            store = self._find(session, principal, name, lock=True)
            asked = request_deletion(
                session,
                store,
                kind="delete_requested",
                message=f"deletion requested by {principal.owner}",
                actor=principal.owner,
                now=self._clock(),
            )
            out = StoreOut.from_row(store)
        if asked:
            self._changed()
        return out

    def update(self, principal: Principal, name: str, request: UpdateStoreRequest) -> UpdateResult:
        """Change a live store's spec (``api.services.changes``); the reconciler converges it."""
        if "plan" in request.model_fields_set:
            check_offered(request.plan, self._plans)
        domains = "domains" in request.model_fields_set
        if domains:
            check_reserved(request.domains, self._reserved_domain)
        with transaction(self._engine) as session:
            if domains:
                lock_for_create(session)  # host names are claimed one transaction at a time
            store = self._find(session, principal, name, lock=True)
            if domains:  # undone with the transaction if the change is refused
                assert store.id is not None
                claim(session, store.id, request.domains)
            result = apply_update(session, store, request, actor=principal.owner, now=self._clock())
        if result.changed:
            self._changed()
        return result

    def retry(self, principal: Principal, name: str) -> StoreOut:
        """Try a failed store's last operation again (provision or delete)."""
        return self._act(principal, name, changes.request_retry)

    def repair(self, principal: Principal, name: str) -> StoreOut:
        """Converge the store with an ``up`` that reads the cluster back first (undoes drift)."""
        return self._act(principal, name, changes.request_repair)

    def check_drift(self, principal: Principal, name: str) -> StoreOut:
        """Make the store's drift check due now."""
        return self._act(principal, name, changes.request_drift_check)

    def suspend(self, principal: Principal, name: str) -> StoreOut:
        """Scale the store's workloads to zero, keeping its data."""
        return self._act(principal, name, partial(changes.request_suspend, limits=self._limits))

    def resume(self, principal: Principal, name: str) -> StoreOut:
        """Bring a suspended store back with the same data."""
        return self._act(principal, name, partial(changes.request_resume, limits=self._limits))

    def _act(self, principal: Principal, name: str, action: changes.Action) -> StoreOut:
        """Lock the store's row, let ``action`` record the request, and wake the reconciler."""
        with transaction(self._engine) as session:
            store = self._find(session, principal, name, lock=True)
            action(session, store, actor=principal.owner, now=self._clock())
            out = StoreOut.from_row(store)
        self._changed()
        return out

    def credentials(self, principal: Principal, name: str, *, fleet: FleetProtocol) -> CredentialsOut:
        """The store's admin login; the read is recorded as an audit event."""
        with transaction(self._engine) as session:
            store = self._find(session, principal, name)
            if store.status != Status.READY.value:
                raise InvalidStateError(
                    f"store '{name}' is {store.status}; credentials are available once it is ready"
                )
            store_id, admin_url = store.id, store.admin_url
        credentials = fleet.credentials(name)
        with transaction(self._engine) as session:
            row = session.get(Store, store_id)
            assert row is not None
            record_event(
                session,
                row,
                kind="credentials_read",
                message=f"admin credentials read by {principal.owner}",
                actor=principal.owner,
            )
        return CredentialsOut(
            name=name,
            admin_url=admin_url,
            admin_user=credentials.admin_user,
            admin_password=credentials.admin_password.get_secret_value(),
        )

    # -- helpers -------------------------------------------------------------------------------

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _replay(
        self, session: Session, principal: Principal, key: str, digest: str, now: dt.datetime
    ) -> CreateResult | None:
        cutoff = now - dt.timedelta(seconds=self._limits.idempotency_ttl_seconds)
        session.execute(delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < cutoff))
        row = session.exec(
            select(IdempotencyKey).where(IdempotencyKey.owner == principal.owner, IdempotencyKey.key == key)
        ).first()
        if row is None:
            return None
        if row.request_hash != digest:
            raise IdempotencyKeyReusedError()
        body = json.loads(row.response_json)
        alive = session.exec(
            select(Store.id).where(Store.active_name == body.get("name"), Store.owner == principal.owner)
        ).first()
        if alive is None:
            # The key's store was deleted since: the record ends with it, so this creates anew.
            session.delete(row)
            session.flush()
            return None
        return CreateResult(status_code=row.status_code, body=body, replayed=True)

    def _check_name_free(self, session: Session, name: str) -> None:
        taken = session.exec(select(Store.id).where(Store.active_name == name)).first()
        if taken is not None:
            raise StoreExistsError(name)

    def _check_limits(self, session: Session, principal: Principal, now: dt.datetime) -> None:
        limits = self._limits
        window_start = now - RATE_WINDOW
        recent = session.exec(
            select(func.count(), func.min(Store.created_at)).where(
                Store.owner == principal.owner, col(Store.created_at) > window_start
            )
        ).one()
        recent_count, oldest = int(recent[0]), recent[1]
        if recent_count >= limits.creations_per_minute:
            wait = (oldest + RATE_WINDOW - now).total_seconds() if oldest is not None else 60.0
            raise RateLimitedError(
                f"at most {limits.creations_per_minute} stores may be created per minute",
                retry_after=math.ceil(wait),
            )
        check_active_limits(session, limits, principal.owner)
