"""What the routes need at hand, built once by ``api.app.create_app`` and kept in ``app.state``."""

from __future__ import annotations

import dataclasses

from sqlalchemy.engine import Engine

from api.fleet import FleetProtocol
from api.metrics import Metrics
from api.reconciler import Reconciler
from api.schemas import PlanOut
from api.schemas_engines import EngineOut
from api.services.backups import BackupService
from api.services.rollouts import RolloutService
from api.services.stores import StoreService
from api.settings import Settings


@dataclasses.dataclass
class AppContext:
    """The app's settings, database, fleet, service, metrics and (when running) reconciler."""

    settings: Settings
    engine: Engine
    fleet: FleetProtocol
    service: StoreService
    metrics: Metrics
    reconciler: Reconciler | None
    rollouts: RolloutService
    backups: BackupService
    plans: list[PlanOut] = dataclasses.field(default_factory=list)  # the environment's size plans
    engines: list[EngineOut] = dataclasses.field(default_factory=list)  # the environment's engines
