"""Secrets stay out of responses (except the audited credentials endpoint), events, logs and errors."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from api.db import transaction
from api.models import Event, IdempotencyKey, Store
from tests.api.conftest import Harness, MakeHarness
from tests.api.fakes import FAKE_PASSWORD

PASSPHRASE = "test-passphrase-not-secret"


def test_credentials_endpoint_is_the_only_way_and_it_is_audited(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness = make_harness(start_reconciler=True)
    seen: list[str] = []

    def call(method: str, path: str, **kwargs: object) -> object:
        response = harness.client.request(method, path, **kwargs)  # type: ignore[arg-type]
        seen.append(response.text + str(response.headers))
        return response

    gate = harness.fleet.block("secret-shop", "up")
    call(
        "POST", "/api/v1/stores", json={"name": "secret-shop", "engine": "woocommerce"}, headers=harness.alice
    )
    not_ready = harness.client.get("/api/v1/stores/secret-shop/credentials", headers=harness.alice)
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "invalid_state"
    gate.set()
    harness.wait_status("secret-shop", "ready")

    response = harness.client.get("/api/v1/stores/secret-shop/credentials", headers=harness.alice)
    assert response.status_code == 200
    assert response.json() == {
        "name": "secret-shop",
        "admin_url": "http://secret-shop.stores.test/wp-admin",
        "admin_user": "admin",
        "admin_password": FAKE_PASSWORD,
    }
    assert response.headers["cache-control"] == "no-store"
    admin_read = harness.client.get("/api/v1/stores/secret-shop/credentials", headers=harness.admin)
    assert admin_read.status_code == 200
    assert (
        harness.client.get("/api/v1/stores/secret-shop/credentials", headers=harness.bob).status_code == 404
    )

    reads = [e for e in harness.events("secret-shop") if e["kind"] == "credentials_read"]
    assert [e["actor"] for e in reads] == ["alice", "root"]

    call("GET", "/api/v1/stores/secret-shop", headers=harness.alice)
    call("GET", "/api/v1/stores", headers=harness.admin)
    call("GET", "/api/v1/stores/secret-shop/events", headers=harness.alice)
    call("GET", "/metrics")
    call("GET", "/readyz")
    call("DELETE", "/api/v1/stores/secret-shop", headers=harness.alice)
    harness.wait_status("secret-shop", "deleted")
    call("GET", "/api/v1/stores/secret-shop/events", headers=harness.alice)
    call("GET", "/api/v1/stores/secret-shop/credentials", headers=harness.alice)

    everything = "\n".join(seen)
    assert FAKE_PASSWORD not in everything
    assert PASSPHRASE not in everything
    with transaction(harness.engine) as session:
        rows = [*session.exec(select(Event)).all(), *session.exec(select(Store)).all()]
        rows += session.exec(select(IdempotencyKey)).all()
    assert FAKE_PASSWORD not in repr(rows)
    assert FAKE_PASSWORD not in caplog.text
    assert PASSPHRASE not in caplog.text
    for token_header in (harness.alice, harness.bob, harness.admin):
        assert token_header["Authorization"].split()[1] not in caplog.text


def test_settings_and_fleet_config_hide_the_passphrase(harness: Harness) -> None:
    assert PASSPHRASE not in repr(harness.settings)
    assert PASSPHRASE not in str(harness.settings.model_dump())
    config = harness.settings.fleet_config()
    assert PASSPHRASE not in repr(config)
    assert config.passphrase.get_secret_value() == PASSPHRASE


def test_errors_do_not_leak_tokens(harness: Harness) -> None:
    token = harness.alice["Authorization"].split()[1]
    response = harness.client.get("/api/v1/stores/nope", headers=harness.alice)
    assert token not in response.text
    bad = harness.client.get("/api/v1/stores", headers={"Authorization": "Bearer guessed-token-xyz"})
    assert "guessed-token-xyz" not in bad.text
