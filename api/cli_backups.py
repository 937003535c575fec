"""The ``storestack backup`` commands, talking to the API: ``create``, ``list`` and ``restore`` of a
store's backups (``--wait`` follows the job to its end). Added to the top-level command by
``api.cli``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli_common import JsonOption, TokenOption, UrlOption, client_for, err, fail, out, print_json
from api.client import ApiClient, ClientError

backup_app = typer.Typer(help="Back a store up, list its backups, restore one.", no_args_is_help=True)
ENDED = ("complete", "failed")
StoreArg = Annotated[str, typer.Argument(help="the store's name")]
WaitOption = Annotated[bool, typer.Option("--wait", help="wait until the job has ended")]
TimeoutOption = Annotated[float, typer.Option(help="seconds --wait waits")]


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def _age(seconds: int) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def _follow(client: ApiClient, name: str, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Poll the store's jobs until ``job`` has ended (or the timeout); says what it waits for."""
    deadline = time.monotonic() + timeout
    with err.status(f"{job['action']} of {name}: {job['state']}") as status:
        while True:
            jobs = {j["id"]: j for j in client.list_backups(name)["jobs"]}
            current: dict[str, Any] = jobs.get(job["id"], job)
            if current["state"] in ENDED:
                return current
            if time.monotonic() > deadline:
                err.print(
                    f"error: the {job['action']} of {name} is still {current['state']} after {timeout:.0f}s"
                )
                raise typer.Exit(1)
            status.update(f"{job['action']} of {name}: {current['state']}")
            time.sleep(1)


def _report(name: str, job: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(job)
    elif job["state"] == "complete" and job["action"] == "backup":
        out.print(
            f"backup {job['backup_id']} of {name}: {_size(job['size'])} in {job['seconds']:.1f}s",
            markup=False,
        )
    elif job["state"] == "complete":
        out.print(f"{name} restored from backup {job['backup_id']} in {job['seconds']:.1f}s", markup=False)
    elif job["state"] == "failed":
        err.print(f"error: the {job['action']} of {name} failed: {job['error']}", markup=False)
        raise typer.Exit(1)
    else:
        out.print(f"{job['action']} of {name} {job['state']} (job {job['id']})", markup=False)


@backup_app.command("create")
def create_backup(
    name: StoreArg,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Back the store up now (its database and its app's files, to the object store)."""
    with client_for(url, token) as client:
        try:
            job = client.create_backup(name)
            if wait:
                job = _follow(client, name, job, timeout)
        except ClientError as exc:
            raise fail(exc) from None
    _report(name, job, as_json)


@backup_app.command("list")
def list_backups(
    name: StoreArg, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """The store's backups, newest first, and its latest backup and restore jobs."""
    with client_for(url, token) as client:
        try:
            listed = client.list_backups(name)
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(listed)
        return
    table = Table("id", "kind", "age", "size", "took")
    for backup in listed["backups"]:
        table.add_row(
            backup["id"],
            backup["kind"],
            _age(backup["age_seconds"]),
            _size(backup["size"]),
            f"{backup['seconds']:.1f}s",
        )
    out.print(table)
    unfinished = [j for j in listed["jobs"] if j["state"] != "complete"][:5]
    for job in unfinished:
        reason = f": {job['error']}" if job["error"] else ""
        out.print(f"{job['action']} job {job['id']} {job['state']}{reason}", markup=False)


@backup_app.command("restore")
def restore_backup(
    name: StoreArg,
    backup_id: Annotated[str, typer.Argument(help="the backup's id (storestack backup list)")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the store's data (database and files) with the backup's; what came after is lost."""
    if not yes and not typer.confirm(
        f"Replace all of {name}'s data with backup {backup_id}? Orders and changes made since are lost"
    ):
        raise typer.Exit(1)
    with client_for(url, token) as client:
        try:
            job = client.restore_backup(name, backup_id)
            if wait:
                job = _follow(client, name, job, timeout)
        except ClientError as exc:
            raise fail(exc) from None
    _report(name, job, as_json)
