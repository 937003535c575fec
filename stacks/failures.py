"""Translation of Pulumi's exceptions into ``stacks.errors``, with a classified, secret-free reason.

``Fleet`` wraps every Automation API call in ``translate(...)``. Temporary failures (cluster
unreachable, stack locked, timeouts, image pulls that failed) can be retried; permanent ones
(invalid objects, quota, an image that does not exist) cannot. The message is the engine's own error
diagnostics when there are any (Pulumi masks secret values there), else the last lines of the CLI's
stderr, made plain for users by ``plain``: no Python traceback (its last line says what was
raised), no CLI boilerplate, one line of at most ``PLAIN_LIMIT`` characters. The full text goes to
the server log (``storestack.fleet``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from pulumi.automation import errors as auto_errors

from stacks.errors import (
    ClusterUnreachableError,
    FleetError,
    OperationFailedError,
    StoreBusyError,
    StoreNotFoundError,
)
from stacks.progress import ProgressTracker

# (pattern, reason code, temporary) — first match wins.
_RULES: tuple[tuple[re.Pattern[str], str, bool], ...] = tuple(
    (re.compile(p, re.IGNORECASE), code, temporary)
    for p, code, temporary in (
        (
            r"connection refused|no such host|i/o timeout|unable to connect|"
            r"failed to connect|cluster is unreachable|dial tcp|TLS handshake timeout",
            "cluster_unreachable",
            True,
        ),
        # Not "client rate limiter Wait returned an error: context canceled": client-go giving up.
        (r"toomanyrequests|rate limit(?!er)", "registry_rate_limited", True),
        (r"exceeded quota|forbidden: exceeded|must specify limits", "quota_exceeded", False),
        (r"InvalidImageName|manifest unknown|repository does not exist", "image_missing", False),
        # A pull that failed is often a registry or DNS hiccup on a real node: retried (the
        # reconciler's max_attempts caps it); a name that cannot exist is caught above.
        (r"ErrImagePull|ImagePullBackOff", "image_pull_failed", True),
        (
            r"is invalid|Invalid value|Unsupported value|admission webhook .* denied|"
            r"field is immutable",
            "invalid_spec",
            False,
        ),
        (r"timed out|timeout|deadline exceeded|context canceled", "timeout", True),
        (
            r"the server is currently unable|TooManyRequests|etcdserver|ServiceUnavailable|"
            r"connection reset",
            "cluster_unavailable",
            True,
        ),
    )
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BOILERPLATE = re.compile(
    r"^(error: )+|^Program failed with an unhandled exception:\s*|^update failed\s*$|^\s*\|\s*", re.IGNORECASE
)
PLAIN_LIMIT = 400
log = logging.getLogger("storestack.fleet")


def _strip_boilerplate(part: str) -> str:
    part, before = part.strip(), None
    while part != before:
        before, part = part, _BOILERPLATE.sub("", part).strip()
    return part


def plain(text: str, limit: int = PLAIN_LIMIT) -> str:
    """One line for users from an engine error: a Python traceback becomes the exception it
    raised, prefixes such as ``error:`` go, whitespace collapses; cut at ``limit`` characters."""
    text = _ANSI.sub("", text)
    if "Traceback (most recent call last)" in text:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        raised = next(
            (line for line in reversed(lines) if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)), ""
        )
        text = f"the store program raised {raised or 'an exception'}"
    parts = [_strip_boilerplate(part) for part in re.split(r"\n| \| ", text)]
    sentence = "; ".join(p for p in parts if p)
    sentence = re.sub(r"\s+", " ", sentence).strip()
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _summarise(text: str, limit: int = 600) -> str:
    lines = [_ANSI.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith(("Updating", "View Live", "Resources:"))]
    message = " | ".join(lines[-6:])
    return message[-limit:]


def classify(text: str) -> tuple[str, bool]:
    """The reason code and whether it is temporary, from an error text."""
    for pattern, code, temporary in _RULES:
        if pattern.search(text):
            return code, temporary
    return "operation_failed", True


@contextmanager
def translate(action: str, name: str, *, tracker: ProgressTracker | None = None) -> Iterator[None]:
    """Run a Pulumi call; re-raise its failure as a ``FleetError`` naming the store and action."""
    try:
        yield
    except FleetError:
        raise
    except auto_errors.ConcurrentUpdateError as exc:
        raise StoreBusyError(f"store '{name}' is busy: another {action} holds its stack") from exc
    except auto_errors.StackNotFoundError as exc:
        raise StoreNotFoundError(f"store '{name}' has no stack") from exc
    except auto_errors.CommandError as exc:
        diagnostics = " | ".join(tracker.errors[-4:]) if tracker and tracker.errors else ""
        text = str(exc)  # the CLI's command, exit code, stdout and stderr
        detail = plain(diagnostics or _summarise(text))
        code, temporary = classify(f"{diagnostics}\n{text}")
        log.warning(
            "%s of store %s failed (%s); the engine said:\n%s", action, name, code, diagnostics or text
        )
        if code == "cluster_unreachable":
            raise ClusterUnreachableError(
                f"{action} of store '{name}': cluster unreachable: {detail}"
            ) from exc
        raise OperationFailedError(
            f"{action} of store '{name}' failed ({code}): {detail}", temporary=temporary, reason=code
        ) from exc
