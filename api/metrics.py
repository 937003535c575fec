"""Prometheus metrics of the control plane, one registry per app.

The reconciler records operation durations, results and failure reasons; ``/metrics`` (in
``api.routes.metrics``) renders them plus a stores-by-status gauge read from the database at scrape
time, so it is right even when the workers run in other processes, and which stores drifted.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from api.db import transaction
from api.models import ROLLOUT_ACTIVE, Desired, Rollout, RolloutStore, Status, Store
from api.revisions import stores_on_revisions

DURATION_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)


class _StoresByStatus(Collector):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("storestack_stores", "Stores by status", labels=["status"])
        counts = {status.value: 0 for status in Status}
        with transaction(self._engine) as session:
            rows = session.exec(select(Store.status, func.count()).group_by(Store.status)).all()
        for status, count in rows:
            counts[status] = int(count)
        for status, count in counts.items():
            gauge.add_metric([status], count)
        yield gauge
        drifted = GaugeMetricFamily(
            "storestack_store_drifted",
            "1 when the store's last drift check found objects changed or deleted outside Storestack",
            labels=["store"],
        )
        with transaction(self._engine) as session:
            live = session.exec(
                select(Store.name, Store.drifted).where(col(Store.desired) == Desired.PRESENT.value)
            ).all()
        for name, flag in live:
            drifted.add_metric([name], 1 if flag else 0)
        yield drifted
        yield from _rollout_gauges(self._engine)


def _rollout_gauges(engine: Engine) -> Iterator[Metric]:
    """Live stores by the revision their last up applied, and the stores of active rollouts by state."""
    revisions = GaugeMetricFamily(
        "storestack_stores_on_revision",
        "Live stores by the environment revision their last provisioning applied",
        labels=["revision"],
    )
    progress = GaugeMetricFamily(
        "storestack_rollout_stores", "Stores of active rollouts by state", labels=["rollout", "state"]
    )
    with transaction(engine) as session:
        on = stores_on_revisions(session)
        states = session.exec(
            select(RolloutStore.rollout_id, RolloutStore.state, func.count())
            .join(Rollout, col(Rollout.id) == col(RolloutStore.rollout_id))
            .where(col(Rollout.state).in_(ROLLOUT_ACTIVE))
            .group_by(col(RolloutStore.rollout_id), col(RolloutStore.state))
        ).all()
    for revision, count in sorted(on.items()):
        revisions.add_metric([str(revision)], int(count))
    for rollout_id, state, count in states:
        progress.add_metric([str(rollout_id), state], int(count))
    yield revisions
    yield progress


class Metrics:
    """The app's metrics; pass one to the reconciler and to ``create_app``."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.registry = CollectorRegistry()
        self.provisioning_seconds = Histogram(
            "storestack_provisioning_duration_seconds",
            "Time from the first provisioning attempt to ready",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.deletion_seconds = Histogram(
            "storestack_deletion_duration_seconds",
            "Time from the first deletion attempt to deleted",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.operations = Counter(
            "storestack_operations",
            "Fleet operations run by the reconciler, by operation and result",
            ["operation", "result"],
            registry=self.registry,
        )
        self.failures = Counter(
            "storestack_failures",
            "Failed fleet operations, by operation and reason (error code)",
            ["operation", "reason"],
            registry=self.registry,
        )
        self.expired = Counter(
            "storestack_stores_expired",
            "Stores whose expires_at passed, so the reconciler asked for their deletion",
            registry=self.registry,
        )
        self.drift_checks = Counter(
            "storestack_drift_checks",
            "Drift checks run by the reconciler, by result (clean, drift, error)",
            ["result"],
            registry=self.registry,
        )
        self.backup_jobs = Counter(
            "storestack_backup_jobs",
            "Backups and restores run by the reconciler, by action and result (complete, failed)",
            ["action", "result"],
            registry=self.registry,
        )
        self.backup_seconds = Histogram(
            "storestack_backup_duration_seconds",
            "Time a backup or restore took, by action",
            ["action"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.rollouts = Counter(
            "storestack_rollouts",
            "Rollouts that ended, by result (succeeded, failed, aborted)",
            ["result"],
            registry=self.registry,
        )
        self.rollout_stores = Counter(
            "storestack_rollout_store_results",
            "Results of the stores rollouts moved (updated, failed, rolled_back, skipped)",
            ["result"],
            registry=self.registry,
        )
        if engine is not None:
            self.registry.register(_StoresByStatus(engine))
