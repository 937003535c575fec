"""The errors the stacks layer raises; Pulumi's exceptions are translated into these.

Each has a stable ``code`` (used by the API's JSON errors) and ``temporary`` (whether retrying the
same operation later can succeed: the reconciler retries those with backoff and fails the others
at once). Messages never contain secrets.
"""

from __future__ import annotations


class FleetError(Exception):
    """Base of every error the stacks layer raises."""

    code = "fleet_error"
    temporary = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StoreNotFoundError(FleetError):
    """No stack exists for that store."""

    code = "store_not_found"


class StoreBusyError(FleetError):
    """Another operation holds the store's stack (in this process or another)."""

    code = "store_busy"
    temporary = True


class ClusterUnreachableError(FleetError):
    """The Kubernetes API server did not answer."""

    code = "cluster_unreachable"
    temporary = True


class InvalidSpecError(FleetError):
    """The store spec or the environment cannot be deployed as asked (a permanent failure)."""

    code = "invalid_spec"


class OperationFailedError(FleetError):
    """``up``/``destroy``/``refresh`` failed; ``temporary`` says whether a retry may help."""

    code = "operation_failed"

    def __init__(self, message: str, *, temporary: bool, reason: str = "operation_failed") -> None:
        super().__init__(message)
        self.temporary = temporary
        self.code = reason
