"""The backup routes and the reconciler's backup jobs, with the fake fleet: asking, listing, the
store's ``restoring`` status, failures with their reasons, the schedule and retention, and what a
caller may not do. Real backups and restores of real stores are in the real-node tier
(``tests/realnode/test_store.py``, ``tests/realnode/test_medusa.py``)."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api import cli
from api.metrics import Metrics
from api.models import Store
from environments.operations import BackupsConfig
from stacks.backups import BackupError
from tests.api.conftest import Harness, MakeHarness, serve
from tests.api.fakes import FAKE_PASSWORD

BUCKET = "s3://backups?endpoint=127.0.0.1:1"  # never reached: the fake fleet keeps the backups


def _ready(harness: Harness, name: str) -> None:
    assert harness.create(name).status_code == 202
    harness.reconcile()
    assert harness.store(name)["status"] == "ready"


def _backups(harness: Harness, name: str, headers: dict[str, str] | None = None) -> Any:
    return harness.client.get(f"/api/v1/stores/{name}/backups", headers=headers or harness.alice)


def _ask(harness: Harness, name: str, headers: dict[str, str] | None = None) -> Any:
    return harness.client.post(f"/api/v1/stores/{name}/backups", headers=headers or harness.alice)


def _restore(harness: Harness, name: str, backup_id: str) -> Any:
    return harness.client.post(f"/api/v1/stores/{name}/backups/{backup_id}/restore", headers=harness.alice)


def test_without_a_bucket_backups_are_refused_with_the_reason(harness: Harness) -> None:
    _ready(harness, "nobucket")
    response = _ask(harness, "nobucket")
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "backups_not_configured" and "STORESTACK_BACKUP_URL" in error["message"]
    assert _backups(harness, "nobucket").json() == {"configured": False, "backups": [], "jobs": []}


def test_a_backup_is_made_listed_and_restored_through_restoring(make_harness: MakeHarness) -> None:
    harness = make_harness(backup_url=BUCKET)
    _ready(harness, "shop")
    asked = _ask(harness, "shop")
    assert asked.status_code == 202, asked.text
    job = asked.json()
    assert job["state"] == "queued" and job["action"] == "backup" and job["requested_by"] == "alice"
    assert _ask(harness, "shop").json()["id"] == job["id"], "a second ask answers the queued job"
    metrics = Metrics()
    assert harness.reconciler(metrics=metrics).run_until_idle()
    listed = _backups(harness, "shop").json()
    [backup] = listed["backups"]
    assert backup["size"] == 1234 and backup["parts"] == {"database.sql.gz": 1000, "files.tar.gz": 234}
    assert backup["age_seconds"] >= 0 and backup["kind"] == "manual" and backup["engine"] == "woocommerce"
    [done] = listed["jobs"]
    assert done["state"] == "complete" and done["backup_id"] == backup["id"] and done["size"] == 1234
    assert metrics.backup_jobs.labels(action="backup", result="complete")._value.get() == 1
    assert harness.store("shop")["status"] == "ready"

    gate = harness.fleet.block("shop", "restore")
    response = _restore(harness, "shop", backup["id"])
    assert response.status_code == 202, response.text
    assert response.json()["action"] == "restore" and response.json()["backup_id"] == backup["id"]
    reconciler = harness.reconciler()
    runner = threading.Thread(target=reconciler.run_until_idle)
    runner.start()
    try:
        harness.wait_status("shop", "restoring")
        again = _restore(harness, "shop", backup["id"])
        assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    finally:
        gate.set()
        runner.join(timeout=20)
    assert harness.store("shop")["status"] == "ready"
    assert harness.fleet.fake_backups.restored == [("shop", backup["id"])]
    messages = [e["message"] for e in harness.events("shop") if e["kind"] == "backup"]
    assert messages[0] == "backup requested by alice"
    assert messages[-1] == f"restore of shop's backup {backup['id']} complete"


def test_a_failed_backup_says_why_and_leaves_the_store_ready(make_harness: MakeHarness) -> None:
    harness = make_harness(backup_url=BUCKET)
    _ready(harness, "down")
    reason = 'making database.sql.gz in pod/mysql-0 failed: pods "mysql-0" not found'
    harness.fleet.fail("down", "backup", BackupError(reason))
    assert _ask(harness, "down").status_code == 202
    harness.reconcile()
    [job] = _backups(harness, "down").json()["jobs"]
    assert job["state"] == "failed" and job["error"] == reason and job["backup_id"] is None
    assert _backups(harness, "down").json()["backups"] == []
    assert harness.store("down")["status"] == "ready"
    assert [e["message"] for e in harness.events("down") if e["kind"] == "backup"][
        -1
    ] == f"backup failed: {reason}"


def test_restore_refuses_what_it_cannot_do(make_harness: MakeHarness) -> None:
    harness = make_harness(backup_url=BUCKET)
    _ready(harness, "mine")
    missing = _restore(harness, "mine", "20261206T000000Z-abcdef")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "backup_not_found"
    malformed = _restore(harness, "mine", "../other")
    assert malformed.status_code in (404, 422), malformed.text
    assert _ask(harness, "mine", headers=harness.bob).status_code == 404  # not bob's store
    assert _backups(harness, "mine", headers=harness.bob).status_code == 404
    assert harness.client.post("/api/v1/stores/mine/suspend", headers=harness.alice).status_code == 202
    harness.reconcile()
    suspended = _ask(harness, "mine")  # no pod runs to dump from
    assert suspended.status_code == 409 and "is suspended" in suspended.json()["error"]["message"]
    assert harness.client.delete("/api/v1/stores/mine", headers=harness.alice).status_code == 202
    refused = _ask(harness, "mine")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_state"


def test_a_backup_queued_for_a_store_then_deleted_fails_with_that_reason(make_harness: MakeHarness) -> None:
    harness = make_harness(backup_url=BUCKET)
    _ready(harness, "gone")
    assert _ask(harness, "gone").status_code == 202
    assert harness.client.delete("/api/v1/stores/gone", headers=harness.alice).status_code == 202
    harness.reconcile()
    [job] = _backups(harness, "gone", headers=harness.admin).json()["jobs"]
    assert job["state"] == "failed" and job["error"] == "the store was deleted"
    assert harness.fleet.count("backup", "gone") == 0


def test_the_schedule_backs_up_each_ready_store_and_retention_prunes(make_harness: MakeHarness) -> None:
    harness = make_harness(backup_url=BUCKET)
    now = [dt.datetime(2026, 12, 1, 3, 0)]
    harness.fleet.fake_backups.clock = lambda: now[0].replace(tzinfo=dt.UTC)
    reconciler = harness.reconciler(clock=lambda: now[0])
    reconciler.backups.policy = BackupsConfig(every_hours=24, keep_daily=2, keep_weekly=1)
    for name in ("sched1", "sched2"):
        assert harness.create(name).status_code == 202
    assert reconciler.run_until_idle()
    assert harness.fleet.fake_backups.stored == {}, "the first backup is one period after ready"
    for _day in range(4):
        now[0] += dt.timedelta(hours=24, minutes=1)
        reconciler._backups_scheduled_at = 0.0  # look for due backups at once, as 30 s later would
        assert reconciler.run_until_idle()
    for name in ("sched1", "sched2"):
        listed = _backups(harness, name, headers=harness.admin).json()
        assert [b["kind"] for b in listed["backups"]] == ["scheduled", "scheduled"], "keep_daily=2"
        assert [j["state"] for j in listed["jobs"]] == ["complete"] * 4
    assert harness.fleet.fake_backups.pruned[-1][1:] == (2, 1)


def test_the_cli_backs_up_lists_and_restores(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STORESTACK_CLI_CONFIG", str(tmp_path / "cli.json"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    with serve(make_harness(backup_url=BUCKET)) as server:
        auth = ["--url", server.url, "--token", server.harness.alice["Authorization"].split()[1]]
        assert runner.invoke(cli.app, ["create", "clishop", "--wait", *auth]).exit_code == 0
        made = runner.invoke(cli.app, ["backup", "create", "clishop", "--wait", *auth])
        assert made.exit_code == 0, made.output
        assert re.search(r"backup \d{8}T\d{6}Z-[0-9a-f]{6} of clishop: 1\.2 KiB in \d+\.\ds", made.output)
        listed = runner.invoke(cli.app, ["backup", "list", "clishop", "--json", *auth])
        [backup] = json.loads(listed.stdout)["backups"]
        table = runner.invoke(cli.app, ["backup", "list", "clishop", *auth])
        assert backup["id"] in table.output and "1.2 KiB" in table.output and "manual" in table.output

        declined = runner.invoke(cli.app, ["backup", "restore", "clishop", backup["id"], *auth], input="n\n")
        assert declined.exit_code == 1 and "Orders and changes made since are lost" in declined.output
        assert server.harness.fleet.fake_backups.restored == []
        restored = runner.invoke(
            cli.app, ["backup", "restore", "clishop", backup["id"], "--yes", "--wait", *auth]
        )
        assert restored.exit_code == 0, restored.output
        assert f"clishop restored from backup {backup['id']}" in restored.output
        assert server.harness.fleet.fake_backups.restored == [("clishop", backup["id"])]

        server.harness.fleet.fail("clishop", "backup", BackupError("making database.sql.gz failed: refused"))
        failed = runner.invoke(cli.app, ["backup", "create", "clishop", "--wait", *auth])
        assert failed.exit_code == 1
        assert "the backup of clishop failed: making database.sql.gz failed: refused" in failed.output
        clone_args = ["create", "cliclone", "--from-backup", f"clishop/{backup['id']}", "--wait", *auth]
        cloned = runner.invoke(cli.app, clone_args)
        assert cloned.exit_code == 0, cloned.output
        assert "cliclone is ready" in cloned.output
        assert server.harness.fleet.fake_backups.restored[-1] == ("cliclone", backup["id"])
        bad = runner.invoke(cli.app, ["create", "cliclone2", "--from-backup", "clishop", *auth])
        assert bad.exit_code == 2 and "is not STORE/BACKUP_ID" in bad.output
        missing = runner.invoke(
            cli.app, ["backup", "restore", "clishop", "20260101T000000Z-000000", "--yes", *auth]
        )
        assert missing.exit_code == 1 and "backup_not_found" in missing.output


def test_a_clone_is_provisioned_then_restoring_then_ready_with_its_own_url_and_admin(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(backup_url=BUCKET)
    _ready(harness, "origin")
    assert _ask(harness, "origin").status_code == 202
    harness.reconcile()
    [backup] = _backups(harness, "origin").json()["backups"]
    source = {"store": "origin", "backup_id": backup["id"]}

    def clone(name: str, headers: dict[str, str] | None = None, **body: Any) -> Any:
        payload = {"name": name, "engine": "woocommerce", "from_backup": source, **body}
        return harness.client.post("/api/v1/stores", json=payload, headers=headers or harness.alice)

    refused = {
        "bobs": (clone("bobs", headers=harness.bob), 404, "store_not_found"),
        "nosuch": (
            clone("nosuch", from_backup={**source, "backup_id": "20200101T000000Z-000000"}),
            404,
            "backup_not_found",
        ),
        "medusa": (clone("medusa", engine="medusa", admin_email="ops@example.com"), 409, "invalid_state"),
        "badid": (clone("badid", from_backup={**source, "backup_id": "latest"}), 422, "validation_error"),
    }
    for name, (response, status, code) in refused.items():
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
            name,
            response.text,
        )
        assert harness.client.get(f"/api/v1/stores/{name}", headers=harness.admin).status_code == 404

    gate = harness.fleet.block("copy", "restore")
    assert clone("copy", admin_email="copy@example.com").status_code == 202
    reconciler = harness.reconciler()
    runner = threading.Thread(target=reconciler.run_until_idle)
    runner.start()
    try:
        restoring = harness.wait_status("copy", "restoring")
        assert restoring["url"] == "http://copy.stores.test"
    finally:
        gate.set()
        runner.join(timeout=20)
    assert harness.store("copy")["status"] == "ready"
    fake = harness.fleet.fake_backups
    assert fake.restored == [("copy", backup["id"])]
    assert fake.rebound == [
        ("store-copy", "http://copy.stores.test", "admin", "copy@example.com", FAKE_PASSWORD)
    ]
    [job] = _backups(harness, "copy").json()["jobs"]
    assert (job["kind"], job["state"], job["source_store"]) == ("clone", "complete", "origin")
    said = [e["message"] for e in harness.events("copy") if e["kind"] in ("backup", "status")]
    assert f"clone of origin's backup {backup['id']}: restored once provisioned" in said
    assert "provisioned: the clone's data is restored next" in said
    assert harness.store("origin")["status"] == "ready" and fake.restored == [("copy", backup["id"])]


def test_a_clone_needs_a_bucket(harness: Harness) -> None:
    source = {"store": "origin", "backup_id": "20261206T000000Z-000000"}
    response = harness.create("nobucket", from_backup=source)
    assert response.status_code == 409 and response.json()["error"]["code"] == "backups_not_configured"


def test_deleting_a_store_deletes_its_backups(make_harness: MakeHarness) -> None:
    harness = make_harness(backup_url=BUCKET)
    _ready(harness, "short")
    for _ in range(2):
        assert _ask(harness, "short").status_code == 202
        harness.reconcile()
    assert len(harness.fleet.fake_backups.stored["short"]) == 2
    assert harness.client.delete("/api/v1/stores/short", headers=harness.alice).status_code == 202
    harness.reconcile()
    store = harness.store("short")
    assert store["status"] == "deleted" and store["backup_kept_until"] is None
    assert harness.fleet.fake_backups.stored["short"] == []
    assert [e["message"] for e in harness.events("short") if e["kind"] == "backup"][-1] == (
        "its backups were deleted (2)"
    )


def test_a_deleted_stores_last_backup_is_kept_for_the_set_time_and_can_be_cloned(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(backup_url=BUCKET)
    now = [dt.datetime(2026, 12, 1, 3, 0)]
    fake = harness.fleet.fake_backups
    fake.clock = lambda: now[0].replace(tzinfo=dt.UTC)
    reconciler = harness.reconciler(clock=lambda: now[0])
    reconciler.backups.policy = BackupsConfig(keep_after_delete_days=7)
    assert harness.create("kept").status_code == 202
    for _ in range(2):
        assert reconciler.run_until_idle()
        assert _ask(harness, "kept").status_code == 202
        now[0] += dt.timedelta(hours=1)
    assert reconciler.run_until_idle()
    newest = fake.list("kept")[0]
    assert harness.client.delete("/api/v1/stores/kept", headers=harness.alice).status_code == 202
    assert reconciler.run_until_idle()
    store = harness.store("kept")
    assert store["status"] == "deleted"
    assert store["backup_kept_until"] == (now[0] + dt.timedelta(days=7)).isoformat() + "Z"
    assert [b["id"] for b in _backups(harness, "kept").json()["backups"]] == [newest.id]
    said = [e["message"] for e in harness.events("kept") if e["kind"] == "backup"][-1]
    assert said == f"backup {newest.id} is kept until 2026-12-08 05:00 UTC; 1 older deleted"

    # the kept backup can be cloned into a new store, even under the same name
    source = {"store": "kept", "backup_id": newest.id}
    assert harness.create("kept", from_backup=source).status_code == 202
    assert reconciler.run_until_idle()
    assert harness.store("kept")["status"] == "ready" and fake.restored == [("kept", newest.id)]

    now[0] += dt.timedelta(days=7, minutes=1)
    reconciler._backups_scheduled_at = 0.0
    assert reconciler.run_until_idle()
    assert fake.list("kept") == [], "the kept backup went once its time was over"
    with Session(harness.engine) as session:
        rows = session.exec(select(Store).where(Store.name == "kept").order_by(col(Store.id))).all()
        assert [r.backup_kept_until for r in rows] == [None, None]
