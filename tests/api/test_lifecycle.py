"""A store's whole life through the API with the background reconciler and the fake fleet."""

from __future__ import annotations

from tests.api.conftest import Harness


def test_store_goes_pending_provisioning_ready_deleting_deleted(live: Harness) -> None:
    response = live.create("shop-one", title="My Shop")
    assert response.status_code == 202, response.text
    assert response.headers["location"] == "/api/v1/stores/shop-one"
    body = response.json()
    assert body["status"] == "pending"
    assert body["name"] == "shop-one"
    assert body["owner"] == "alice"
    assert body["engine"] == "woocommerce"
    assert body["title"] == "My Shop"
    assert body["last_error"] is None

    ready = live.wait_status("shop-one", "ready")
    assert ready["url"] == "http://shop-one.stores.test"
    assert ready["admin_url"] == "http://shop-one.stores.test/wp-admin"
    assert ready["namespace"] == "store-shop-one"
    assert ready["ready_at"] is not None
    assert ready["attempts"] == 1
    assert ready["progress"] == {"done": 3, "total": 3, "step": "ready"}

    response = live.client.delete("/api/v1/stores/shop-one", headers=live.alice)
    assert response.status_code == 202
    assert response.headers["location"] == "/api/v1/stores/shop-one"
    assert response.json()["status"] in ("deleting", "deleted")
    deleted = live.wait_status("shop-one", "deleted")
    assert deleted["deleted_at"] is not None

    events = live.events("shop-one")
    statuses = [e["data"]["status"] for e in events if e["kind"] == "status"]
    assert statuses == ["provisioning", "ready", "deleting", "deleted"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "created"
    assert "delete_requested" in kinds
    progress = [e for e in events if e["kind"] == "progress"]
    assert [(p["data"]["operation"], p["data"]["done"]) for p in progress] == [
        ("up", 1),
        ("up", 2),
        ("up", 3),
        ("destroy", 1),
        ("destroy", 2),
        ("destroy", 3),
    ]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert live.fleet.count("up", "shop-one") == 1
    assert live.fleet.count("destroy", "shop-one") == 1


def test_deleted_store_is_a_tombstone_and_its_name_can_be_reused(harness: Harness) -> None:
    assert harness.create("reuse-me").status_code == 202
    harness.reconcile()
    assert harness.client.delete("/api/v1/stores/reuse-me", headers=harness.alice).status_code == 202
    harness.reconcile()
    assert harness.store("reuse-me")["status"] == "deleted"

    listed = harness.client.get("/api/v1/stores", headers=harness.alice).json()
    assert listed == {"items": [], "count": 0, "limit": 500, "offset": 0}
    with_deleted = harness.client.get("/api/v1/stores?include_deleted=true", headers=harness.alice).json()
    assert [s["status"] for s in with_deleted["items"]] == ["deleted"]

    again = harness.create("reuse-me", title="Second life")
    assert again.status_code == 202, again.text
    assert harness.store("reuse-me")["title"] == "Second life"
    assert harness.store("reuse-me")["status"] == "pending"
    both = harness.client.get("/api/v1/stores?include_deleted=true", headers=harness.alice).json()
    assert [s["status"] for s in both["items"]] == ["deleted", "pending"]
    # the new incarnation has its own history
    assert [e["kind"] for e in harness.events("reuse-me")] == ["created"]


def test_delete_is_repeatable_and_unknown_is_404(harness: Harness) -> None:
    harness.create("twice")
    first = harness.client.delete("/api/v1/stores/twice", headers=harness.alice)
    second = harness.client.delete("/api/v1/stores/twice", headers=harness.alice)
    assert first.status_code == second.status_code == 202
    assert second.json()["status"] == "deleting"
    harness.reconcile()
    third = harness.client.delete("/api/v1/stores/twice", headers=harness.alice)
    assert third.status_code == 202
    assert third.json()["status"] == "deleted"
    kinds = [e["kind"] for e in harness.events("twice")]
    assert kinds.count("delete_requested") == 1

    missing = harness.client.delete("/api/v1/stores/never-was", headers=harness.alice)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "store_not_found"


def test_delete_while_provisioning_wins(harness: Harness) -> None:
    gate = harness.fleet.block("racer", "up")
    harness.create("racer")
    reconciler = harness.reconciler()
    assert reconciler.tick() == 1  # claimed; up is blocked in its thread
    assert harness.wait_status("racer", "provisioning")
    assert harness.client.delete("/api/v1/stores/racer", headers=harness.alice).status_code == 202
    gate.set()  # up finishes, but the store's generation moved on: the result is dropped
    assert reconciler.run_until_idle(timeout=10)
    store = harness.store("racer")
    assert store["status"] == "deleted"
    assert harness.fleet.count("destroy", "racer") == 1
    assert "ready" not in [e["data"].get("status") for e in harness.events("racer") if e["data"]]


def test_list_filters_by_status(harness: Harness) -> None:
    harness.create("one-shop")
    harness.create("two-shop")
    harness.reconcile()
    harness.create("three-shop")
    ready = harness.client.get("/api/v1/stores?status=ready", headers=harness.alice).json()
    assert sorted(s["name"] for s in ready["items"]) == ["one-shop", "two-shop"]
    assert ready["count"] == 2
    pending = harness.client.get("/api/v1/stores?status=pending", headers=harness.alice).json()
    assert [s["name"] for s in pending["items"]] == ["three-shop"]
    bad = harness.client.get("/api/v1/stores?status=sleeping", headers=harness.alice)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_error"
    assert "status" in bad.json()["error"]["message"]


def test_store_json_shape(harness: Harness) -> None:
    body = harness.create("shape-shop").json()
    assert set(body) >= {
        "name",
        "engine",
        "status",
        "progress",
        "url",
        "admin_url",
        "namespace",
        "owner",
        "created_at",
        "updated_at",
        "ready_at",
        "attempts",
        "last_error",
    }
    assert set(body["progress"]) == {"done", "total", "step"}
    assert body["created_at"].endswith(("Z", "+00:00"))
