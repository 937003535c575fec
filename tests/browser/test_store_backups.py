"""A store's Backups panel in headless Chromium against a real ``storestack serve`` (its bucket in
the session's object store) and the simulated cluster: "Back up now" shows the job and, as kwok's
pods run nothing to dump, its failure with the reason; a backup in the bucket is listed with its
age, kind and size; Restore asks first (Cancel changes nothing); Clone asks for a valid name and
opens the clone's page. The real backups, restores and clones are the real-node tier's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.backup_fixtures import fake_backup, put_backup
from tests.browser.conftest import BACKUP_PREFIX
from tests.browser.test_dashboard import shoot, sign_in
from tests.live import LiveServer
from tests.objstore import ObjectStore

pytestmark = [pytest.mark.browser, pytest.mark.cluster]

STORE = "vault-shop"
CLONE = "vault-copy"


def test_back_up_restore_and_clone_from_the_store_page(
    live: LiveServer, page: Page, screenshots: Path, object_store: ObjectStore
) -> None:
    with live.client() as api:
        assert api.post("/stores", json={"name": STORE, "engine": "woocommerce"}).status_code == 202
    live.wait_status(STORE, "ready", timeout=240)
    sign_in(page, live)
    page.goto(f"{live.url}/stores/{STORE}")
    expect(page.locator("#b-note")).to_have_text("No backups yet.")

    page.get_by_role("button", name="Back up now").click()
    failed = page.locator("#b-jobs li[data-state=failed]")
    expect(failed).to_contain_text(
        "Backup failed: making database.sql.gz in pod/mysql-0 failed", timeout=120_000
    )
    expect(page.locator("#timeline .event[data-kind=backup]").first).to_contain_text("backup requested by")

    body = b"x" * 3000
    made = fake_backup(STORE, dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2), body)
    put_backup(object_store, BACKUP_PREFIX, made.model_copy(update={"kind": "manual"}), body=body)
    page.reload()
    row = page.locator("#b-rows tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("2 hours ago")
    expect(row).to_contain_text("manual")
    expect(row).to_contain_text("5.9 KiB")
    shoot(page, screenshots / "store-backups.png", full_page=True)

    row.get_by_role("button", name="Restore…").click()
    dialog = page.locator("#restore-dialog")
    expect(dialog).to_contain_text("Orders, customers and changes made since are lost")
    dialog.get_by_role("button", name="Cancel").click()
    with live.client() as api:
        assert [j["action"] for j in api.get(f"/stores/{STORE}/backups").json()["jobs"]] == ["backup"]

    row.get_by_role("button", name="Clone…").click()
    clone = page.locator("#clone-dialog")
    page.fill("#clone-name", "Not A Name")
    clone.get_by_role("button", name="Clone").click()
    expect(page.locator("#clone-error")).to_contain_text("lowercase letters")
    page.fill("#clone-name", CLONE)
    clone.get_by_role("button", name="Clone").click()
    expect(page).to_have_url(f"{live.url}/stores/{CLONE}")
    expect(page.locator("#timeline")).to_contain_text(f"clone of {STORE}'s backup {made.id}")
    with live.client() as api:
        [job] = api.get(f"/stores/{CLONE}/backups").json()["jobs"]
        assert (job["kind"], job["source_store"], job["backup_id"]) == ("clone", STORE, made.id)
        for name in (CLONE, STORE):
            assert api.delete(f"/stores/{name}").status_code == 202
    for name in (CLONE, STORE):
        live.wait_status(name, "deleted", timeout=240)
    assert not object_store.keys(f"{BACKUP_PREFIX}/{STORE}/"), "the deleted store's backups are gone"
