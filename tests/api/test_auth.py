"""Bearer tokens: 401 without a valid one; owners see only their stores (others' are 404); admins all."""

from __future__ import annotations

import pytest
from sqlmodel import select

from api.auth import create_token, hash_token
from api.db import transaction
from api.errors import ValidationFailedError
from api.models import Token
from tests.api.conftest import Harness, bearer

PROTECTED = [
    ("GET", "/api/v1/stores"),
    ("POST", "/api/v1/stores"),
    ("GET", "/api/v1/stores/shop"),
    ("DELETE", "/api/v1/stores/shop"),
    ("POST", "/api/v1/stores/shop/retry"),
    ("GET", "/api/v1/stores/shop/events"),
    ("GET", "/api/v1/stores/shop/credentials"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/whoami"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer " + "x" * 500},
    ],
    ids=["none", "empty", "wrong", "basic", "huge"],
)
def test_requests_without_a_valid_token_are_401(
    harness: Harness, method: str, path: str, headers: dict[str, str]
) -> None:
    response = harness.client.request(
        method, path, headers=headers, json={"name": "shop", "engine": "woocommerce"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_tokens_are_stored_hashed(harness: Harness) -> None:
    token = create_token(harness.engine, owner="carol")
    with transaction(harness.engine) as session:
        rows = session.exec(select(Token)).all()
    assert all(token not in (row.token_hash, row.owner) for row in rows)
    assert hash_token(token) in {row.token_hash for row in rows}
    assert harness.client.get("/api/v1/whoami", headers=bearer(token)).json() == {
        "owner": "carol",
        "role": "owner",
    }


def test_owner_sees_only_own_stores_and_others_are_404(harness: Harness) -> None:
    assert harness.create("alices-shop", headers=harness.alice).status_code == 202
    assert harness.create("bobs-shop", headers=harness.bob).status_code == 202
    harness.reconcile()

    mine = harness.client.get("/api/v1/stores", headers=harness.alice).json()
    assert [s["name"] for s in mine["items"]] == ["alices-shop"]
    for method, path in [
        ("GET", "/api/v1/stores/bobs-shop"),
        ("DELETE", "/api/v1/stores/bobs-shop"),
        ("POST", "/api/v1/stores/bobs-shop/retry"),
        ("GET", "/api/v1/stores/bobs-shop/events"),
        ("GET", "/api/v1/stores/bobs-shop/credentials"),
    ]:
        response = harness.client.request(method, path, headers=harness.alice)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "store_not_found"
    assert harness.store("bobs-shop")["status"] == "ready"  # alice's DELETE did nothing

    everything = harness.client.get("/api/v1/stores", headers=harness.admin).json()
    assert sorted(s["name"] for s in everything["items"]) == ["alices-shop", "bobs-shop"]
    only_bob = harness.client.get("/api/v1/stores?owner=bob", headers=harness.admin).json()
    assert [s["name"] for s in only_bob["items"]] == ["bobs-shop"]
    # the owner filter is ignored for owners: they only ever see their own
    sneaky = harness.client.get("/api/v1/stores?owner=bob", headers=harness.alice).json()
    assert [s["name"] for s in sneaky["items"]] == ["alices-shop"]


def test_admin_can_act_on_any_store_and_is_audited(harness: Harness) -> None:
    harness.create("managed", headers=harness.bob)
    harness.reconcile()
    response = harness.client.delete("/api/v1/stores/managed", headers=harness.admin)
    assert response.status_code == 202
    requested = [e for e in harness.events("managed") if e["kind"] == "delete_requested"]
    assert requested[0]["actor"] == "root"
    created = [e for e in harness.events("managed") if e["kind"] == "created"]
    assert created[0]["actor"] == "bob"


def test_only_admins_make_tokens(harness: Harness) -> None:
    denied = harness.client.post("/api/v1/tokens", json={"owner": "dave"}, headers=harness.alice)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    made = harness.client.post("/api/v1/tokens", json={"owner": "dave"}, headers=harness.admin)
    assert made.status_code == 201
    token = made.json()["token"]
    assert harness.client.get("/api/v1/whoami", headers=bearer(token)).json()["owner"] == "dave"
    bad = harness.client.post("/api/v1/tokens", json={"owner": "Not Valid!"}, headers=harness.admin)
    assert bad.status_code == 422


def test_owner_names_are_validated() -> None:
    with pytest.raises(ValidationFailedError):
        create_token(None, owner="../root")  # type: ignore[arg-type]
