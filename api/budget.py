"""Time budgets: the reconciler's provisioning timeout against what the engine itself may await.

``api.reconciler.Reconciler.start`` calls ``check_budget``: a timeout shorter than one healthy
``up`` (the workloads' awaits, the setup Job's and the storefront check, as ``Fleet`` computes them)
would fail a slow first ``up`` while Pulumi is still waiting for it, so it is said at start.
"""

from __future__ import annotations

import logging

from api.fleet import FleetProtocol
from api.settings import Settings

log = logging.getLogger("storestack.reconciler")


def check_budget(fleet: FleetProtocol, settings: Settings) -> bool:
    """Warn when the provisioning timeout is shorter than the fleet's up budget; whether it fits."""
    try:
        budget = fleet.up_budget_seconds()
    except Exception as exc:  # a fleet that cannot tell must not stop the worker
        log.debug("no up budget: %s", type(exc).__name__)
        return True
    limit = settings.provisioning_timeout_seconds
    if limit >= budget:
        return True
    log.warning(
        "provisioning_timeout_seconds is %.0f s, but one healthy up may take %d s in this environment "
        "(workload, setup-job and storefront awaits): slow first ups would be failed while still "
        "running; set STORESTACK_PROVISIONING_TIMEOUT_SECONDS to at least %d",
        limit,
        budget,
        budget,
    )
    return False
