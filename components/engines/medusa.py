"""The MedusaJS engine: the Medusa server (Deployment + Service) and its setup Job, on PostgreSQL.

Registered as ``"medusa"`` in ``components.engines``; ``components.store.Store`` creates the PostgreSQL
database (``components.database.POSTGRES``) and calls ``MedusaEngine.deploy``. The image is the
project's own Medusa application (``images/recipes/medusa``), whose entrypoint ``storestack-medusa``
has two commands:

- ``setup`` (the Job): waits for PostgreSQL, runs Medusa's migrations, seeds what a shop needs to sell
  (region and currency, sales channel, publishable API key, stock location, shipping option, the
  system payment provider, the sample product with stock) and makes sure the admin user exists with
  the Secret's password. Every step checks first, so a re-run changes nothing.
- ``start`` (the Deployment): one server process on port 9000; ``/health`` for the probes, the admin
  dashboard at ``/app``, the Store API under ``/store``.

The server is created after the Job completed: it needs the migrated schema, and an upgrade (a new
image, whose pod template annotation replaces the Job) then migrates before the new server starts.
No Redis: Medusa's event bus, workflow engine, locks and sessions run in the server's process, which
fits one server per store (in-flight workflows and admin cookie sessions do not survive a restart;
API tokens do). Both pods run as 1000:1000 with every capability dropped and a read-only root
filesystem (``/tmp`` is an emptyDir), so the namespace can enforce Pod Security ``restricted``; the
files the admin uploads (product images) go to the ``medusa-uploads`` PVC at ``/app/static``, which
the server serves at ``/static``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pulumi
import pulumi_kubernetes as k8s

from components.common import (
    ROLE_SETUP,
    ROLE_WEB,
    child_opts,
    data_claim,
    inherited_depends_on,
    object_labels,
    part_opts,
    plain_env,
    pod_security_context,
    pvc_volume,
    secret_env,
    selector_labels,
    web_service,
)
from components.database import POSTGRES, POSTGRES_PASSWORD_KEY
from components.engines.base import AppArgs, AppSettings, AppWorkload, service_address
from components.setup_job import DEADLINE_SECONDS, REPLACE_UNREADY

APP = "medusa"
SETUP_APP = "medusa-setup"
PORT = 9000
HEALTH_PATH = "/health"
ADMIN_PATH = "/app"
UPLOADS_PVC_NAME = "medusa-uploads"
UPLOADS_PATH = "/app/static"
"""Where Medusa's file-local provider writes uploads (product images) and serves them (``/static``)."""
MEDUSA_UID = 1000
"""uid/gid the image's files are readable by and the pods run as."""

ADMIN_PASSWORD_KEY = "medusa-admin-password"  # noqa: S105 - a name, not a value
JWT_SECRET_KEY = "medusa-jwt-secret"  # noqa: S105 - a name, not a value
COOKIE_SECRET_KEY = "medusa-cookie-secret"  # noqa: S105 - a name, not a value

SECRET_KEYS: Mapping[str, str] = MappingProxyType(
    {
        POSTGRES_PASSWORD_KEY: "mysql_password",
        ADMIN_PASSWORD_KEY: "admin_password",
        JWT_SECRET_KEY: "auth_key",
        COOKIE_SECRET_KEY: "secure_auth_key",
    }
)
"""A Medusa store's Secret: its key -> the ``CredentialValues`` field it holds. The credentials every
store gets are reused under Medusa's names: the application database password, the admin password,
and two of the 64-character random keys as the JWT and cookie secrets."""

IMAGE_ROLES = ("medusa",)
"""``AppSettings.images`` keys this engine needs."""
RESOURCE_ROLES = ("medusa", "setup")
"""``AppSettings.resources`` keys this engine needs."""
IMAGE_ANNOTATION = "storestack.io/medusa-image"


def server_env(args: AppArgs) -> list[k8s.core.v1.EnvVarArgs]:
    """What both the server and the setup Job read (the image's ``medusa-config``): the database's
    parts (the image composes the URL, escaping the password), the signing secrets, the public URL."""
    db = args.database
    secret = args.secret_name
    return [
        plain_env("MEDUSA_DATABASE_HOST", db.host),
        plain_env("MEDUSA_DATABASE_PORT", str(db.port)),
        plain_env("MEDUSA_DATABASE_NAME", db.database_name),
        plain_env("MEDUSA_DATABASE_USER", db.user),
        secret_env("MEDUSA_DATABASE_PASSWORD", secret_name=secret, key=db.password_key),
        secret_env("JWT_SECRET", secret_name=secret, key=JWT_SECRET_KEY),
        secret_env("COOKIE_SECRET", secret_name=secret, key=COOKIE_SECRET_KEY),
        plain_env("MEDUSA_STORE_URL", args.url),
    ]


def setup_env(args: AppArgs) -> list[k8s.core.v1.EnvVarArgs]:
    """The setup Job's own inputs: the admin, and the shop to seed (country without its state)."""
    shop = args.shop
    return [
        plain_env("MEDUSA_ADMIN_EMAIL", args.admin_email),
        secret_env("MEDUSA_ADMIN_PASSWORD", secret_name=args.secret_name, key=args.admin_password_key),
        plain_env("MEDUSA_SHOP_TITLE", args.title),
        plain_env("MEDUSA_COUNTRY", shop.country.split(":", 1)[0]),
        plain_env("MEDUSA_CURRENCY", shop.currency),
        plain_env("MEDUSA_SAMPLE_PRODUCT", "true" if shop.sample_product else "false"),
    ]


def _container_security() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        privileged=False,
        run_as_non_root=True,
        read_only_root_filesystem=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    )


def _tmp() -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    return (
        k8s.core.v1.VolumeArgs(
            name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="256Mi")
        ),
        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),  # noqa: S108 - the pod's own emptyDir
    )


def _pod_spec(
    args: AppArgs,
    container: k8s.core.v1.ContainerArgs,
    *volumes: k8s.core.v1.VolumeArgs,
    **extra: object,
) -> k8s.core.v1.PodSpecArgs:
    volume, _ = _tmp()
    return k8s.core.v1.PodSpecArgs(
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=pod_security_context(run_as_user=MEDUSA_UID, fs_group=MEDUSA_UID),
        node_selector=args.scheduling.node_selector_k8s(),
        tolerations=args.scheduling.tolerations_k8s(),
        containers=[container],
        volumes=[volume, *volumes],
        **extra,  # type: ignore[arg-type]
    )


def _http_probe(*, period: int, failures: int) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=HEALTH_PATH, port="http"),
        period_seconds=period,
        timeout_seconds=5,
        failure_threshold=failures,
    )


class Medusa(AppWorkload):
    """A MedusaJS workload: the setup Job, then the server."""

    setup: k8s.batch.v1.Job | None
    """The setup Job (None when ``AppSettings.run_setup`` is false)."""
    deployment: k8s.apps.v1.Deployment
    """The server."""

    def __init__(self, name: str, args: AppArgs, *, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("storestack:index:Medusa", name, None, part_opts(opts))
        MedusaEngine().validate(args.settings)
        inherited = inherited_depends_on(opts)
        settings = args.settings
        image = settings.images["medusa"]
        env = server_env(args)
        self.setup = self._setup(name, args, env, inherited) if settings.run_setup else None

        labels = object_labels(args.store_name, app=APP, role=ROLE_WEB)
        selector = selector_labels(args.store_name, APP)
        _, tmp_mount = _tmp()
        data_claim(
            f"{name}-uploads",
            parent=self,
            inherited=inherited,
            claim_name=UPLOADS_PVC_NAME,
            namespace=args.namespace,
            labels=labels,
            storage_class=args.storage_class,
            size=settings.storage_size,
        )
        container = k8s.core.v1.ContainerArgs(
            name="medusa",
            image=image,
            image_pull_policy="IfNotPresent",
            args=["start"],
            env=env,
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT)],
            volume_mounts=[tmp_mount, k8s.core.v1.VolumeMountArgs(name="uploads", mount_path=UPLOADS_PATH)],
            resources=settings.resources["medusa"].to_k8s(),
            security_context=_container_security(),
            # The port opens once every module has loaded (5-10 s; longer on a busy node).
            startup_probe=_http_probe(period=3, failures=100),
            liveness_probe=_http_probe(period=20, failures=3),
            readiness_probe=_http_probe(period=5, failures=3),
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=0 if args.suspended else 1,
                # One server at a time: the in-process locks and workflow engine are per process.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=_pod_spec(
                        args,
                        container,
                        pvc_volume("uploads", UPLOADS_PVC_NAME),
                        termination_grace_period_seconds=30,
                    ),
                ),
            ),
            opts=child_opts(self, inherited, depends_on=[self.setup] if self.setup is not None else ()),
        )
        service = web_service(
            f"{name}-service",
            parent=self,
            inherited=(),
            service_name=APP,
            namespace=args.namespace,
            labels=labels,
            selector=selector,
            port=PORT,
        )
        self.deployment = deployment
        self.service_name = service.metadata.name
        self.service_port = PORT
        self.service_address = service_address(service, PORT)
        self.register_outputs({"service_name": self.service_name, "deployment": deployment.metadata.name})

    def _setup(
        self, name: str, args: AppArgs, env: list[k8s.core.v1.EnvVarArgs], inherited: list[pulumi.Resource]
    ) -> k8s.batch.v1.Job:
        settings = args.settings
        image = settings.images["medusa"]
        labels = object_labels(args.store_name, app=SETUP_APP, role=ROLE_SETUP)
        _, tmp_mount = _tmp()
        container = k8s.core.v1.ContainerArgs(
            name="setup",
            image=image,
            image_pull_policy="IfNotPresent",
            args=["setup"],
            env=[*env, *setup_env(args)],
            volume_mounts=[tmp_mount],
            resources=settings.resources["setup"].to_k8s(),
            security_context=_container_security(),
        )
        timeout = f"{DEADLINE_SECONDS + 300}s"
        # Beside PostgreSQL, not after its await: the script waits for the database itself. A new
        # image changes the pod template (its annotation), which replaces the Job: the migrations of
        # the new version run before the server is rolled. replaceUnready re-runs a failed Job.
        return k8s.batch.v1.Job(
            f"{name}-setup",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SETUP_APP, namespace=args.namespace, labels=labels, annotations={REPLACE_UNREADY: "true"}
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=settings.setup_retries,
                active_deadline_seconds=DEADLINE_SECONDS,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={IMAGE_ANNOTATION: image}),
                    spec=_pod_spec(args, container, restart_policy="Never"),
                ),
            ),
            opts=child_opts(
                self, inherited, custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)
            ),
        )


class MedusaEngine:
    """The ``medusa`` engine."""

    name = "medusa"
    web_port = PORT
    admin_path = f"{ADMIN_PATH}/"
    database = POSTGRES
    secret_keys = SECRET_KEYS
    admin_password_key = ADMIN_PASSWORD_KEY

    def admin_login(self, *, admin_user: str, admin_email: str) -> str:
        return admin_email  # Medusa's admin signs in with an e-mail address

    def validate(self, settings: AppSettings) -> None:
        missing = [f"images.{r}" for r in IMAGE_ROLES if r not in settings.images]
        missing += [f"resources.{r}" for r in RESOURCE_ROLES if r not in settings.resources]
        if missing:
            raise ValueError(f"engine 'medusa' needs app settings {', '.join(missing)}")

    def deploy(self, name: str, args: AppArgs, *, opts: pulumi.ResourceOptions | None = None) -> AppWorkload:
        return Medusa(name, args, opts=opts)
