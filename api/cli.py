"""The ``storestack`` command: run the control plane and talk to it.

Server side (read ``Settings`` from the environment, touch the database directly):
``serve`` (API + reconciler; on a fresh data dir makes an admin token, prints a login URL once and
writes the CLI config), ``worker`` (the reconciler alone), ``token create|list|revoke``
(``api.cli_tokens``). Client side, the store commands of ``api.cli_stores`` (``create``, ``list``,
``update``, ``suspend``, ``drift`` and the rest), talking to the API with the URL and token from
``--url/--token``, ``STORESTACK_URL/STORESTACK_TOKEN`` or the CLI config file
(``api.cli_common``); ``revision`` and ``rollout`` (``api.cli_rollouts``). ``cluster up|down|status``
drive ``toolchain.cluster.SimCluster`` in ``<data_dir>/cluster``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli_backups import backup_app
from api.cli_common import err, out, write_cli_config
from api.cli_images import images_app
from api.cli_rollouts import revision_app, rollout_app
from api.cli_stores import stores_app
from api.cli_tokens import engine as _engine
from api.cli_tokens import token_app
from api.settings import PASSPHRASE_FILE, Settings
from stacks.errors import FleetError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from api.fleet import FleetProtocol

app = typer.Typer(
    name="storestack",
    help="Storestack: isolated WooCommerce stores on Kubernetes, one Pulumi stack per store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cluster_app = typer.Typer(help="The simulated Kubernetes cluster.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(cluster_app, name="cluster")
app.add_typer(revision_app, name="revision")
app.add_typer(rollout_app, name="rollout")
app.add_typer(images_app, name="images")
app.add_typer(backup_app, name="backup")
app.add_typer(stores_app)  # create, list, get, ... at the top level

# -- configuration ----------------------------------------------------------------------------


def _configure_logging() -> None:
    from api.logs import configure

    configure()


@app.command("env")
def env_command() -> None:
    """Print shell exports that point the `pulumi` CLI at the fleet: eval "$(storestack env)"."""
    import shlex

    from stacks.runtime import pulumi_env

    settings = Settings()
    config = settings.fleet_config()
    values = pulumi_env(config, include_passphrase=False)
    if settings.pulumi_passphrase is None:
        values["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(settings.data_dir.resolve() / PASSPHRASE_FILE)
    else:
        values["PULUMI_CONFIG_PASSPHRASE"] = settings.pulumi_passphrase.get_secret_value()
    for key, value in values.items():
        out.print(f"export {key}={shlex.quote(value)}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def demo(name: Annotated[str, typer.Argument(help="store name")] = "demo") -> None:
    """Provision one store through the Fleet, then destroy it, printing engine progress and times."""

    from stacks.fleet import Fleet
    from stacks.types import Progress as FleetProgress
    from stacks.types import StoreSpec

    def show(progress: FleetProgress) -> None:
        out.print(f"  [{progress.operation} {progress.done}/{progress.total}] {progress.step}", markup=False)

    settings = Settings()
    try:
        fleet = Fleet(settings.fleet_config())
        started = time.monotonic()
        out.print(f"up: store '{name}' in environment '{fleet.environment.name}'", markup=False)
        info = fleet.up(StoreSpec(name=name), on_progress=show)
        out.print(f"ready in {time.monotonic() - started:.1f}s: {info.url} (namespace {info.namespace})")
        started = time.monotonic()
        fleet.destroy(name, on_progress=show)
        out.print(f"destroyed in {time.monotonic() - started:.1f}s; stacks left: {len(fleet.list())}")
    except FleetError as exc:
        err.print(f"error: {exc.code}: {exc.message}", markup=False)
        raise typer.Exit(1) from None


def _secure(settings: Settings) -> None:
    from api.private import FilesTooOpenError, secure_data_dir

    try:
        secure_data_dir(settings)
    except FilesTooOpenError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None


def _process_ledger(settings: Settings) -> Any:
    """Stop engine processes a killed predecessor left on this host, then record our own."""
    from stacks.processes import ProcessLedger

    ledger = ProcessLedger(settings.data_dir / "processes")
    ledger.reap_leftovers()
    ledger.start()
    return ledger


def _real_fleet(settings: Settings, engine: Engine) -> FleetProtocol:
    """The fleet, its stack configs shared through the database (``api.replicas``): the passphrase
    checked against the fleet's, and a single-host data dir's configs imported first."""
    from api.replicas import DatabaseStackConfigs, ReplicaConfigError, check_passphrase, import_local_configs
    from stacks import Fleet

    try:
        check_passphrase(engine, settings)
        config = settings.fleet_config()
        import_local_configs(engine, config.project_dir)
        fleet: FleetProtocol = Fleet(config, configs=DatabaseStackConfigs(engine))
    except ReplicaConfigError as exc:
        err.print(f"error: cannot join the fleet: {exc}", markup=False)
        raise typer.Exit(1) from None
    except FleetError as exc:
        err.print(f"error: cannot start the fleet: {exc.message}", markup=False)
        raise typer.Exit(1) from None
    return fleet


# -- server side ------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (STORESTACK_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (STORESTACK_PORT)")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="run the reconciler too")] = True,
) -> None:
    """Run the API (and the reconciler) with uvicorn."""
    import uvicorn

    from api.app import create_app
    from api.auth import create_token, has_admin_token
    from api.logs import LOGGING
    from api.models import Role

    overrides: dict[str, Any] = {"run_reconciler": worker}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = Settings(**overrides)
    _configure_logging()
    _secure(settings)
    ledger = _process_ledger(settings)
    engine = _engine(settings)
    fleet = _real_fleet(settings, engine)
    if not has_admin_token(engine):
        token = create_token(engine, owner="admin", role=Role.ADMIN)
        public = settings.resolved_public_url()
        path = write_cli_config(public, token)
        out.print(
            "\n[bold]Storestack is starting for the first time.[/bold] An admin token was made; "
            "it is shown only this once:\n"
        )
        out.print(f"    {public}/#token={token}\n", markup=False, highlight=False, soft_wrap=True)
        out.print(f"The CLI will use it from {path}.\n", markup=False)
    api = create_app(settings, fleet, engine=engine)
    uvicorn.run(
        api,
        host=settings.host,
        port=settings.port,
        log_config=LOGGING,
        # Open event streams would otherwise hold a Ctrl-C forever.
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_seconds)),
    )
    ledger.stop()


@app.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="serve this worker's Prometheus metrics on this port")
    ] = None,
) -> None:
    """Run the reconciler alone (more workers may share the database)."""
    from api.metrics import Metrics
    from api.reconciler import Reconciler

    settings = Settings()
    _configure_logging()
    _secure(settings)
    ledger = _process_ledger(settings)
    engine = _engine(settings)
    fleet = _real_fleet(settings, engine)
    metrics = Metrics(engine)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=settings.host, registry=metrics.registry)
    reconciler = Reconciler(engine=engine, fleet=fleet, settings=settings, metrics=metrics)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    reconciler.start()
    out.print(f"worker {reconciler.worker_id} running; Ctrl-C stops it", markup=False)
    stop.wait()
    reconciler.stop()
    ledger.stop()


# -- client side ------------------------------------------------------------------------------


# -- the simulated cluster (toolchain.cluster) --------------------------------------------------


def _sim_cluster(settings: Settings) -> Any:
    """The simulated cluster of this data dir (``<data_dir>/cluster``), built from the tool cache."""
    from toolchain.cluster import SimCluster

    return SimCluster(tools_dir=settings.tools_dir.resolve(), cluster_dir=settings.cluster_dir())


def _cluster_call(action: Callable[[], Any]) -> Any:
    from toolchain.cluster import ClusterError

    try:
        return action()
    except ClusterError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


@cluster_app.command("up")
def cluster_up(
    nodes: Annotated[int, typer.Option(help="simulated nodes")] = 3,
    real_node: Annotated[
        bool,
        typer.Option(
            "--real-node",
            help="also start one real node (containerd, kubelet) where store pods really run; root",
        ),
    ] = False,
) -> None:
    """Start the simulated cluster (its kubeconfig is what `serve` uses in the sim environment)."""
    cluster = _sim_cluster(Settings())
    status = _cluster_call(
        lambda: cluster.up(nodes=nodes, real_node=real_node, log=lambda line: out.print(line, markup=False))
    )
    out.print(status.describe(), markup=False)


@cluster_app.command("down")
def cluster_down() -> None:
    """Stop the simulated cluster and remove its state."""
    cluster = _sim_cluster(Settings())
    _cluster_call(lambda: cluster.down(log=lambda line: out.print(line, markup=False)))


@cluster_app.command("status")
def cluster_status() -> None:
    """Whether the simulated cluster runs, where, and which of its processes died; exit 1 unless
    all run."""
    status = _cluster_call(_sim_cluster(Settings()).status)
    out.print(status.describe(), markup=False)
    if not status.healthy:
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``storestack`` script: every failure ends in one ``error: ...`` line on
    stderr and a non-zero exit (2 for bad usage), never a traceback unless STORESTACK_DEBUG is set."""
    import sys

    from pydantic import ValidationError

    try:
        code = app(args=argv, standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors (bad option, missing argument...)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if message:  # (no message: a bare `storestack`, which printed the help)
            err.print(f"error: {message}{hint}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except typer.Abort:
        err.print("error: aborted", markup=False)
        sys.exit(130)
    except ValidationError as exc:  # a setting from the environment or an option is out of range
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        env = f"STORESTACK_{name.upper()}"
        err.print(f"error: setting {name} ({env}): {first['msg']}", markup=False, highlight=False)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("STORESTACK_DEBUG"):
            raise
        err.print(
            f"error: unexpected {type(exc).__name__}; run again with STORESTACK_DEBUG=1 for the traceback",
            markup=False,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
