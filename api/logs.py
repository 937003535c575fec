"""One logging configuration for the control plane's processes and uvicorn's loggers.

``storestack serve`` and ``storestack worker`` call ``configure()`` and hand ``LOGGING`` to uvicorn,
so the app, the reconciler and the HTTP server write one format to stderr. Unhandled errors are
logged by ``api.middleware.UnhandledErrorMiddleware`` (type, route, request id; no message).
"""

from __future__ import annotations

import logging.config
import sys
from typing import Any, TextIO


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not to the stream of the
    moment it was configured: a command run inside another program (a test runner's CLI runner
    swaps stderr and closes its stand-in afterwards) leaves no handler writing to a closed file."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": FORMAT}},
    "handlers": {"stderr": {"class": "api.logs.StderrHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        # uvicorn's loggers propagate to the root handler instead of keeping their own.
        "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.access": {"handlers": [], "level": "INFO", "propagate": True},
        # Pulumi's inline-program server logs whole gRPC tracebacks when an update fails; the
        # reconciler already records the classified reason, so keep only its own line.
        "grpc._server": {"level": "CRITICAL"},
    },
}


def configure() -> None:
    logging.config.dictConfig(LOGGING)
