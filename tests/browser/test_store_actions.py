"""A store's day-2 buttons in headless Chromium against a real ``storestack serve`` and the simulated
cluster: Check for drift shows the result in the store's facts, Suspend follows the store to
"Suspended" (no change form, a Resume button), Resume brings it back to "Ready"; all without a
reload, each step in the history."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import row_of, shoot, sign_in
from tests.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.cluster]

STORE = "nap-shop"


def test_check_suspend_and_resume_from_the_store_page(
    live: LiveServer, page: Page, screenshots: Path
) -> None:
    with live.client() as api:
        assert api.post("/stores", json={"name": STORE, "engine": "woocommerce"}).status_code == 202
    live.wait_status(STORE, "ready", timeout=240)
    sign_in(page, live)
    page.goto(f"{live.url}/stores/{STORE}")
    expect(page.locator("#d-status")).to_have_text("Ready")
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#d-drift")).to_have_text("not checked yet")
    expect(page.get_by_role("button", name="Resume")).to_be_hidden()

    page.get_by_role("button", name="Check for drift").click()
    expect(page.locator("#timeline .event[data-kind=drift_check_requested]")).to_be_visible()
    expect(page.locator("#d-drift")).to_contain_text("none (checked", timeout=120_000)

    page.get_by_role("button", name="Suspend").click()
    expect(page.locator("#timeline .event[data-kind=suspend_requested]")).to_contain_text("suspend requested")
    expect(page.locator("#d-status")).to_have_text("Suspended", timeout=120_000)
    expect(page.get_by_role("button", name="Change…")).to_be_hidden()
    expect(page.get_by_role("button", name="Check for drift")).to_be_hidden()
    resume = page.get_by_role("button", name="Resume")
    expect(resume).to_be_visible()
    expect(page.locator(".slot .note-main")).to_have_text("Suspended")
    shoot(page, screenshots / "store-suspended.png", full_page=True)
    with live.client() as api:
        assert api.get(f"/stores/{STORE}").json()["suspended"] is True

    resume.click()
    expect(page.locator("#d-status")).to_have_text("Ready", timeout=120_000)
    expect(page.get_by_role("button", name="Suspend")).to_be_visible()
    expect(resume).to_be_hidden()
    expect(page.locator("#timeline .event[data-kind=resume_requested]")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    with live.client() as api:
        store = api.get(f"/stores/{STORE}").json()
        assert (store["status"], store["suspended"]) == ("ready", False)
        assert api.delete(f"/stores/{STORE}").status_code == 202
    live.wait_status(STORE, "deleted", timeout=120)


def test_the_rollout_panel_follows_a_rollout_and_shows_the_stores_on_each_revision(
    live: LiveServer, page: Page, screenshots: Path
) -> None:
    names = ("wave-shop-a", "wave-shop-b")
    with live.client() as api:
        for name in names:
            assert api.post("/stores", json={"name": name, "engine": "woocommerce"}).status_code == 202
    for name in names:
        live.wait_status(name, "ready", timeout=240)
    sign_in(page, live)
    expect(page.locator("#rollouts")).to_be_visible()
    expect(page.locator("#rollout-none")).to_be_visible()
    expect(page.locator("#revisions")).to_contain_text("revision 0: 2 stores")
    with live.client() as api:
        made = api.post(
            "/revisions", json={"changes": {"images": {"wordpress": "wordpress:6.9.0-php8.3-apache"}}}
        )
        assert made.status_code == 201, made.text
        started = api.post("/rollouts", json={"revision": 1, "canary": 1})
        assert started.status_code == 201, started.text
    expect(page.locator("#rollout-summary")).to_have_text("#1 to revision 1", timeout=30_000)
    expect(page.locator("#rollout-state")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#rollout-waves tr")).to_have_count(2)
    expect(page.locator("#rollout-waves tr").first).to_contain_text("canary")
    expect(page.locator("#revisions")).to_contain_text("revision 1: 2 stores (images.wordpress)")
    expect(page.locator("#rollout-pause")).to_be_hidden()
    expect(page.locator(f"li[data-store={names[0]}] .store-revision")).to_contain_text("revision 1")
    shoot(page, screenshots / "rollout-panel.png", full_page=True)
    with live.client() as api:
        for name in names:
            assert api.delete(f"/stores/{name}").status_code == 202


def test_a_medusa_store_from_the_create_form(live: LiveServer, page: Page) -> None:
    sign_in(page, live)
    expect(page.locator("#stores-loading")).to_be_hidden()
    page.locator("#f-name").fill("headless-shop")
    page.locator("#f-engine").select_option("medusa")
    page.get_by_role("button", name="Create store").click()
    row = row_of(page, "headless-shop")
    expect(row.locator(".store-engine")).to_have_text("MedusaJS", timeout=5_000)
    expect(row.locator(".store-status")).to_have_attribute("data-status", "ready", timeout=240_000)
    with live.client() as api:
        store = api.get("/stores/headless-shop").json()
        assert store["engine"] == "medusa" and store["admin_url"].endswith("/app/")
        assert api.delete("/stores/headless-shop").status_code == 202
    live.wait_status("headless-shop", "deleted", timeout=120)
