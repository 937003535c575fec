"""The rules of single input values of the HTTP API: store and owner names, printable text, e-mail
addresses, plan names and host names, each as a JSON-schema pattern (for the OpenAPI document) and
a check that raises ``ValueError`` with what is wrong (for the request models' validators).

Used by ``api.schemas`` (and, through it, the routes and the CLI).
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

MAX_TOKEN_SECONDS = 10 * 366 * 24 * 3600  # ten years
OWNER_PATTERN = r"^[a-z0-9][a-z0-9._@-]{0,62}[a-z0-9]$|^[a-z0-9]$"
# A store name as a JSON-schema pattern: the same set ``validate_store_name`` accepts (with 3-40
# characters): a letter first, then letters and digits, each optionally after a single '-'.
STORE_NAME_PATTERN = r"^[a-z](-?[a-z0-9])*$"
# Printable text: no control characters (C0, DEL, C1), line/paragraph separators or bidirectional
# overrides; everything else in Unicode is allowed. The check also refuses lone surrogates (which
# JSON can escape but no Unicode text holds, so the documented pattern need not name them).
_NOT_TEXT = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
TEXT_PATTERN = "^[^" + _NOT_TEXT + "]*$"
HOST_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
_HOST_RE = re.compile(HOST_PATTERN)
PLAN_PATTERN = r"^[a-z][a-z0-9-]{1,31}$"  # a plan's name in an environment file (environments.model)
_PLAN_RE = re.compile(PLAN_PATTERN)
_TEXT_RE = re.compile("^[^" + _NOT_TEXT + r"\ud800-\udfff]*$")


def check_text(value: str) -> str:
    """``value`` if it is printable text (see ``TEXT_PATTERN``), else ``ValueError``."""
    if not _TEXT_RE.fullmatch(value):
        raise ValueError("must be printable text without control characters")
    return value


def check_plan(value: str) -> str:
    """``value`` if it has the shape of a plan name (whether the environment offers it is the
    service's check), else ``ValueError``."""
    if not _PLAN_RE.fullmatch(value):
        raise ValueError("must be a plan name: 2-32 lowercase letters, digits or '-', a letter first")
    return value


def check_domains(value: list[str]) -> list[str]:
    """Custom host names: lowercase DNS names with at least two labels, none twice, else ``ValueError``
    (which ones the environment reserves, and which another store has, is the service's check)."""
    for host in value:
        if len(host) > 253 or not _HOST_RE.fullmatch(host):
            raise ValueError(f"{host!r} is not a lowercase DNS name with a '.' (e.g. shop.example.com)")
    if len(set(value)) != len(value):
        raise ValueError("names a host twice")
    return value


def check_email(value: str) -> str:
    """An ASCII e-mail address a mail system (and WordPress) accepts, normalised; else ``ValueError``."""
    try:
        # ``.test`` domains are allowed (test stores); no DNS lookup is made.
        result = validate_email(
            value, check_deliverability=False, allow_smtputf8=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise ValueError(f"must be an e-mail address ({exc})") from None
    return str(result.normalized)


BACKUP_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$"  # stacks.backups: when it was made, and a random tail
