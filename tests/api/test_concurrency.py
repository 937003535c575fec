"""Concurrent creates of one name, and Idempotency-Key replay and mismatch."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.api.conftest import Harness, MakeHarness


def _post_many(harness: Harness, count: int, body: dict[str, Any], headers: dict[str, str]) -> list[Any]:
    barrier = threading.Barrier(count)

    def post(_: int) -> Any:
        barrier.wait()
        return harness.client.post("/api/v1/stores", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(post, range(count)))


def test_twenty_concurrent_posts_of_one_name_make_one_store(harness: Harness) -> None:
    responses = _post_many(harness, 20, {"name": "hot-name", "engine": "woocommerce"}, harness.admin)
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [409] * 19, [r.text for r in responses if r.status_code not in (202, 409)]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"store_exists"}
    listed = harness.client.get("/api/v1/stores?include_deleted=true", headers=harness.admin).json()
    assert listed["count"] == 1
    assert [e["kind"] for e in harness.events("hot-name")] == ["created"]


def test_create_of_an_existing_name_is_409_even_for_another_owner(harness: Harness) -> None:
    assert harness.create("taken", headers=harness.alice).status_code == 202
    again = harness.create("taken", headers=harness.bob)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "store_exists"


def test_idempotency_key_replays_the_first_response(harness: Harness) -> None:
    headers = {**harness.alice, "Idempotency-Key": "req-123"}
    body = {"name": "idem-shop", "engine": "woocommerce", "title": "Idem"}
    first = harness.client.post("/api/v1/stores", json=body, headers=headers)
    assert first.status_code == 202
    harness.reconcile()  # the store changes meanwhile; the replay is still the first response
    second = harness.client.post("/api/v1/stores", json=body, headers=headers)
    assert second.status_code == 202
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert harness.store("idem-shop")["status"] == "ready"
    listed = harness.client.get("/api/v1/stores", headers=harness.alice).json()
    assert listed["count"] == 1


def test_idempotency_key_ends_with_its_store_so_a_replay_after_delete_creates_anew(harness: Harness) -> None:
    headers = {**harness.alice, "Idempotency-Key": "req-789"}
    body = {"name": "idem-gone", "engine": "woocommerce"}
    assert harness.client.post("/api/v1/stores", json=body, headers=headers).status_code == 202
    harness.reconcile()
    assert harness.client.delete("/api/v1/stores/idem-gone", headers=harness.alice).status_code == 202
    harness.reconcile()
    assert harness.store("idem-gone")["status"] == "deleted"
    again = harness.client.post("/api/v1/stores", json=body, headers=headers)
    assert again.status_code == 202, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["status"] == "pending"
    harness.reconcile()
    assert harness.store("idem-gone")["status"] == "ready"
    replay = harness.client.post("/api/v1/stores", json=body, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["created_at"] == again.json()["created_at"]


def test_idempotency_key_with_another_body_is_409(harness: Harness) -> None:
    headers = {**harness.alice, "Idempotency-Key": "req-456"}
    assert (
        harness.client.post(
            "/api/v1/stores", json={"name": "first-body", "engine": "woocommerce"}, headers=headers
        ).status_code
        == 202
    )
    other = harness.client.post(
        "/api/v1/stores", json={"name": "other-body", "engine": "woocommerce"}, headers=headers
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    listed = harness.client.get("/api/v1/stores", headers=harness.alice).json()
    assert [s["name"] for s in listed["items"]] == ["first-body"]


def test_idempotency_keys_are_per_owner(harness: Harness) -> None:
    a = harness.client.post(
        "/api/v1/stores",
        json={"name": "alice-idem", "engine": "woocommerce"},
        headers={**harness.alice, "Idempotency-Key": "same"},
    )
    b = harness.client.post(
        "/api/v1/stores",
        json={"name": "bob-idem", "engine": "woocommerce"},
        headers={**harness.bob, "Idempotency-Key": "same"},
    )
    assert a.status_code == b.status_code == 202


def test_concurrent_retries_with_one_key_all_get_the_same_answer(harness: Harness) -> None:
    headers = {**harness.alice, "Idempotency-Key": "burst"}
    responses = _post_many(harness, 10, {"name": "burst-shop", "engine": "woocommerce"}, headers)
    assert {r.status_code for r in responses} == {202}
    assert len({r.text for r in responses}) == 1
    assert harness.client.get("/api/v1/stores", headers=harness.alice).json()["count"] == 1


def test_failed_create_is_not_cached_under_its_key(harness: Harness) -> None:
    headers = {**harness.bob, "Idempotency-Key": "k1"}
    harness.create("conflict", headers=harness.alice)
    first = harness.client.post(
        "/api/v1/stores", json={"name": "conflict", "engine": "woocommerce"}, headers=headers
    )
    assert first.status_code == 409
    harness.client.delete("/api/v1/stores/conflict", headers=harness.alice)
    harness.reconcile()
    second = harness.client.post(
        "/api/v1/stores", json={"name": "conflict", "engine": "woocommerce"}, headers=headers
    )
    assert second.status_code == 202


def test_idempotency_keys_expire(make_harness: MakeHarness) -> None:
    harness = make_harness(idempotency_ttl_seconds=0.05)
    headers = {**harness.alice, "Idempotency-Key": "short-lived"}
    body = {"name": "expiring", "engine": "woocommerce"}
    assert harness.client.post("/api/v1/stores", json=body, headers=headers).status_code == 202
    time.sleep(0.1)
    other = {"name": "expiring-two", "engine": "woocommerce"}
    assert harness.client.post("/api/v1/stores", json=other, headers=headers).status_code == 202
