"""``/healthz``, ``/readyz`` (database + cluster) and ``/metrics``."""

from __future__ import annotations

from stacks.errors import InvalidSpecError
from tests.api.conftest import Harness


def test_healthz(harness: Harness) -> None:
    assert harness.client.get("/healthz").json() == {"status": "ok"}


def test_readyz_follows_the_cluster(harness: Harness) -> None:
    ready = harness.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": True, "cluster": True}}
    harness.fleet.reachable = False
    unready = harness.client.get("/readyz")
    assert unready.status_code == 503
    assert unready.json()["checks"] == {"database": True, "cluster": False}


def test_metrics(harness: Harness) -> None:
    harness.create("metric-a")
    harness.fleet.fail("metric-b", "up", InvalidSpecError("nope"))
    harness.create("metric-b")
    harness.create("metric-c")
    # the app's own metrics object records what its reconciler does; use it for the manual run
    ctx = harness.app.state.ctx
    from api.reconciler import Reconciler

    reconciler = Reconciler(
        engine=harness.engine, fleet=harness.fleet, settings=harness.settings, metrics=ctx.metrics
    )
    assert reconciler.run_until_idle(timeout=10)
    harness.client.delete("/api/v1/stores/metric-a", headers=harness.alice)
    assert reconciler.run_until_idle(timeout=10)

    response = harness.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'storestack_stores{status="ready"} 1.0' in text
    assert 'storestack_stores{status="failed"} 1.0' in text
    assert 'storestack_stores{status="deleted"} 1.0' in text
    assert 'storestack_stores{status="pending"} 0.0' in text
    assert "storestack_provisioning_duration_seconds_count 2.0" in text
    assert "storestack_deletion_duration_seconds_count 1.0" in text
    assert 'storestack_operations_total{operation="up",result="success"} 2.0' in text
    assert 'storestack_operations_total{operation="up",result="failed"} 1.0' in text
    assert 'storestack_failures_total{operation="up",reason="invalid_spec"} 1.0' in text


def test_home_page(harness: Harness) -> None:
    response = harness.client.get("/?token=should-not-echo")
    assert response.status_code == 200
    assert "should-not-echo" not in response.text
