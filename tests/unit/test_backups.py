"""Backups in a real S3-compatible object store (versitygw): what is listed, what retention keeps
and prunes, what a damaged or unknown backup does. Making and restoring real stores' backups is in
the real-node tier (``tests/realnode/test_backups.py``)."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from stacks.backups import (
    BackupError,
    BackupNotFoundError,
    Backups,
    keep_ids,
)
from tests.backup_fixtures import fake_backup, put_backup
from tests.objstore import ObjectStore

T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # a Monday


@pytest.fixture
def bucket(object_store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> tuple[Backups, ObjectStore, str]:
    for name, value in object_store.env().items():
        monkeypatch.setenv(name, value)
    prefix = f"backups-{secrets.token_hex(4)}"
    return Backups(object_store.url(prefix), ["/bin/false"]), object_store, prefix


def test_retention_keeps_the_newest_of_each_day_and_week() -> None:
    # two backups a day for 21 days: Monday 30 Nov 2026 to Sunday 20 Dec
    backups = [fake_backup("s", T0 + dt.timedelta(days=d, hours=h)) for d in range(21) for h in (0, 12)]
    kept = {b.id: b.created_at for b in backups if b.id in keep_ids(backups, keep_daily=3, keep_weekly=2)}
    newest_per_day = {(T0 + dt.timedelta(days=d, hours=12)) for d in (18, 19, 20)}
    last_week = T0 + dt.timedelta(days=13, hours=12)  # this week's newest is a daily one too
    assert set(kept.values()) == newest_per_day | {last_week}
    weekly = keep_ids(backups, keep_daily=0, keep_weekly=3)
    assert sorted(b.created_at for b in backups if b.id in weekly) == [
        T0 + dt.timedelta(days=d, hours=12) for d in (6, 13, 20)
    ]
    assert keep_ids(backups, keep_daily=0, keep_weekly=0) == [backups[-1].id]  # the newest always
    assert keep_ids([], keep_daily=3, keep_weekly=3) == []


def test_list_prune_and_delete_in_the_object_store(bucket: tuple[Backups, ObjectStore, str]) -> None:
    backups, store, prefix = bucket
    complete = [fake_backup("web1", T0 + dt.timedelta(days=d)) for d in range(5)]
    for backup in complete:
        put_backup(store, prefix, backup)
    put_backup(store, prefix, fake_backup("web10", T0))  # another store whose name starts the same
    manual = fake_backup("web1", T0 - dt.timedelta(days=30)).model_copy(update={"kind": "manual"})
    put_backup(store, prefix, manual)  # made on demand: retention leaves it
    old_orphan = fake_backup("web1", T0 + dt.timedelta(days=5))  # a backup that failed: no manifest
    fresh_orphan = fake_backup("web1", T0 + dt.timedelta(days=5, minutes=30))  # one still being made
    put_backup(store, prefix, old_orphan, manifest=False)
    put_backup(store, prefix, fresh_orphan, manifest=False)

    listed = backups.list("web1")
    assert [b.id for b in listed] == [b.id for b in [*reversed(complete), manual]], (
        "newest first, complete only"
    )
    assert listed[0].size == 8 and listed[0].parts["database.sql.gz"].key.startswith(f"{prefix}/web1/")
    with pytest.raises(BackupNotFoundError):
        backups.get("web1", old_orphan.id)

    now = T0 + dt.timedelta(days=5, hours=1, minutes=15)
    deleted = backups.prune("web1", keep_daily=2, keep_weekly=1, now=now)
    assert sorted(deleted) == sorted(b.id for b in complete[:3])
    assert [b.id for b in backups.list("web1")] == [complete[4].id, complete[3].id, manual.id]
    left = {key.split("/")[2] for key in store.keys(f"{prefix}/web1/")}
    assert left == {complete[4].id, complete[3].id, manual.id, fresh_orphan.id}, "old orphan gone"
    assert len(backups.list("web10")) == 1

    backups.delete("web1", complete[3].id)
    assert [b.id for b in backups.list("web1")] == [complete[4].id, manual.id]
    with pytest.raises(BackupNotFoundError):
        backups.delete("web1", complete[3].id)


def test_a_damaged_backup_is_refused_before_the_store_is_touched(
    bucket: tuple[Backups, ObjectStore, str],
) -> None:
    backups, store, prefix = bucket
    backup = fake_backup("web2", T0)
    put_backup(store, prefix, backup, body=b"tampered")  # the objects are not what the manifest hashed
    with pytest.raises(BackupError, match="is damaged"):
        # kubectl is /bin/false: had the restore got as far as the store, the error would differ
        backups.restore(backups.get("web2", backup.id), store="web2", namespace="store-web2")


def test_a_bad_backup_url_is_named() -> None:
    with pytest.raises(BackupError, match="backup_url: not an s3://"):
        Backups("https://example.com/bucket", ["kubectl"])
