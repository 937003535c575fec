"""Fixtures for the browser tests: one real ``storestack serve`` per module (``tests.live.LiveServer``
on the session's simulated cluster), Debian's Chromium driven headless by Playwright (sync API), and
a fresh browser context per test that fails the test on any uncaught page error.

Playwright's own browser download is not used (the machine may be offline): the tests need
``/usr/bin/chromium`` (``make setup`` installs it) or ``STORESTACK_CHROMIUM``; they fail, never skip,
without it. Screenshots land in ``artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.live import REPO, LiveServer, slow_setup_stage
from tests.objstore import ObjectStore
from toolchain.cluster import SimCluster

SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("STORESTACK_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `make setup` or set STORESTACK_CHROMIUM")
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (its own sessionStorage); uncaught script errors fail the test."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        # The browser logs every refused connection and 4xx answer; those are expected here.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text}")

    tab.on("console", on_console)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, errors


BACKUP_PREFIX = "browser-backups"


@pytest.fixture(scope="module")
def live(
    tools: Path, sim_cluster: SimCluster, tmp_path_factory: pytest.TempPathFactory, object_store: ObjectStore
) -> Iterator[LiveServer]:
    """``storestack serve`` on a fresh data dir against the simulated cluster, its backups under
    ``BACKUP_PREFIX`` of the session's object store. The lifecycle test's store takes 8 s to set
    up, so the dashboard's progress can be watched."""
    sim_cluster.add_kwok_stages(slow_setup_stage(("browser-shop",), 8))
    root = tmp_path_factory.mktemp("browser")
    backups = {"STORESTACK_BACKUP_URL": object_store.url(BACKUP_PREFIX), **object_store.env()}
    server = LiveServer(
        data_dir=root / "data", kubeconfig=sim_cluster.kubeconfig, tools_dir=tools, extra_env=backups
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
