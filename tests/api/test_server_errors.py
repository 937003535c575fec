"""An unexpected exception in a route: a 500 ``internal_error`` naming a request id, and a log line
with the exception's type, the route and that id, never its message and never a re-raise (which
is what made uvicorn print the full traceback with the message)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Harness

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


def test_every_response_names_its_request_id(harness: Harness) -> None:
    first = harness.client.get("/healthz")
    second = harness.client.get("/api/v1/stores", headers=harness.alice)
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(len(i) == 16 for i in ids)
