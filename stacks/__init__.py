"""The Automation API boundary: ``Fleet`` runs one Pulumi stack per store.

Public API (also for notebooks)::

    from stacks import Fleet, StoreSpec
    from api.settings import Settings  # or build a FleetConfig by hand
    fleet = Fleet(Settings().fleet_config())
    fleet.up(StoreSpec(name="demo"), on_progress=print)

Nothing above this package sees ``pulumi.automation`` types; Pulumi's exceptions become
``stacks.errors``.
"""

from typing import TYPE_CHECKING

from stacks.errors import (
    ClusterUnreachableError,
    FleetError,
    InvalidSpecError,
    OperationFailedError,
    StoreBusyError,
    StoreNotFoundError,
)
from stacks.runtime import FleetConfig
from stacks.types import Credentials, Progress, Revision, StoreInfo, StoreSpec

if TYPE_CHECKING:
    from stacks.fleet import Fleet


def __getattr__(name: str) -> object:
    # Fleet pulls in the Pulumi program and the environments; import it on first use only.
    if name == "Fleet":
        from stacks.fleet import Fleet

        return Fleet
    raise AttributeError(f"module 'stacks' has no attribute {name!r}")


__all__ = [
    "ClusterUnreachableError",
    "Credentials",
    "Fleet",
    "FleetConfig",
    "FleetError",
    "InvalidSpecError",
    "OperationFailedError",
    "Progress",
    "Revision",
    "StoreBusyError",
    "StoreInfo",
    "StoreNotFoundError",
    "StoreSpec",
]
