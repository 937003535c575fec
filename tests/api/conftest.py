"""Fixtures for the control-plane tests: an app on a temporary SQLite file with a fake fleet."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.auth import create_token
from api.db import make_engine
from api.models import Role
from api.reconciler import Reconciler
from api.settings import Settings
from tests.api.fakes import FakeFleet
from tests.pg import temporary_database

FAST = {
    "poll_interval_seconds": 0.02,
    "lease_seconds": 5.0,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "max_attempts": 3,
    "sse_poll_seconds": 0.05,
    "sse_keepalive_seconds": 0.3,
    "shutdown_grace_seconds": 2.0,
    "cluster_check_seconds": 0.02,
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclasses.dataclass
class Harness:
    """A running app (TestClient), its database, fake fleet and three callers."""

    client: TestClient
    app: FastAPI
    engine: Engine
    fleet: FakeFleet
    settings: Settings
    admin: dict[str, str]
    alice: dict[str, str]
    bob: dict[str, str]

    def reconciler(self, **kwargs: Any) -> Reconciler:
        return Reconciler(engine=self.engine, fleet=self.fleet, settings=self.settings, **kwargs)

    def reconcile(self, timeout: float = 20.0) -> None:
        """Run a reconciler in this thread until there is nothing left to do now."""
        assert self.reconciler().run_until_idle(timeout=timeout)

    def create(self, name: str, headers: dict[str, str] | None = None, **body: Any) -> Any:
        payload = {"name": name, "engine": "woocommerce", **body}
        return self.client.post("/api/v1/stores", json=payload, headers=headers or self.alice)

    def store(self, name: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/stores/{name}", headers=headers or self.admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def events(self, name: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/stores/{name}/events", headers=headers or self.admin)
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()
        return result

    def wait_status(self, name: str, status: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        store = self.store(name)
        while store["status"] != status:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} stayed {store['status']}, wanted {status}: {store}")
            time.sleep(0.02)
            store = self.store(name)
        return store


MakeHarness = Callable[..., Harness]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for each test, on both backends: a SQLite file, and a new database on the
    session's real PostgreSQL server (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'storestack.db'}"
        return
    with temporary_database(request.getfixturevalue("postgres_admin_url")) as url:
        yield url


@pytest.fixture
def make_harness(tmp_path: Path, database_url: str) -> Iterator[MakeHarness]:
    """Build a harness: ``make_harness(start_reconciler=True, max_attempts=2, ...)``."""
    stack: list[TestClient] = []
    engines: list[Engine] = []

    def build(*, start_reconciler: bool = False, fleet: FakeFleet | None = None, **overrides: Any) -> Harness:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "pulumi_passphrase": "test-passphrase-not-secret",
            "tools_dir": tmp_path / "tools",
            **FAST,
            **overrides,
        }
        settings = Settings(**values)
        engine = make_engine(settings.resolved_database_url())
        engines.append(engine)
        fake = fleet or FakeFleet()
        app = create_app(settings, fake, engine=engine, start_reconciler=start_reconciler)
        client = TestClient(app)
        client.__enter__()
        stack.append(client)
        return Harness(
            client=client,
            app=app,
            engine=engine,
            fleet=fake,
            settings=settings,
            admin=bearer(create_token(engine, owner="root", role=Role.ADMIN)),
            alice=bearer(create_token(engine, owner="alice")),
            bob=bearer(create_token(engine, owner="bob")),
        )

    yield build
    for client in reversed(stack):
        client.__exit__(None, None, None)
    for engine in engines:
        engine.dispose()


@pytest.fixture
def harness(make_harness: MakeHarness) -> Harness:
    """The app without a background reconciler: tests call ``harness.reconcile()``."""
    return make_harness()


@pytest.fixture
def live(make_harness: MakeHarness) -> Harness:
    """The app with its reconciler running in the background, as ``storestack serve`` runs it."""
    return make_harness(start_reconciler=True)


@dataclasses.dataclass
class LiveServer:
    """The app served by a real uvicorn on 127.0.0.1 (for SSE and the CLI)."""

    url: str
    harness: Harness


@pytest.fixture
def live_server(make_harness: MakeHarness) -> Iterator[LiveServer]:
    with serve(make_harness(start_reconciler=False, fleet=FakeFleet(steps=4, step_delay=0.05))) as server:
        yield server


@contextlib.contextmanager
def serve(harness: Harness) -> Iterator[LiveServer]:
    """A second app on the harness's database, with its own reconciler, behind real HTTP."""
    import socket
    import threading

    import uvicorn

    app = create_app(harness.settings, harness.fleet, engine=harness.engine, start_reconciler=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield LiveServer(url=f"http://127.0.0.1:{port}", harness=harness)
    server.should_exit = True
    thread.join(10)
    sock.close()
