"""``storestack token create | list | revoke``: API tokens, made and revoked directly in the database.

Server-side commands (they read ``Settings`` from the environment like ``serve``), for the operator
of the control plane; over HTTP the same is ``/api/v1/tokens``. ``api.cli`` mounts ``token_app``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.settings import Settings

token_app = typer.Typer(help="API tokens (made and revoked directly in the database).", no_args_is_help=True)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str) -> dt.timedelta:
    """``90``, ``90s``, ``15m``, ``12h``, ``30d`` or ``8w`` as a timedelta, else ``typer.BadParameter``."""
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise typer.BadParameter("use a number with an optional unit s, m, h, d or w (e.g. 30d)")
    return dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def engine(settings: Settings) -> Any:
    """The control plane's database, migrated to the newest schema."""
    from api.db import make_engine, upgrade

    database = make_engine(settings.resolved_database_url())
    upgrade(database)
    return database


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@token_app.command("create")
def token_create(
    owner: Annotated[str, typer.Option(help="owner name the token acts as")],
    admin: Annotated[bool, typer.Option("--admin", help="an admin token (sees every store)")] = False,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="lifetime, e.g. 12h or 30d (default: no expiry)")
    ] = None,
) -> None:
    """Make an API token and print it (it is stored hashed; this is the only time it is shown)."""
    from api.auth import create_token
    from api.errors import ApiError
    from api.models import Role

    lifetime = parse_duration(expires_in) if expires_in is not None else None
    if lifetime is not None and lifetime < dt.timedelta(minutes=1):
        raise typer.BadParameter("at least 1 minute", param_hint="'--expires-in'")
    database = engine(Settings())
    try:
        token = create_token(
            database, owner=owner, role=Role.ADMIN if admin else Role.OWNER, expires_in=lifetime
        )
    except ApiError as exc:
        err.print(f"error: {exc.message}", markup=False)
        raise typer.Exit(2) from None
    out.print(token, markup=False, highlight=False)


@token_app.command("list")
def token_list(
    owner: Annotated[str | None, typer.Option(help="only this owner's tokens")] = None,
) -> None:
    """List tokens (never their secret): id, owner, role, created, expires, last used, state."""
    from api.auth import list_tokens
    from api.db import utcnow

    now = utcnow()
    table = Table("ID", "OWNER", "ROLE", "CREATED", "EXPIRES", "LAST USED", "STATE", box=None)
    for row in list_tokens(engine(Settings()), owner=owner):
        expired = row.expires_at is not None and row.expires_at <= now
        state = "revoked" if row.revoked_at else "expired" if expired else "active"
        table.add_row(
            str(row.id),
            row.owner,
            row.role,
            _when(row.created_at),
            _when(row.expires_at),
            _when(row.last_used_at),
            state,
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="the token's id (from `token list`)")]) -> None:
    """Revoke a token: it gets 401 from the next request on, and its open event streams end."""
    from api.auth import revoke_token
    from api.errors import ApiError

    try:
        row = revoke_token(engine(Settings()), token_id)
    except ApiError as exc:
        err.print(f"error: {exc.message}", markup=False)
        raise typer.Exit(1) from None
    out.print(f"token {row.id} of {row.owner} revoked", markup=False)
