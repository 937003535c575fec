"""The store database: a one-replica StatefulSet, its data PVC and a headless Service.

MySQL for WooCommerce (``MYSQL``), PostgreSQL for Medusa (``POSTGRES``): the engine names its
``DatabaseKind`` and ``components.store.Store`` creates the database before the app workload. The PVC
is an explicit Pulumi resource rather than a ``volumeClaimTemplate``, so destroying the stack deletes the
data volume too (claims from templates outlive their StatefulSet). The data lives in a subPath of the
volume (``mysql``, ``postgres``), so a filesystem's ``lost+found`` never confuses the initialisation.
Both images (official or stand-in) start as root to own the data directory and drop to their own user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common import (
    ROLE_DATABASE,
    SERVICE_AWAIT_SKIPPED,
    Resources,
    Scheduling,
    child_opts,
    container_security_context,
    data_claim,
    inherited_depends_on,
    object_labels,
    part_opts,
    plain_env,
    pod_security_context,
    pvc_volume,
    secret_env,
    selector_labels,
)
from components.credentials import MYSQL_PASSWORD_KEY, MYSQL_ROOT_PASSWORD_KEY

APP = "mysql"
SERVICE_NAME = "mysql"
STATEFULSET_NAME = "mysql"
PVC_NAME = "mysql-data"
PORT = 3306
POSTGRES_PORT = 5432
POSTGRES_PVC_NAME = "postgres-data"
POSTGRES_PASSWORD_KEY = "postgres-password"  # noqa: S105 - a name, not a value

# The password reaches the client through MYSQL_PWD, set from the container's env (the Secret):
# never in the probe text, and never in a process's argv, where `ps` on the node would show it.
PING = 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysqladmin ping --silent -h 127.0.0.1 -uroot'
SELECT_1 = 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -h 127.0.0.1 -uroot -e "SELECT 1" >/dev/null'

# The official entrypoint starts as root to own the data directory, then drops to the mysql user
# (gosu): these are the capabilities that needs; everything else is dropped.
MYSQL_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """What an environment decides about the database."""

    image: str
    """The database image, pinned, e.g. ``mysql:8.4.7`` or ``postgres:17.6``."""
    storage_size: str
    """Size of the data PVC, e.g. ``2Gi``."""
    resources: Resources
    """Requests/limits of the database container."""
    database_name: str = "wordpress"
    """The application database (created on first boot: ``MYSQL_DATABASE``, ``POSTGRES_DB``)."""
    user: str = "wordpress"
    """The application user (created on first boot: ``MYSQL_USER``, ``POSTGRES_USER``)."""
    buffer_pool_size: str | None = None
    """``innodb_buffer_pool_size`` (MySQL shorthand, ``128M``); None keeps the image's default."""


@dataclass(frozen=True, kw_only=True)
class DatabaseKind:
    """What differs between the database servers a store may have."""

    app: str
    """``app.kubernetes.io/name`` and the StatefulSet, Service and container name."""
    port: int
    """The server's TCP port."""
    pvc_name: str
    """The data PVC."""
    mount_path: str
    """Where the data volume is mounted (its ``app`` subPath)."""
    password_key: str
    """The Secret key of the application user's password."""
    env: Callable[[pulumi.Input[str], DatabaseSettings], list[k8s.core.v1.EnvVarArgs]]
    """The container env from the Secret's name and the settings."""
    args: Callable[[DatabaseSettings], list[str]]
    """The server's options."""
    ping: str
    """Shell command: the server answers (startup and liveness probes)."""
    query: str
    """Shell command: the server runs a query (readiness probe)."""


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of ``Database``."""

    namespace: pulumi.Input[str]
    """The store namespace."""
    store_name: str
    """The store's name (labels)."""
    secret_name: pulumi.Input[str]
    """The store Secret holding the database passwords."""
    settings: DatabaseSettings
    """Image, size, resources, database and user names."""
    kind: DatabaseKind = field(default_factory=lambda: MYSQL)
    """The server: ``MYSQL`` or ``POSTGRES``."""
    storage_class: str
    """StorageClass of the data PVC."""
    scheduling: Scheduling = field(default_factory=Scheduling)
    """Node selector and tolerations."""
    suspended: bool = False
    """Suspended: no pod runs (replicas 0), the volumes stay."""


@dataclass(frozen=True, kw_only=True)
class DatabaseConnection:
    """How an app reaches the database (handed to engines)."""

    host: pulumi.Output[str]
    """The Service name (resolvable inside the namespace)."""
    port: int
    """TCP port."""
    database_name: str
    """The application database."""
    user: str
    """The application user; its password is the Secret key ``password_key``."""
    password_key: str
    """Secret key of the application user's password."""


class Database(pulumi.ComponentResource):
    """The database: PVC + headless Service + StatefulSet."""

    host: pulumi.Output[str]
    """The headless Service's name: the database host inside the namespace."""
    port: int
    """The server's port (MySQL 3306, PostgreSQL 5432)."""
    connection: DatabaseConnection
    """Everything an app needs to connect."""

    def __init__(self, name: str, args: DatabaseArgs, *, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("storestack:index:Database", name, None, part_opts(opts))
        inherited = inherited_depends_on(opts)
        settings = args.settings
        kind = args.kind
        labels = object_labels(args.store_name, app=kind.app, role=ROLE_DATABASE)
        selector = selector_labels(args.store_name, kind.app)

        data_claim(
            f"{name}-pvc",
            parent=self,
            inherited=inherited,
            claim_name=kind.pvc_name,
            namespace=args.namespace,
            labels=labels,
            storage_class=args.storage_class,
            size=settings.storage_size,
        )

        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=kind.app, namespace=args.namespace, labels=labels, annotations=SERVICE_AWAIT_SKIPPED
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip="None",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name=kind.app, port=kind.port, target_port=kind.app)],
            ),
            opts=child_opts(self),  # not a pod: made beside the guardrails
        )

        container = k8s.core.v1.ContainerArgs(
            name=kind.app,
            image=settings.image,
            image_pull_policy="IfNotPresent",
            args=kind.args(settings),
            env=kind.env(args.secret_name, settings),
            ports=[k8s.core.v1.ContainerPortArgs(name=kind.app, container_port=kind.port)],
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="data", mount_path=kind.mount_path, sub_path=kind.app)
            ],
            resources=settings.resources.to_k8s(),
            security_context=container_security_context(non_root=False, add_capabilities=MYSQL_CAPABILITIES),
            startup_probe=_exec_probe(kind.ping, period=5, failures=60),
            liveness_probe=_exec_probe(kind.ping, period=10, failures=6),
            readiness_probe=_exec_probe(kind.query, period=5, failures=3),
        )
        statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=kind.app, namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                replicas=0 if args.suspended else 1,
                service_name=service.metadata.name,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,
                        enable_service_links=False,
                        termination_grace_period_seconds=60,
                        security_context=pod_security_context(),
                        node_selector=args.scheduling.node_selector_k8s(),
                        tolerations=args.scheduling.tolerations_k8s(),
                        containers=[container],
                        volumes=[pvc_volume("data", kind.pvc_name)],
                    ),
                ),
            ),
            opts=child_opts(self, inherited),
        )

        self.host = service.metadata.name
        self.port = kind.port
        self.connection = DatabaseConnection(
            host=self.host,
            port=kind.port,
            database_name=settings.database_name,
            user=settings.user,
            password_key=kind.password_key,
        )
        self.statefulset_name: pulumi.Output[str] = statefulset.metadata.name
        self.register_outputs({"host": self.host, "statefulset": self.statefulset_name})


def server_args(settings: DatabaseSettings) -> list[str]:
    """mysqld options (MySQL 8 and MariaDB alike): no binary log (one instance, no replica; MySQL 8
    keeps 30 days of them by default, on volumes whose size no provisioner enforces), and the
    buffer pool sized from the container's memory."""
    args = ["--skip-log-bin"]
    if settings.buffer_pool_size is not None:
        args.append(f"--innodb-buffer-pool-size={settings.buffer_pool_size}")
    return args


def _mysql_env(secret_name: pulumi.Input[str], settings: DatabaseSettings) -> list[k8s.core.v1.EnvVarArgs]:
    return [
        secret_env("MYSQL_ROOT_PASSWORD", secret_name=secret_name, key=MYSQL_ROOT_PASSWORD_KEY),
        plain_env("MYSQL_DATABASE", settings.database_name),
        plain_env("MYSQL_USER", settings.user),
        secret_env("MYSQL_PASSWORD", secret_name=secret_name, key=MYSQL_PASSWORD_KEY),
    ]


def _postgres_env(secret_name: pulumi.Input[str], settings: DatabaseSettings) -> list[k8s.core.v1.EnvVarArgs]:
    # The application user is the instance's superuser: one application per instance (the official
    # image's POSTGRES_USER), so there is no second password to keep.
    return [
        plain_env("POSTGRES_USER", settings.user),
        plain_env("POSTGRES_DB", settings.database_name),
        secret_env("POSTGRES_PASSWORD", secret_name=secret_name, key=POSTGRES_PASSWORD_KEY),
        plain_env("PGDATA", POSTGRES_DATA),
    ]


POSTGRES_DATA = "/var/lib/postgresql/data"
# pg_isready asks whether the server accepts connections; it needs no password. The readiness probe
# runs a query as the application user, its password from the container's env (PGPASSWORD), never argv.
PG_ISREADY = 'pg_isready -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
PG_SELECT_1 = (
    'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" '
    '-qtAc "SELECT 1" >/dev/null'
)

MYSQL: DatabaseKind = DatabaseKind(
    app=APP,
    port=PORT,
    pvc_name=PVC_NAME,
    mount_path="/var/lib/mysql",
    password_key=MYSQL_PASSWORD_KEY,
    env=_mysql_env,
    args=lambda settings: server_args(settings),
    ping=PING,
    query=SELECT_1,
)
"""MySQL (or MariaDB) for WooCommerce."""

POSTGRES: DatabaseKind = DatabaseKind(
    app="postgres",
    port=POSTGRES_PORT,
    pvc_name=POSTGRES_PVC_NAME,
    mount_path=POSTGRES_DATA,
    password_key=POSTGRES_PASSWORD_KEY,
    env=_postgres_env,
    args=lambda _settings: [],
    ping=PG_ISREADY,
    query=PG_SELECT_1,
)
"""PostgreSQL for Medusa."""


def _exec_probe(command: str, *, period: int, failures: int) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        exec_=k8s.core.v1.ExecActionArgs(command=["sh", "-c", command]),
        period_seconds=period,
        timeout_seconds=5,
        failure_threshold=failures,
    )
