"""Custom host names of stores (``StoreSpec.domains``): none under the environment's own domain
(``<name>.<domain>`` is every store's primary host, given by its name), and each claimed by at
most one live store, kept in the ``store_hosts`` table whose unique constraint is the last word.

Called by ``api.services.stores`` at create and change, inside the serialised creating transaction
(``api.db.lock_for_create``); ``api.reconciler_results`` releases a store's names once it is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import Session, col, select

from api.errors import DomainTakenError, ValidationFailedError
from api.models import StoreHost


def check_reserved(domains: Sequence[str], reserved: str | None) -> None:
    """Refuse a host under the environment's domain: it is, or could become, a store's own host."""
    if reserved is None:
        return
    for host in domains:
        if host == reserved or host.endswith(f".{reserved}"):
            raise ValidationFailedError(
                f"domains: '{host}' is under this environment's domain '{reserved}', whose names are "
                "the stores' own (<name>." + reserved + "); give a domain of your own"
            )


def claim(session: Session, store_id: int, domains: Sequence[str]) -> None:
    """Make ``domains`` the store's host names: free those it no longer has, take the new ones, or
    raise ``DomainTakenError`` if another live store has one."""
    mine = {row.host: row for row in session.exec(select(StoreHost).where(StoreHost.store_id == store_id))}
    wanted = set(domains)
    taken = session.exec(
        select(StoreHost.host).where(col(StoreHost.host).in_(wanted), StoreHost.store_id != store_id)
    ).first()
    if taken is not None:
        raise DomainTakenError(taken)
    for host, row in mine.items():
        if host not in wanted:
            session.delete(row)
    for host in sorted(wanted - set(mine)):
        session.add(StoreHost(host=host, store_id=store_id))
    session.flush()


def release(session: Session, store_id: int) -> None:
    """Free every host name of a deleted store."""
    session.execute(delete(StoreHost).where(col(StoreHost.store_id) == store_id))
