"""The store commands of ``storestack``, talking to the API: ``create`` (``--from-backup``: a
clone), ``list``, ``get``, ``update``, ``delete``, ``retry``, ``repair``, ``drift``, ``suspend``,
``resume``, ``events``, ``credentials``. Merged into the top-level command by ``api.cli``.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli_common import (
    JsonOption,
    TokenOption,
    UrlOption,
    client_for,
    err,
    fail,
    out,
    print_json,
    report,
    wait_for,
)
from api.cli_tokens import parse_duration
from api.client import ClientError

stores_app = typer.Typer()


@stores_app.command()
def create(
    name: Annotated[str, typer.Argument(help="store name (DNS label, 3-40 characters)")],
    engine: Annotated[
        str, typer.Option(help="woocommerce or medusa (storestack engines: what this environment offers)")
    ] = "woocommerce",
    title: Annotated[str, typer.Option(help="the shop's title")] = "",
    admin_email: Annotated[str | None, typer.Option(help="the admin's e-mail")] = None,
    plan: Annotated[str | None, typer.Option(help="a size plan (storestack plans); default: none")] = None,
    domain: Annotated[
        list[str] | None, typer.Option(help="an extra host name the store serves (repeatable)")
    ] = None,
    ttl: Annotated[
        str | None,
        typer.Option(help="delete the store by itself after this long: 90m, 12h, 7d (demo stores)"),
    ] = None,
    from_backup: Annotated[
        str | None,
        typer.Option(help="a clone: STORE/BACKUP_ID (storestack backup list STORE), same engine"),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait until ready, with a progress bar")] = False,
    timeout: Annotated[float, typer.Option(help="seconds --wait waits")] = 1800,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a store (or, with --from-backup, a clone of another store's backup)."""
    expires_in = None if ttl is None else int(parse_duration(ttl).total_seconds())
    source = None
    if from_backup is not None:
        store_name, sep, backup_id = from_backup.partition("/")
        if not sep or not store_name or not backup_id:
            raise typer.BadParameter(f"{from_backup!r} is not STORE/BACKUP_ID", param_hint="--from-backup")
        source = {"store": store_name, "backup_id": backup_id}
    with client_for(url, token) as client:
        try:
            store = client.create_store(
                name,
                engine=engine,
                title=title,
                admin_email=admin_email,
                expires_in_seconds=expires_in,
                plan=plan,
                domains=domain or None,
                from_backup=source,
            )
            if not wait:
                if as_json:
                    print_json(store)
                else:
                    out.print(f"{name} accepted ({store['status']})", markup=False)
                return
            store = wait_for(client, name, want="ready", timeout=timeout)
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(store)
    report(store, "ready")


@stores_app.command("list")
def list_stores(
    all_: Annotated[bool, typer.Option("--all", help="include deleted stores")] = False,
    status: Annotated[str | None, typer.Option(help="only stores with this status")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List stores."""
    with client_for(url, token) as client:
        try:
            items = client.list_stores(include_deleted=all_, status=status)
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(items)
        return
    table = Table("NAME", "STATUS", "PROGRESS", "URL", "OWNER", "CREATED", "EXPIRES")
    for store in items:
        progress = store["progress"]
        shown = f"{progress['done']}/{progress['total']}" if progress["total"] else "-"
        table.add_row(
            store["name"],
            store["status"],
            shown,
            store["url"] or "",
            store["owner"],
            store["created_at"][:19],
            (store.get("expires_at") or "never")[:19],
        )
    out.print(table)


@stores_app.command()
def engines(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """List the store engines this environment offers (create --engine)."""
    with client_for(url, token) as client:
        try:
            offered = client.list_engines()
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(offered)
        return
    table = Table("ENGINE", "NAME", "WHAT A STORE IS")
    for engine in offered:
        table.add_row(engine["name"], engine["label"], engine["description"])
    out.print(table)


@stores_app.command()
def plans(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """List the size plans a store may choose (create --plan, update --plan)."""
    with client_for(url, token) as client:
        try:
            offered = client.list_plans()
        except ClientError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(offered)
        return
    if not offered:
        out.print("this environment offers no plans: every store gets its default sizes", markup=False)
        return
    table = Table("PLAN", "WORDPRESS (limits)", "MYSQL (limits)", "DESCRIPTION")
    for plan in offered:
        shown = {
            part: "{cpu} CPU, {memory}".format(**plan["resources"][part]["limits"])
            for part in ("wordpress", "mysql")
        }
        table.add_row(plan["name"], shown["wordpress"], shown["mysql"], plan["description"])
    out.print(table)


@stores_app.command()
def get(
    name: Annotated[str, typer.Argument(help="store name")],
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show a store as JSON."""
    with client_for(url, token) as client:
        try:
            print_json(client.get_store(name))
        except ClientError as exc:
            raise fail(exc) from None


@stores_app.command()
def update(
    name: Annotated[str, typer.Argument(help="store name")],
    title: Annotated[str | None, typer.Option(help="the shop's new title")] = None,
    admin_email: Annotated[str | None, typer.Option(help="the administrator's new e-mail")] = None,
    plan: Annotated[
        str | None, typer.Option(help="a size plan (storestack plans); '-' for the environment's defaults")
    ] = None,
    domain: Annotated[
        list[str] | None, typer.Option(help="the store's extra host names, all of them (repeatable)")
    ] = None,
    no_domains: Annotated[bool, typer.Option("--no-domains", help="drop every extra host name")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="wait until the change is rolled out")] = False,
    timeout: Annotated[float, typer.Option(help="seconds --wait waits")] = 1800,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Change a store's title, admin e-mail, size plan or host names in place (its data and
    credentials stay)."""
    changes: dict[str, Any] = {
        key: value for key, value in (("title", title), ("admin_email", admin_email)) if value is not None
    }
    if plan is not None:
        changes["plan"] = None if plan == "-" else plan
    if domain and no_domains:
        raise typer.BadParameter("--domain and --no-domains cannot go together")
    if domain or no_domains:
        changes["domains"] = domain or []
    if not changes:
        raise typer.BadParameter("give a change: --title, --admin-email, --plan, --domain")
    with client_for(url, token) as client:
        try:
            store, changed = client.update_store(name, **changes)
            if not changed:
                out.print(f"{name}: nothing to change, it already is so", markup=False)
                return
            if wait:
                store = wait_for(client, name, want="ready", timeout=timeout)
        except ClientError as exc:
            raise fail(exc) from None
    if wait:
        report(store, "ready")
    else:
        out.print(f"{name} change accepted ({store['status']})", markup=False)


@stores_app.command()
def delete(
    name: Annotated[str, typer.Argument(help="store name")],
    wait: Annotated[bool, typer.Option("--wait", help="wait until deleted")] = False,
    timeout: Annotated[float, typer.Option(help="seconds --wait waits")] = 1800,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Delete a store (everything in its namespace, and its stack)."""
    with client_for(url, token) as client:
        try:
            store = client.delete_store(name)
            if wait:
                store = wait_for(client, name, want="deleted", timeout=timeout)
        except ClientError as exc:
            raise fail(exc) from None
    if wait:
        report(store, "deleted")
    else:
        out.print(f"{name} deletion accepted ({store['status']})", markup=False)


def _act(name: str, action: str, *, wait: bool, timeout: float, url: str | None, token: str | None) -> None:
    """Ask for ``action`` on the store; with ``wait``, follow it to its outcome."""
    with client_for(url, token) as client:
        try:
            store = client.act(name, action)
            want = (
                "deleted" if store["desired"] == "absent" else "suspended" if store["suspended"] else "ready"
            )
            if wait:
                store = wait_for(client, name, want=want, timeout=timeout)
        except ClientError as exc:
            raise fail(exc) from None
    if wait:
        report(store, want)
    else:
        out.print(f"{name}: {action} accepted ({store['status']})", markup=False)


Wait = Annotated[bool, typer.Option("--wait", help="wait for the outcome, with a progress bar")]
Timeout = Annotated[float, typer.Option(help="seconds --wait waits")]
Name = Annotated[str, typer.Argument(help="store name")]


def _action_command(action: str, summary: str) -> None:
    """Register ``storestack <action> NAME [--wait]``: ask for the action, optionally follow it."""

    def command(
        name: Name,
        wait: Wait = False,
        timeout: Timeout = 1800,
        url: UrlOption = None,
        token: TokenOption = None,
    ) -> None:
        _act(name, action, wait=wait, timeout=timeout, url=url, token=token)

    command.__doc__ = summary
    stores_app.command(action)(command)


for _action, _summary in (
    ("retry", "Retry a failed store."),
    ("repair", "Put back what was changed or deleted by hand: an up that reads the cluster back first."),
    ("suspend", "Scale a store's workloads to zero; its data, credentials and host name stay."),
    ("resume", "Bring a suspended store back on the data it kept."),
):
    _action_command(_action, _summary)


@stores_app.command()
def drift(
    name: Name,
    check: Annotated[bool, typer.Option("--check", help="check now and wait for the result")] = False,
    timeout: Timeout = 600,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show what the store's last drift check found; --check runs one now. Exits 3 on drift."""
    with client_for(url, token) as client:
        try:
            store = client.get_store(name)
            if check:
                before = store["drift"]["checked_at"]
                client.act(name, "check-drift")
                deadline = time.monotonic() + timeout
                while store["drift"]["checked_at"] == before:
                    if time.monotonic() > deadline:
                        err.print(f"error: no drift check finished within {timeout:.0f}s")
                        raise typer.Exit(1)
                    time.sleep(0.5)
                    store = client.get_store(name)
        except ClientError as exc:
            raise fail(exc) from None
    found = store["drift"]
    if found["checked_at"] is None:
        out.print(f"{name}: not checked yet (storestack drift {name} --check)", markup=False)
    elif found["drifted"]:
        out.print(f"{name} drifted (checked {found['checked_at'][:19]}): {found['summary']}", markup=False)
        out.print(f"repair it with: storestack repair {name}", markup=False)
        raise typer.Exit(3)
    else:
        out.print(f"{name}: no drift (checked {found['checked_at'][:19]})", markup=False)


def _event_line(event: dict[str, Any]) -> str:
    when = str(event.get("created_at", ""))[:19].replace("T", " ")
    return f"{when}  {event.get('kind', ''):<16} {event.get('message', '')}  [{event.get('actor', '')}]"


@stores_app.command()
def events(
    name: Annotated[str, typer.Argument(help="store name")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="stream new events live")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a store's events (audit trail, status changes, progress); --follow streams them."""
    with client_for(url, token) as client:
        try:
            stream = client.stream_events(name) if follow else iter(client.events(name))
            for event in stream:
                if event.get("kind") == "end":
                    break
                if as_json:
                    out.print(json.dumps(event), markup=False, highlight=False, soft_wrap=True)
                else:
                    out.print(_event_line(event), markup=False, highlight=False, soft_wrap=True)
        except ClientError as exc:
            raise fail(exc) from None
        except KeyboardInterrupt:
            return


@stores_app.command()
def credentials(
    name: Annotated[str, typer.Argument(help="store name")],
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Print the store's WordPress admin login (the read is audited)."""
    with client_for(url, token) as client:
        try:
            creds = client.credentials(name)
        except ClientError as exc:
            raise fail(exc) from None
    out.print(f"url:      {creds['admin_url']}", markup=False)
    out.print(f"user:     {creds['admin_user']}", markup=False)
    out.print(f"password: {creds['admin_password']}", markup=False, highlight=False)
