"""Worker identities, lease renewal, and taking back at once the leases of workers that died on this
machine.

Used by ``api.reconciler``. ``renew_lease`` extends a running operation's lease only while this
worker still holds it; the reconciler stops (fences) an operation whose lease it lost or could not
renew for ``lease_seconds``, so a worker cut off from the database never works a store that
another worker has taken over. Further, a worker's default id names its host, boot, pid and process
start time, so a later worker on the same machine can tell for sure that the lease owner is gone
(SIGKILL, OOM, a crashed ``serve``) and release its leases instead of waiting up to
``lease_seconds`` for them to expire. Owners on other machines, other boots, or with ids chosen by
the operator are never touched: their leases expire as before.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, update
from sqlmodel import col, select

from api.db import transaction
from api.models import Store
from stacks.processes import running, start_time

log = logging.getLogger("storestack.reconciler")


@cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
    except OSError:
        return "noboot"


def default_worker_id() -> str:
    """``<host>:<pid>-<start time>:<boot>:<random>``: unique, and checkable on this machine."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}-{start_time(pid)}:{_boot_id()}:{uuid.uuid4().hex[:8]}"


def dead_here(owner: str) -> bool:
    """Whether ``owner`` is a default worker id of this host and boot whose process is gone."""
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or parts[2] != _boot_id():
        return False
    pid, _, started = parts[1].partition("-")
    if not pid.isdigit() or not started.isdigit():
        return False
    return not running(int(pid), int(started))


def renew_lease(engine: Engine, *, store_id: int, me: str, until: dt.datetime) -> bool:
    """Extend the store's lease to ``until`` if ``me`` still holds it; whether it did."""
    with transaction(engine) as session:
        result = session.execute(
            update(Store)
            .where(col(Store.id) == store_id, col(Store.lease_owner) == me)
            .values(lease_expires_at=until)
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def release_dead_leases(engine: Engine, *, me: str, now: dt.datetime) -> list[str]:
    """Expire now the unexpired leases held by dead workers of this machine; returns those owners."""
    with transaction(engine) as session:
        owners = session.exec(
            select(Store.lease_owner)
            .where(
                col(Store.lease_owner).is_not(None),
                col(Store.lease_owner) != me,
                col(Store.lease_expires_at) >= now,
            )
            .distinct()
        ).all()
        dead = [owner for owner in owners if owner and dead_here(owner)]
        for owner in dead:
            session.execute(
                update(Store)
                .where(col(Store.lease_owner) == owner, col(Store.lease_expires_at) >= now)
                .values(lease_expires_at=now - dt.timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )
    for owner in dead:
        log.info("took back the leases of worker %s, which is no longer running", owner)
    return dead
