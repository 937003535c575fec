"""Bad input is refused with a 4xx and a stable error code, and nothing is created."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Harness

BAD_BODIES: list[tuple[str, Any, int, str]] = [
    ("empty name", {"name": "", "engine": "woocommerce"}, 422, "validation_error"),
    ("uppercase", {"name": "MyShop", "engine": "woocommerce"}, 422, "validation_error"),
    ("too long", {"name": "a" * 41, "engine": "woocommerce"}, 422, "validation_error"),
    ("too short", {"name": "ab", "engine": "woocommerce"}, 422, "validation_error"),
    ("leading digit", {"name": "1shop", "engine": "woocommerce"}, 422, "validation_error"),
    ("trailing dash", {"name": "shop-", "engine": "woocommerce"}, 422, "validation_error"),
    ("double dash", {"name": "my--shop", "engine": "woocommerce"}, 422, "validation_error"),
    ("unicode", {"name": "shöp-one", "engine": "woocommerce"}, 422, "validation_error"),
    ("path traversal", {"name": "../x", "engine": "woocommerce"}, 422, "validation_error"),
    ("sql", {"name": "x'; DROP TABLE stores;--", "engine": "woocommerce"}, 422, "validation_error"),
    ("name is a number", {"name": 12345, "engine": "woocommerce"}, 422, "validation_error"),
    ("name is null", {"name": None, "engine": "woocommerce"}, 422, "validation_error"),
    ("name is a list", {"name": ["shop"], "engine": "woocommerce"}, 422, "validation_error"),
    ("title is a number", {"name": "shop", "engine": "woocommerce", "title": 7}, 422, "validation_error"),
    (
        "title too long",
        {"name": "shop", "engine": "woocommerce", "title": "t" * 121},
        422,
        "validation_error",
    ),
    ("bad email", {"name": "shop", "engine": "woocommerce", "admin_email": "nope"}, 422, "validation_error"),
    (
        "email without dot",
        {"name": "shop", "engine": "woocommerce", "admin_email": "a@b"},
        422,
        "validation_error",
    ),
    (
        "unicode email",
        {"name": "shop", "engine": "woocommerce", "admin_email": "é@x.com"},
        422,
        "validation_error",
    ),
    (
        "email, .local",
        {"name": "shop", "engine": "woocommerce", "admin_email": "a@x.local"},
        422,
        "validation_error",
    ),
    ("NUL in title", {"name": "shop", "engine": "woocommerce", "title": "a\x00b"}, 422, "validation_error"),
    ("newline in title", {"name": "shop", "engine": "woocommerce", "title": "a\nb"}, 422, "validation_error"),
    (
        "escape in title",
        {"name": "shop", "engine": "woocommerce", "title": "\x1b[31m"},
        422,
        "validation_error",
    ),
    (
        "bidi in title",
        {"name": "shop", "engine": "woocommerce", "title": "a\u202eb"},
        422,
        "validation_error",
    ),
    ("C1 in title", {"name": "shop", "engine": "woocommerce", "title": "a\x85b"}, 422, "validation_error"),
    ("unknown field", {"name": "shop", "engine": "woocommerce", "replicas": 3}, 422, "validation_error"),
    ("unknown engine", {"name": "shop", "engine": "magento"}, 422, "validation_error"),
    ("missing engine", {"name": "shop"}, 422, "validation_error"),
    ("missing name", {"engine": "woocommerce"}, 422, "validation_error"),
    ("body is a list", [{"name": "shop", "engine": "woocommerce"}], 422, "validation_error"),
    ("body is a string", "shop", 422, "validation_error"),
    ("1 MB name", {"name": "a" * 1_000_000, "engine": "woocommerce"}, 413, "payload_too_large"),
]


@pytest.mark.parametrize(("case", "body", "status", "code"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_bodies_are_refused(harness: Harness, case: str, body: Any, status: int, code: str) -> None:
    response = harness.client.post("/api/v1/stores", json=body, headers=harness.alice)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in response.text
    assert len(response.text) < 2000  # the input is not echoed back
    listed = harness.client.get("/api/v1/stores?include_deleted=true", headers=harness.admin).json()
    assert listed["count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad", "engine": "woocommerce"}, "name"),
        ({"name": "shop", "engine": "magento"}, "engine"),
        ({"name": "shop", "engine": "woocommerce", "extra": 1}, "extra"),
        ({"name": "shop", "engine": "woocommerce", "admin_email": "x"}, "admin_email"),
    ],
)
def test_validation_message_names_the_field(harness: Harness, body: dict[str, Any], field: str) -> None:
    response = harness.client.post("/api/v1/stores", json=body, headers=harness.alice)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(f"{field}:")


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": "shop",}',
        b"not json",
        b'{"name": "shop"',
        b'{"name": "sh\xffop", "engine": "woocommerce"}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_malformed_json_is_400(harness: Harness, raw: bytes) -> None:
    response = harness.client.post(
        "/api/v1/stores", content=raw, headers={**harness.alice, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_lone_surrogate_in_a_text_field_is_422(harness: Harness) -> None:
    raw = b'{"name": "shop", "engine": "woocommerce", "title": "a\\ud800b"}'
    response = harness.client.post(
        "/api/v1/stores", content=raw, headers={**harness.alice, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("title: ")


def test_empty_body_is_422(harness: Harness) -> None:
    response = harness.client.post(
        "/api/v1/stores", content=b"", headers={**harness.alice, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("invalid_json", "validation_error")


def test_body_over_the_limit_without_content_length_is_413(harness: Harness) -> None:
    def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(40):
            yield b"a" * 1024
        yield b'", "engine": "woocommerce"}'

    response = harness.client.post(
        "/api/v1/stores", content=chunks(), headers={**harness.alice, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_unknown_route_and_method_have_json_errors(harness: Harness) -> None:
    missing = harness.client.get("/api/v1/nothing", headers=harness.alice)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = harness.client.put("/api/v1/stores", headers=harness.alice)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "GET, HEAD, POST"
    put = harness.client.put("/api/v1/stores/shop", headers=harness.alice)
    assert put.status_code == 405
    assert put.headers["allow"] == "DELETE, GET, HEAD, PATCH"


@pytest.mark.parametrize("path", ["/api/v1/stores/", "/api/v1/whoami/", "/healthz/"])
def test_a_trailing_slash_is_404_never_a_redirect_built_from_host(harness: Harness, path: str) -> None:
    response = harness.client.get(
        path, headers={**harness.alice, "Host": "evil.example"}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "location" not in response.headers


def test_good_text_is_kept_as_sent(harness: Harness) -> None:
    title = "Café «Ünïcode» 中文 & <b>'quotes'</b> $(id) `x` ; rm -rf / 🛒"
    response = harness.create("text-shop", title=title, admin_email="Owner+Shop@Example.COM")
    assert response.status_code == 202, response.text
    assert harness.store("text-shop")["title"] == title


@pytest.mark.parametrize("name", ["UPPER", "a" * 300, "x%27--", "caf%C3%A9", "a%00b", "ab--c"])
def test_names_that_cannot_be_stores_are_422_naming_the_parameter(harness: Harness, name: str) -> None:
    for method in ("GET", "DELETE"):
        response = harness.client.request(method, f"/api/v1/stores/{name}", headers=harness.alice)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["message"].startswith("name: ")


def test_a_path_outside_the_api_is_404(harness: Harness) -> None:
    response = harness.client.get("/api/v1/stores/../etc", headers=harness.alice)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("key", ["k" * 201, "has space", "tab\tkey", "é".encode()])
def test_bad_idempotency_key_is_422_naming_the_header(harness: Harness, key: str | bytes) -> None:
    response = harness.client.post(
        "/api/v1/stores",
        json={"name": "shop", "engine": "woocommerce"},
        headers={**harness.alice, "Idempotency-Key": key},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith("Idempotency-Key: ")
