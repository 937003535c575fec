"""What lets the control plane run as replicas on several hosts: the stores' stack configs in the
database, the check that every replica has the fleet's passphrase, and the import of a data dir
written before replicas shared anything.

Called by ``storestack serve`` and ``storestack worker`` (``api.cli``) before they start the fleet.
``DatabaseStackConfigs`` is the ``stacks.config_store.StackConfigStore`` that ``stacks.Fleet`` copies
each store's ``Pulumi.<store>.yaml`` to and from. ``check_passphrase`` keeps a verifier of the Pulumi
passphrase (scrypt, never the passphrase) in ``fleet_facts`` and refuses a replica whose passphrase
differs, or one that would generate its own although another replica already made the fleet's.
``import_local_configs`` copies the stack config files of live stores that the database lacks (a
single-host data dir from before) into it, once, at start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.db import transaction, utcnow
from api.models import FleetFact, StackConfig, Store
from api.settings import PASSPHRASE_FILE, Settings

log = logging.getLogger("storestack.api")

PASSPHRASE_FACT = "passphrase_verifier"  # noqa: S105 - a key name
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class ReplicaConfigError(Exception):
    """This replica cannot join the fleet as configured; the message says what to set."""


class DatabaseStackConfigs:
    """The stores' stack config texts in the ``stack_configs`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, name: str) -> str | None:
        with transaction(self._engine) as session:
            row = session.get(StackConfig, name)
            return None if row is None else row.text

    def put(self, name: str, text: str) -> None:
        with transaction(self._engine) as session:
            session.merge(StackConfig(name=name, text=text, updated_at=utcnow()))

    def delete(self, name: str) -> None:
        with transaction(self._engine) as session:
            row = session.get(StackConfig, name)
            if row is not None:
                session.delete(row)

    def names(self) -> list[str]:
        with transaction(self._engine) as session:
            return list(session.exec(select(StackConfig.name).order_by(col(StackConfig.name))).all())


def _verifier(passphrase: str, salt: bytes) -> str:
    digest = hashlib.scrypt(passphrase.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def _matches(passphrase: str, verifier: str) -> bool:
    try:
        kind, salt, _digest = verifier.split("$")
        return kind == "scrypt" and hmac.compare_digest(
            _verifier(passphrase, base64.b64decode(salt)), verifier
        )
    except ValueError:
        return False


def _fleet_verifier(engine: Engine) -> str | None:
    with transaction(engine) as session:
        fact = session.get(FleetFact, PASSPHRASE_FACT)
        return None if fact is None else fact.value


def check_passphrase(engine: Engine, settings: Settings) -> None:
    """Refuse a replica that would encrypt with another passphrase than the fleet's stacks.

    The first replica records a verifier of its passphrase. A later one must have the same: given
    by ``STORESTACK_PULUMI_PASSPHRASE`` (what several replicas are given, as a secret) or, on the
    first replica's host, in the data dir's passphrase file; a replica that would generate a new
    one while the fleet already has one is refused before it writes anything."""
    known = _fleet_verifier(engine)
    generated = settings.pulumi_passphrase is None and not (settings.data_dir / PASSPHRASE_FILE).exists()
    if known is not None and generated:
        raise ReplicaConfigError(
            "the fleet's stacks already have a passphrase, made by another replica; give this one "
            "the same in STORESTACK_PULUMI_PASSPHRASE (a secret) instead of letting it make its own"
        )
    passphrase = settings.passphrase().get_secret_value()
    if known is None:
        try:
            with transaction(engine) as session:
                session.add(
                    FleetFact(key=PASSPHRASE_FACT, value=_verifier(passphrase, secrets.token_bytes(16)))
                )
            return
        except IntegrityError:  # another replica recorded its own a moment ago
            known = _fleet_verifier(engine)
    if known is not None and not _matches(passphrase, known):
        raise ReplicaConfigError(
            "this replica's Pulumi passphrase differs from the one the fleet's stacks are encrypted "
            "with; set STORESTACK_PULUMI_PASSPHRASE to the fleet's"
        )


def import_local_configs(engine: Engine, project_dir: Path) -> list[str]:
    """Copy into the database the stack config files of live stores it has none of; returns their
    names. A file of a store that no longer exists (deleted through another replica) stays out."""
    if not project_dir.is_dir():
        return []
    files = {
        path.name.removeprefix("Pulumi.").removesuffix(".yaml"): path
        for path in project_dir.glob("Pulumi.*.yaml")
    }
    if not files:
        return []
    configs = DatabaseStackConfigs(engine)
    shared = set(configs.names())
    with transaction(engine) as session:
        rows = session.exec(select(Store.active_name).where(col(Store.active_name).in_(list(files)))).all()
    live = {name for name in rows if name is not None}
    imported = []
    for name in sorted(live - shared):
        configs.put(name, files[name].read_text())
        imported.append(name)
    if imported:
        log.info(
            "imported the stack configs of %d stores from %s into the database", len(imported), project_dir
        )
    return imported
