"""The inline Pulumi program of one store's stack, and the credentials it expects in stack config.

``stacks.credentials`` generates the credentials once (``generate_credentials``) and stores them as
one secret config value (``storestack:credentials``); ``stacks.fleet`` runs ``store_program(spec,
env)`` as the inline program (on a store's first up with ``pending_credentials``). This module is
the one place that maps an ``Environment`` and a ``StoreSpec`` onto ``components.StoreArgs``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import secrets
import string
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components import (
    AppSettings,
    Compute,
    CredentialValues,
    CronSettings,
    DatabaseSettings,
    EgressSettings,
    IngressSettings,
    LimitRangeSettings,
    MailRelay,
    PodSecuritySettings,
    QuotaSettings,
    Resources,
    Scheduling,
    ShopSettings,
    Store,
    StoreArgs,
    Toleration,
    WebTuning,
)
from components.setup_job import DEADLINE_SECONDS as SETUP_DEADLINE_SECONDS
from environments import Environment
from environments.fields import byte_count
from environments.sizing import Compute as EnvCompute
from environments.sizing import ContainerResources, QuotaConfig
from stacks.types import StoreSpec

# The API groups of the Kubernetes SDK the components use, each with a class it defines. The SDK
# loads them lazily (``pulumi._utils.lazy_import``), which is not thread-safe: the first attribute
# access executes the module, and a second thread reading it meanwhile finds it half-made (two
# stores' programs starting together saw "module 'pulumi_kubernetes.core.v1' has no attribute
# 'Namespace'"). Introspection such as ``dir()`` does not trigger the load, so ``preload_sdk``
# reads a real class of each group once, before any program runs in a thread.
SDK_GROUPS = {
    "core.v1": "Namespace",
    "apps.v1": "Deployment",
    "batch.v1": "Job",
    "meta.v1": "ObjectMetaArgs",
    "networking.v1": "NetworkPolicyPeerArgs",
}


def preload_sdk() -> None:
    """Load every SDK module the store program uses (``stacks.Fleet`` calls it at construction)."""
    for group, name in SDK_GROUPS.items():
        module: object = k8s
        for part in group.split("."):
            module = getattr(module, part)
        getattr(module, name)
    getattr(k8s, "Provider")  # noqa: B009 - the top-level module is lazy too


CONFIG_NAMESPACE = "storestack"
"""Pulumi config namespace of the credentials (``storestack:<key>``)."""

CREDENTIAL_KEYS: tuple[str, ...] = CredentialValues.field_names()
"""The generated credentials, one per ``components.CredentialValues`` field."""

CREDENTIALS_KEY = "credentials"
"""The one secret config key (``storestack:credentials``) holding every credential as a JSON object:
stored with one ``pulumi config set --secret``, not eleven. Stores made before it have one key per
credential (``storestack:<key>``); ``read_credentials`` reads either."""

PASSWORD_KEYS = frozenset({"mysql_root_password", "mysql_password", "admin_password"})
PASSWORD_LENGTH = 32
SALT_LENGTH = 64
ADMIN_USER = "admin"
# Letters and digits only: safe in shell (probes use -p"$MYSQL_ROOT_PASSWORD"), URLs, YAML and PHP.
_ALPHABET = string.ascii_letters + string.digits


def _random(length: int) -> str:
    while True:
        value = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        # Guarantee a mix (some password policies want it); almost never loops.
        if (
            any(c.islower() for c in value)
            and any(c.isupper() for c in value)
            and any(c.isdigit() for c in value)
        ):
            return value


def generate_credentials() -> dict[str, str]:
    """Fresh random values for every key of ``CREDENTIAL_KEYS`` (passwords 32 chars, salts 64)."""
    return {key: _random(PASSWORD_LENGTH if key in PASSWORD_KEYS else SALT_LENGTH) for key in CREDENTIAL_KEYS}


def _compute(value: EnvCompute) -> Compute:
    return Compute(cpu=value.cpu, memory=value.memory)


def _resources(value: ContainerResources) -> Resources:
    return Resources(requests=_compute(value.requests), limits=_compute(value.limits))


def _mebibytes(quantity: str) -> int:
    return int(byte_count(quantity) // 2**20)


def web_tuning(env: Environment) -> WebTuning:
    """Apache's workers from the WordPress container's memory limit (less 64Mi for Apache and the
    opcache, divided by the environment's per-worker memory, at least 2), and PHP's limits."""
    spare = _mebibytes(env.resources.wordpress.limits.memory) - 64
    return WebTuning(
        max_workers=max(2, spare // max(1, _mebibytes(env.web.worker_memory))),
        php_memory_limit=f"{_mebibytes(env.web.php_memory_limit)}M",
        upload_max_size=f"{_mebibytes(env.web.upload_max_size)}M",
    )


def mail_relay(env: Environment) -> MailRelay | None:
    """The environment's relay, its password read from the control plane's environment variable
    (as a Pulumi secret). A variable that is named but unset is an error naming it."""
    mail = env.mail
    if mail is None:
        return None
    password: pulumi.Output[str] | None = None
    if mail.password_env is not None:
        value = os.environ.get(mail.password_env)
        if not value:
            raise ValueError(
                f"mail.password_env names {mail.password_env}, which is not set in the control plane's "
                "environment: set it to the SMTP password"
            )
        password = pulumi.Output.secret(value)
    return MailRelay(
        host=mail.host,
        port=mail.port,
        security=mail.security,
        user=mail.user,
        password=password,
        from_address=mail.from_address,
    )


NGINX_BODY_SIZE = "nginx.ingress.kubernetes.io/proxy-body-size"


def ingress_annotations(env: Environment) -> dict[str, str]:
    """The environment's Ingress annotations; for ingress-nginx (whose default body limit is 1m)
    also the upload limit, unless the environment sets its own. Traefik sets no body limit."""
    annotations = dict(env.ingress.annotations)
    if env.ingress.class_name == "nginx":
        annotations.setdefault(NGINX_BODY_SIZE, f"{_mebibytes(env.web.upload_max_size)}m")
    return annotations


def buffer_pool_size(env: Environment) -> str:
    """InnoDB's buffer pool: a quarter of the MySQL container's memory limit, at least 32M."""
    return f"{max(32, _mebibytes(env.resources.mysql.limits.memory) // 4)}M"


WORKLOAD_AWAIT_SECONDS = 600
"""pulumi-kubernetes' default await of a Deployment or StatefulSet (10 minutes)."""


def up_budget_seconds(env: Environment) -> int:
    """How long one healthy ``up`` of a new store may take in ``env`` before an await gives up: the
    workloads' awaits, the setup Job's (its deadline + 300 s) and the storefront check, in series."""
    setup = SETUP_DEADLINE_SECONDS + 300 if env.woocommerce_setup else 0
    check = env.readiness.timeout_seconds if env.readiness.http_check else 0
    return WORKLOAD_AWAIT_SECONDS + setup + check


def _quota(quota: QuotaConfig) -> QuotaSettings:
    return QuotaSettings(
        requests_cpu=quota.requests_cpu,
        requests_memory=quota.requests_memory,
        limits_cpu=quota.limits_cpu,
        limits_memory=quota.limits_memory,
        pods=quota.pods,
        persistentvolumeclaims=quota.persistentvolumeclaims,
        requests_storage=quota.requests_storage,
    )


def _woocommerce_parts(env: Environment) -> tuple[DatabaseSettings, AppSettings, QuotaSettings]:
    database = DatabaseSettings(
        image=env.images.mysql,
        storage_size=env.storage.mysql_size,
        resources=_resources(env.resources.mysql),
        buffer_pool_size=buffer_pool_size(env),
    )
    app = AppSettings(
        version=env.woocommerce_version,
        images={"wordpress": env.images.wordpress, "wordpress_cli": env.images.wordpress_cli},
        resources={
            "wordpress": _resources(env.resources.wordpress),
            "setup": _resources(env.resources.setup),
        },
        storage_size=env.storage.wordpress_size,
        run_setup=env.woocommerce_setup,
        setup_retries=env.setup_retries,
        web=web_tuning(env),
        mail=mail_relay(env),
        cron=CronSettings(
            schedule=env.cron.schedule,
            resources=Resources(
                requests=Compute(cpu=env.cron.cpu, memory=env.cron.memory),
                limits=Compute(cpu=env.cron.cpu, memory=env.cron.memory),
            ),
        ),
    )
    return database, app, _quota(env.quota)


MEDUSA_DATABASE = "medusa"
"""The Medusa store's PostgreSQL database and user."""


def _medusa_parts(env: Environment) -> tuple[DatabaseSettings, AppSettings, QuotaSettings]:
    medusa = env.medusa
    if medusa is None:
        raise ValueError(
            f"environment '{env.name}' does not offer engine 'medusa' (it has no medusa: section)"
        )
    database = DatabaseSettings(
        image=medusa.images.postgres,
        storage_size=medusa.postgres_size,
        resources=_resources(medusa.resources.postgres),
        database_name=MEDUSA_DATABASE,
        user=MEDUSA_DATABASE,
    )
    app = AppSettings(
        version=medusa.images.server.rsplit(":", 1)[-1],
        images={"medusa": medusa.images.server},
        resources={
            "medusa": _resources(medusa.resources.server),
            "setup": _resources(medusa.resources.setup),
        },
        storage_size=medusa.uploads_size,
        setup_retries=env.setup_retries,
        cron=None,
    )
    return database, app, _quota(medusa.quota)


def store_args(spec: StoreSpec, env: Environment, credentials: CredentialValues) -> StoreArgs:
    """Map an environment and a store spec (plus credentials) onto the ``Store`` component's args; the
    store's size plan, if it has one, replaces the environment's resources and quota."""
    env.check_store(spec.engine, spec.plan)
    env = env.with_plan(spec.plan)
    net = env.network_policy
    parts = _medusa_parts if spec.engine == "medusa" else _woocommerce_parts
    database, app, quota = parts(env)
    return StoreArgs(
        store_name=spec.name,
        engine=spec.engine,
        host=env.host(spec.name),
        extra_hosts=spec.domains,
        scheme=env.scheme,
        title=spec.display_title,
        admin_email=spec.admin_email,
        admin_user=ADMIN_USER,
        suspended=spec.suspended,
        credentials=credentials,
        database=database,
        app=app,
        shop=ShopSettings(
            country=env.store_defaults.country,
            currency=env.store_defaults.currency,
            address=env.store_defaults.address,
            city=env.store_defaults.city,
            postcode=env.store_defaults.postcode,
        ),
        storage_class=env.storage.class_name,
        ingress=IngressSettings(
            class_name=env.ingress.class_name,
            controller_namespace_labels=dict(env.ingress.controller_namespace_labels),
            controller_pod_labels=dict(env.ingress.controller_pod_labels),
            tls_issuer=env.ingress.tls_issuer,
            await_ready=env.ingress.await_ready,
            annotations=ingress_annotations(env),
        ),
        quota=quota,
        limit_range=LimitRangeSettings(
            default_request=_compute(env.limit_range.default_request),
            default=_compute(env.limit_range.default),
            max_pvc_storage=env.limit_range.max_pvc_storage,
        ),
        egress=EgressSettings(
            dns_namespace_labels=dict(net.dns_namespace_labels),
            internet_cidrs=tuple(net.internet_egress.cidrs),
            internet_except_cidrs=tuple(net.internet_egress.except_cidrs),
            internet_ports=tuple(net.internet_egress.ports),
            internet_for_web=net.internet_egress.for_wordpress,
            smtp_cidrs=tuple(env.mail.egress_cidrs) if env.mail else (),
            smtp_port=env.mail.port if env.mail else None,
        ),
        pod_security=PodSecuritySettings(
            enforce=env.pod_security.enforce, warn=env.pod_security.warn, audit=env.pod_security.audit
        ),
        scheduling=Scheduling(
            node_selector=dict(env.scheduling.node_selector),
            tolerations=tuple(
                Toleration(key=t.key, operator=t.operator, value=t.value, effect=t.effect)
                for t in env.scheduling.tolerations
            ),
        ),
    )


def read_credentials(config: pulumi.Config) -> CredentialValues:
    """Every credential from stack config, as Pulumi secrets (``require_secret``: missing is an error)."""
    blob = config.get_secret(CREDENTIALS_KEY)
    if blob is None:
        return CredentialValues(**{key: config.require_secret(key) for key in CREDENTIAL_KEYS})
    parsed = blob.apply(json.loads)

    def field(key: str) -> pulumi.Output[str]:
        return parsed.apply(lambda values: str(values[key]))

    return CredentialValues(**{key: field(key) for key in CREDENTIAL_KEYS})


def pending_credentials(
    values: Mapping[str, str], stored: concurrent.futures.Future[None]
) -> CredentialValues:
    """``values`` as Pulumi secrets that resolve only once ``stored`` has (their ``config set``,
    ``stacks.credentials``): whatever holds one, the store's Secret, waits for it, and fails if
    storing failed. Call inside the program (the values are awaited on its event loop)."""

    async def value(key: str) -> str:
        await asyncio.wrap_future(stored)
        return values[key]

    def secret(key: str) -> pulumi.Output[str]:
        awaited: Awaitable[str] = value(key)
        return pulumi.Output.secret(awaited)

    return CredentialValues(**{key: secret(key) for key in CREDENTIAL_KEYS})


def credentials_stored(keys: set[str]) -> bool:
    """Whether stack config keys ``keys`` hold every credential, in either layout."""
    if f"{CONFIG_NAMESPACE}:{CREDENTIALS_KEY}" in keys:
        return True
    return all(f"{CONFIG_NAMESPACE}:{key}" in keys for key in CREDENTIAL_KEYS)


def store_program(
    spec: StoreSpec,
    env: Environment,
    *,
    render_to: Path | None = None,
    credentials: Callable[[], CredentialValues] | None = None,
) -> Callable[[], None]:
    """The inline Pulumi program for ``spec`` in ``env``: declares the ``Store`` and exports its outputs.

    The credentials come from stack config, or from ``credentials`` (called inside the program)
    on a store's first up, while they are being stored (``pending_credentials``).

    With ``render_to``, every Kubernetes object goes through a provider that writes YAML manifests to
    that directory instead of applying them (no cluster is contacted, nothing is awaited). Those
    manifests include the store Secret, i.e. the credentials, base64-encoded.
    """

    def program() -> None:
        values = (
            credentials() if credentials is not None else read_credentials(pulumi.Config(CONFIG_NAMESPACE))
        )
        opts = None
        if render_to is not None:
            renderer = k8s.Provider(f"{spec.name}-render", render_yaml_to_directory=str(render_to))
            opts = pulumi.ResourceOptions(providers=[renderer])
        store = Store(spec.name, store_args(spec, env, values), opts=opts)
        pulumi.export("namespace", store.namespace)
        pulumi.export("url", store.url)
        pulumi.export("admin_url", store.admin_url)
        pulumi.export("admin_user", store.admin_user)
        pulumi.export("web_address", store.web_address)
        pulumi.export("admin_password", pulumi.Output.secret(store.admin_password))

    return program
