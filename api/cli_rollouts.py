"""The ``storestack revision`` and ``storestack rollout`` commands (admins), talking to the API.

``revision create --set images.wordpress=wordpress:6.9.0-php8.3-apache`` records the environment's
next revision (``--set`` takes dotted field paths and YAML values; ``--file`` a YAML mapping);
``revision list|show``. ``rollout start REVISION [--wait]`` rolls it out (canary, waves), ``rollout
status [ID]`` shows the waves and stores, ``rollout pause|resume|abort ID``. Added to the top-level
command by ``api.cli``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from api.cli_common import JsonOption, TokenOption, UrlOption, client_for, err, fail, out, print_json
from api.client import ApiClient, ClientError

revision_app = typer.Typer(help="Environment revisions (admins).", no_args_is_help=True)
rollout_app = typer.Typer(help="Roll a revision out over the fleet (admins).", no_args_is_help=True)
ENDED = {"succeeded", "failed", "aborted"}


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["images.wordpress=x", "setup_retries=2"]`` as nested changes; values are YAML scalars."""
    changes: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise typer.BadParameter(f"{item!r} is not FIELD=VALUE (e.g. images.wordpress=wordpress:6.9.0)")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        node = changes
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise typer.BadParameter(f"{key!r}: {part!r} is set to a value and used as a mapping")
            node = child
        node[leaf] = value
    return changes


def _changes(sets: list[str] | None, file: Path | None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise typer.BadParameter(f"{file}: {exc}") from None
        if not isinstance(loaded, dict):
            raise typer.BadParameter(f"{file}: expected a mapping of environment fields")
        changes.update(loaded)
    changes.update(parse_sets(sets or []))
    if not changes:
        raise typer.BadParameter("nothing to change: give --set FIELD=VALUE or --file")
    return changes


@revision_app.command("create")
def create_revision(
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE, a dotted path (repeatable)")
    ] = None,
    file: Annotated[Path | None, typer.Option(help="a YAML file of the fields to change")] = None,
    description: Annotated[str, typer.Option(help="what the revision is for")] = "",
    parent: Annotated[int | None, typer.Option(help="the revision it changes; default: the newest")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the environment's next revision (nothing changes until it is rolled out)."""
    changes = _changes(set_, file)
    with client_for(url, token) as client:
        try:
            made = client.create_revision(changes, description=description, parent=parent)
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(made)
        return
    fields = ", ".join(made["changed_fields"])
    out.print(f"revision {made['number']} (from {made['parent']}): {fields}", markup=False)


@revision_app.command("list")
def list_revisions(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Every revision with the number of live stores on it."""
    with client_for(url, token) as client:
        try:
            revisions = client.list_revisions()
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(revisions)
        return
    table = Table("revision", "stores", "changes", "description", "by")
    for item in revisions:
        shown = ", ".join(item["changed_fields"]) or "-"
        table.add_row(
            str(item["number"]), str(item["stores"]), shown, item["description"], item["created_by"]
        )
    out.print(table)


@revision_app.command("show")
def show_revision(
    number: Annotated[int, typer.Argument(help="the revision's number")],
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """A revision as JSON: what it changed and every override it applies."""
    with client_for(url, token) as client:
        try:
            print_json(client.get_revision(number))
        except ClientError as exc:
            raise fail(exc) from None


def _summary(rollout: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in sorted(rollout["counts"].items()))
    wave = "canary" if rollout["wave"] == 0 else f"wave {rollout['wave']}"
    where = f"at {wave} of {rollout['waves']}" if rollout["state"] not in ENDED else rollout["message"]
    return (
        f"rollout {rollout['id']} to revision {rollout['revision']}: {rollout['state']} ({counts}); {where}"
    )


def _print_rollout(rollout: dict[str, Any]) -> None:
    out.print(_summary(rollout), markup=False)
    waves = Table("wave", "stores", "states", "seconds")
    for wave in rollout["wave_detail"]:
        states = ", ".join(f"{n} {s}" for s, n in sorted(wave["states"].items()))
        seconds = "-" if wave["seconds"] is None else f"{wave['seconds']:.1f}"
        waves.add_row(
            "canary" if wave["wave"] == 0 else str(wave["wave"]), str(wave["stores"]), states, seconds
        )
    out.print(waves)
    stores = Table("store", "wave", "from", "state", "seconds", "error")
    for store in rollout["stores"]:
        seconds = "-" if store["seconds"] is None else f"{store['seconds']:.1f}"
        stores.add_row(
            store["store"],
            str(store["wave"]),
            str(store["from_revision"]),
            store["state"],
            seconds,
            (store["error"] or "")[:80],
        )
    out.print(stores)


def _follow(client: ApiClient, rollout_id: int, timeout: float) -> dict[str, Any]:
    """Print each store's and the rollout's changes until it ends."""
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    while True:
        rollout = client.get_rollout(rollout_id)
        for store in rollout["stores"]:
            if seen.get(store["store"]) != store["state"]:
                seen[store["store"]] = store["state"]
                err.print(f"  {store['store']}: {store['state']}", markup=False, highlight=False)
        if rollout["state"] in ENDED:
            return rollout
        if time.monotonic() > deadline:
            err.print(f"error: timed out after {timeout:.0f}s; {_summary(rollout)}", markup=False)
            raise typer.Exit(1)
        time.sleep(1.0)


@rollout_app.command("start")
def start_rollout(
    revision: Annotated[int, typer.Argument(help="the target revision (revision list)")],
    canary: Annotated[int | None, typer.Option(help="stores in the first wave")] = None,
    growth: Annotated[int | None, typer.Option(help="each wave this many times the one before")] = None,
    max_concurrency: Annotated[int | None, typer.Option(help="stores updating at once")] = None,
    failed_only: Annotated[
        bool, typer.Option("--failed-only", help="on a failure roll back only the failed store")
    ] = False,
    wait: Annotated[bool, typer.Option(help="follow it until it ends; exit 1 unless it succeeded")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait with --wait")] = 3600,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Roll a revision out to every ready store not on it: canary first, then growing waves."""
    with client_for(url, token) as client:
        try:
            rollout = client.start_rollout(
                revision,
                canary=canary,
                growth=growth,
                max_concurrency=max_concurrency,
                rollback_all=not failed_only,
            )
            err.print(_summary(rollout), markup=False, highlight=False)
            if wait:
                rollout = _follow(client, rollout["id"], timeout)
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(rollout)
    elif wait:
        _print_rollout(rollout)
    if wait and rollout["state"] != "succeeded":
        raise typer.Exit(1)


@rollout_app.command("list")
def list_rollouts(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """The newest rollouts, newest first."""
    with client_for(url, token) as client:
        try:
            rollouts = client.list_rollouts()
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(rollouts)
        return
    for rollout in rollouts:
        out.print(_summary(rollout), markup=False)


@rollout_app.command("status")
def rollout_status(
    rollout_id: Annotated[int | None, typer.Argument(help="the rollout's id; default: the newest")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """A rollout's state, its waves and each store's result."""
    with client_for(url, token) as client:
        try:
            if rollout_id is None:
                newest = client.list_rollouts()
                if not newest:
                    err.print("no rollout yet: start one with `storestack rollout start REVISION`")
                    raise typer.Exit(1)
                rollout = newest[0]
            else:
                rollout = client.get_rollout(rollout_id)
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(rollout)
    else:
        _print_rollout(rollout)


def _action(action: str, doc: str) -> None:
    def command(
        rollout_id: Annotated[int, typer.Argument(help="the rollout's id")],
        url: UrlOption = None,
        token: TokenOption = None,
    ) -> None:
        with client_for(url, token) as client:
            try:
                rollout = client.rollout_action(rollout_id, action)
            except ClientError as exc:
                raise fail(exc) from None
        out.print(_summary(rollout), markup=False)

    command.__doc__ = doc
    rollout_app.command(action)(command)


_action("pause", "Move no more stores (those updating finish).")
_action("resume", "Go on with a paused rollout.")
_action("abort", "End the rollout where it is; nothing is rolled back.")
