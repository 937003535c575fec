"""Quotas (active stores per owner and in total) and the creation rate limit: 429 with Retry-After."""

from __future__ import annotations

from tests.api.conftest import MakeHarness


def test_per_owner_quota(make_harness: MakeHarness) -> None:
    harness = make_harness(max_active_stores_per_owner=2)
    assert harness.create("quota-a").status_code == 202
    assert harness.create("quota-b").status_code == 202
    over = harness.create("quota-c")
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "quota_exceeded"
    assert int(over.headers["retry-after"]) >= 1
    assert harness.create("bobs-one", headers=harness.bob).status_code == 202  # bob has his own quota
    # deleting frees a slot once the store is gone
    harness.client.delete("/api/v1/stores/quota-a", headers=harness.alice)
    harness.reconcile()
    assert harness.create("quota-c").status_code == 202
    assert (
        harness.client.get("/api/v1/stores?include_deleted=true", headers=harness.alice).json()["count"] == 3
    )


def test_total_quota(make_harness: MakeHarness) -> None:
    harness = make_harness(max_active_stores_total=2)
    assert harness.create("total-a", headers=harness.alice).status_code == 202
    assert harness.create("total-b", headers=harness.bob).status_code == 202
    over = harness.create("total-c", headers=harness.admin)
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "quota_exceeded"
    assert "retry-after" in over.headers


def test_creation_rate_limit(make_harness: MakeHarness) -> None:
    harness = make_harness(creations_per_owner_per_minute=3)
    for i in range(3):
        assert harness.create(f"rate-{i}").status_code == 202
    limited = harness.create("rate-3")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert harness.create("bob-rate", headers=harness.bob).status_code == 202
    assert harness.client.get("/api/v1/stores", headers=harness.alice).json()["count"] == 3


def test_rate_limit_counts_deleted_stores_too(make_harness: MakeHarness) -> None:
    harness = make_harness(creations_per_owner_per_minute=2)
    for _ in range(2):
        assert harness.create("churn").status_code == 202
        harness.client.delete("/api/v1/stores/churn", headers=harness.alice)
        harness.reconcile()
    assert harness.create("churn").status_code == 429
