"""A store's "Change…" form in headless Chromium against a real ``storestack serve`` and the simulated
cluster: a bad e-mail gets the API's message next to the field and changes nothing; a new title is
saved, the page follows the in-place up to ready without a reload, and the history shows the change
with its old and new values; a size plan from the environment's list and extra host names are saved
the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import shoot, sign_in
from tests.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.cluster]

STORE = "edit-shop"


def test_change_a_store_from_its_page(live: LiveServer, page: Page, screenshots: Path) -> None:
    with live.client() as api:
        assert (
            api.post("/stores", json={"name": STORE, "engine": "woocommerce", "title": "Before"}).status_code
            == 202
        )
    live.wait_status(STORE, "ready", timeout=240)
    sign_in(page, live)
    page.goto(f"{live.url}/stores/{STORE}")
    expect(page.locator("#d-status")).to_have_text("Ready")
    expect(page.locator("#d-title")).to_have_text("Before")
    page.evaluate("window.__sameDocument = true")

    change = page.get_by_role("button", name="Change…")
    change.click()
    form = page.locator("#d-edit-form")
    expect(form).to_be_visible()
    expect(page.locator("#e-title")).to_be_focused()
    expect(page.locator("#e-title")).to_have_value("Before")
    expect(page.locator("#e-admin_email")).to_have_value("admin@example.com")

    # -- a bad e-mail: the API's message under the field, nothing changed --------------------------
    page.locator("#e-admin_email").fill("nobody")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#e-admin_email-error")).to_contain_text("must be an e-mail address")
    expect(page.locator("#e-admin_email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-admin_email")).to_be_focused()
    shoot(page, screenshots / "edit-error.png")
    with live.client() as api:
        assert api.get(f"/stores/{STORE}").json()["admin_email"] == "admin@example.com"

    # -- nothing changed: said so, no request recorded ---------------------------------------------
    page.locator("#e-admin_email").fill("admin@example.com")
    expect(page.locator("#e-admin_email-error")).to_be_empty()  # typing clears the old message
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#e-error")).to_contain_text("Nothing to change")

    # -- a new title: saved, followed to ready, in the history -------------------------------------
    page.locator("#e-title").fill("After")
    page.get_by_role("button", name="Save changes").click()
    expect(form).to_be_hidden()
    expect(change).to_be_focused()
    expect(page.locator("#d-title")).to_have_text("After")
    expect(page.locator("#timeline .event[data-kind=changed]")).to_contain_text("title 'Before' → 'After'")
    expect(page.locator("#d-status")).to_have_text("Ready", timeout=120_000)
    expect(page.locator("#timeline .event[data-kind=status]").last).to_contain_text("ready")
    shoot(page, screenshots / "edit-done.png", full_page=True)
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"

    # -- a size plan from the environment's list ---------------------------------------------------
    expect(page.locator("#d-plan")).to_have_text("default sizes")
    change.click()
    expect(page.locator("#e-plan option")).to_have_count(2)  # the defaults and sim's "medium"
    page.locator("#e-plan").select_option("medium")
    page.locator("#e-domains").fill("edit.example.org, www.edit.example.org")
    page.get_by_role("button", name="Save changes").click()
    expect(form).to_be_hidden()
    expect(page.locator("#timeline .event[data-kind=changed]").last).to_contain_text("plan None → 'medium'")
    expect(page.locator("#d-status")).to_have_text("Ready", timeout=120_000)
    expect(page.locator("#d-plan")).to_have_text("medium")
    expect(page.locator("#d-domains")).to_have_text("edit.example.org, www.edit.example.org")
    with live.client() as api:
        store = api.get(f"/stores/{STORE}").json()
        assert (store["title"], store["status"], store["plan"]) == ("After", "ready", "medium")
        assert store["domains"] == ["edit.example.org", "www.edit.example.org"]
        assert api.delete(f"/stores/{STORE}").status_code == 202
    live.wait_status(STORE, "deleted", timeout=120)
