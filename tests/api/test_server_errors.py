"""An unexpected exception in a route: a 500 ``internal_error`` naming a request id, and a log line
with the exception's type, the route and that id, never its message and never a re-raise (which
is what made uvicorn print the full traceback with the message)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Harness, MakeHarness

SECRET = "s3cr3t-in-the-message"


def _boom() -> None:
    raise RuntimeError(f"password={SECRET}")


def test_unhandled_error_is_500_with_request_id_and_no_message_in_the_log(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.app.add_api_route("/api/v1/boom", _boom)
    # raise_server_exceptions: the test fails if the exception escapes the app (as uvicorn would see it)
    client = TestClient(harness.app, raise_server_exceptions=True)
    with caplog.at_level(logging.DEBUG):
        response = client.get("/api/v1/boom", headers=harness.alice)
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    message = f"internal error (request {request_id})"
    assert response.json() == {"error": {"code": "internal_error", "message": message}}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    line = f"unhandled error in GET /api/v1/boom (request {request_id}): RuntimeError (message withheld)"
    assert line in logged
    assert SECRET not in logged
    assert SECRET not in response.text
    assert "Traceback (most recent call last)" not in logged


def test_messages_are_logged_only_when_the_debug_setting_says_so(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = make_harness(log_error_messages=True)
    harness.app.add_api_route("/api/v1/boom", _boom)
    with caplog.at_level(logging.ERROR):
        assert TestClient(harness.app).get("/api/v1/boom").status_code == 500
    assert f"message: password={SECRET}" in "\n".join(r.getMessage() for r in caplog.records)


def test_every_response_names_its_request_id(harness: Harness) -> None:
    first = harness.client.get("/healthz")
    second = harness.client.get("/api/v1/stores", headers=harness.alice)
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(len(i) == 16 for i in ids)


def test_security_headers_on_the_api_and_the_dashboard(harness: Harness) -> None:
    api = harness.client.get("/api/v1/stores", headers=harness.alice)
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["referrer-policy"] == "no-referrer"
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "strict-transport-security" not in api.headers  # plain HTTP
    error = harness.client.get("/api/v1/stores")
    assert error.status_code == 401 and error.headers["x-content-type-options"] == "nosniff"
    page = harness.client.get("/")
    assert page.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    assert page.headers.get_list("x-frame-options") == ["DENY"]  # the page's own, not doubled


def test_hsts_when_served_over_tls(make_harness: MakeHarness) -> None:
    harness = make_harness(public_url="https://stores.example.com")
    assert harness.client.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"
