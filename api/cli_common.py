"""What the client commands of ``storestack`` share: the consoles, the ``--url/--token/--json``
options, the CLI config file (URL + token) and the API client built from them, error output, and
waiting for a store with a progress bar.

Used by ``api.cli`` (``serve`` writes the config) and ``api.cli_stores`` (the store commands).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.client import ApiClient, ClientError
from api.settings import Settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

TERMINAL = {"ready", "suspended", "failed", "deleted"}

UrlOption = Annotated[
    str | None, typer.Option("--url", envvar="STORESTACK_URL", help="API URL", show_envvar=True)
]
TokenOption = Annotated[
    str | None, typer.Option("--token", envvar="STORESTACK_TOKEN", help="API token", show_envvar=True)
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def cli_config_path() -> Path:
    """``STORESTACK_CLI_CONFIG`` if set, else ``~/.config/storestack/cli.json``."""
    explicit = os.environ.get("STORESTACK_CLI_CONFIG")
    return Path(explicit or "~/.config/storestack/cli.json").expanduser()


def read_cli_config() -> dict[str, str]:
    path = cli_config_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: str(v) for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def write_cli_config(url: str, token: str) -> Path:
    """Write the CLI config (URL + token) with mode 600."""
    path = cli_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token}, handle, indent=2)
        handle.write("\n")
    path.chmod(0o600)
    return path


def client_for(url: str | None, token: str | None) -> ApiClient:
    config = read_cli_config()
    resolved_url = url or config.get("url") or Settings().resolved_public_url()
    resolved_token = token or config.get("token")
    if not resolved_token:
        err.print(
            "error: no API token; pass --token, set STORESTACK_TOKEN, or run `storestack serve` once "
            f"(it writes {cli_config_path()})"
        )
        raise typer.Exit(2)
    return ApiClient(resolved_url, resolved_token)


def fail(exc: ClientError) -> typer.Exit:
    err.print(f"error: {exc.code}: {exc.message}", markup=False, highlight=False)
    return typer.Exit(1)


def print_json(value: Any) -> None:
    out.print_json(json.dumps(value))


def wait_for(
    client: ApiClient, name: str, *, want: str, timeout: float, interval: float = 0.5
) -> dict[str, Any]:
    """Poll the store with a progress bar until it is ``want`` (or failed, or the timeout)."""
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.fields[status]:>12}"), BarColumn(), TextColumn("{task.description}"))
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=False) as bar:
        task = bar.add_task("", total=None, status="")
        while True:
            store = client.get_store(name)
            progress = store["progress"]
            bar.update(
                task,
                total=progress["total"] or None,
                completed=progress["done"],
                description=progress["step"][:60],
                status=store["status"],
            )
            if store["status"] == want or store["status"] in TERMINAL:
                return store
            if time.monotonic() > deadline:
                err.print(f"error: timed out after {timeout:.0f}s; the store is {store['status']}")
                raise typer.Exit(1)
            time.sleep(interval)


def report(store: dict[str, Any], want: str) -> None:
    if store["status"] == want:
        if want == "ready":
            out.print(f"{store['name']} is ready: {store['url']} (admin: {store['admin_url']})", markup=False)
        else:
            out.print(f"{store['name']} is {want}", markup=False)
        return
    error = store.get("last_error") or {}
    err.print(
        f"error: {store['name']} is {store['status']}: {error.get('code', '?')}: {error.get('message', '')}",
        markup=False,
    )
    raise typer.Exit(1)
