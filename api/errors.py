"""The api layer's errors: a small tree with stable codes and the HTTP status each maps to.

Services and auth raise these; ``api.app.create_app`` turns them into ``{"error": {"code",
"message"}}`` responses. Messages are for users: they never carry secrets or stack traces.
"""

from __future__ import annotations

import traceback


class ApiError(Exception):
    """Base of the api layer's errors."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequestError(ApiError):
    status_code = 400
    code = "bad_request"


class UnauthorizedError(ApiError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str = "a valid bearer token is required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class ForbiddenError(ApiError):
    status_code = 403
    code = "forbidden"


class NotFoundError(ApiError):
    status_code = 404
    code = "not_found"


class StoreNotFoundError(NotFoundError):
    code = "store_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no store named '{name}'")


class ConflictError(ApiError):
    status_code = 409
    code = "conflict"


class StoreExistsError(ConflictError):
    code = "store_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"a store named '{name}' already exists")


class DomainTakenError(ConflictError):
    code = "domain_taken"

    def __init__(self, host: str) -> None:
        super().__init__(f"the host name '{host}' is already another store's")


class InvalidStateError(ConflictError):
    code = "invalid_state"


class BackupsNotConfiguredError(ConflictError):
    code = "backups_not_configured"


class BackupNotFoundError(NotFoundError):
    code = "backup_not_found"


class PayloadTooLargeError(ApiError):
    status_code = 413
    code = "payload_too_large"


class ValidationFailedError(ApiError):
    status_code = 422
    code = "validation_error"


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request body")


class TooManyRequestsError(ApiError):
    """429; ``retry_after`` seconds go into the Retry-After header."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(message, headers={"Retry-After": str(self.retry_after)})


class QuotaExceededError(TooManyRequestsError):
    code = "quota_exceeded"


class RateLimitedError(TooManyRequestsError):
    code = "rate_limited"


class UnavailableError(ApiError):
    status_code = 503
    code = "unavailable"


def where(exc: BaseException) -> str:
    """An unexpected exception for the logs: its type and stack, but not its message (which may
    hold anything, secrets included)."""
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    return f"{type(exc).__name__} (message withheld)\n{frames}"
