"""Backups made by hand in an object store, for the tests that need one without a real store
(``tests/unit/test_backups.py``, the dashboard's backups panel): a manifest and its parts, in the
layout ``stacks.backups`` writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from stacks.backups import MANIFEST, Backup, PartInfo
from tests.objstore import ObjectStore


def fake_backup(store: str, when: dt.datetime, body: bytes = b"data") -> Backup:
    backup_id = f"{when:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    part = PartInfo(key="", size=len(body), sha256=hashlib.sha256(body).hexdigest())
    return Backup(
        id=backup_id,
        store=store,
        engine="woocommerce",
        kind="scheduled",
        created_at=when,
        seconds=1.0,
        images={},
        parts={"database.sql.gz": part, "files.tar.gz": part},
    )


def put_backup(
    store: ObjectStore, prefix: str, backup: Backup, *, manifest: bool = True, body: bytes = b"data"
) -> None:
    client = store.client()
    parts = {}
    for name, info in backup.parts.items():
        key = f"{prefix}/{backup.store}/{backup.id}/{name}"
        client.put_object(Bucket=store.bucket, Key=key, Body=body)
        parts[name] = info.model_copy(update={"key": key})
    if manifest:
        text = backup.model_copy(update={"parts": parts}).model_dump_json()
        client.put_object(
            Bucket=store.bucket, Key=f"{prefix}/{backup.store}/{backup.id}/{MANIFEST}", Body=text
        )
