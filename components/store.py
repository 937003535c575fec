"""``Store``: one isolated store (WooCommerce or MedusaJS), composed of the parts in this package.

The top-level component of a store's Pulumi stack (``stacks.program`` declares one per stack); usable
from any Pulumi program. Order of creation (each step depends on the previous ones):

1. ``StoreNamespace``: ``store-<name>`` with Pod Security labels;
2. ``Guardrails`` (quota, limit range, network policies) and ``StoreCredentials`` (the Secret);
3. ``Database`` (the engine's kind: MySQL for WooCommerce, PostgreSQL for Medusa);
4. the engine's app workload (WooCommerce: WordPress, then the setup Job after WordPress and MySQL,
   unless ``AppSettings.run_setup`` is false; Medusa: the server and its setup Job);
5. ``StoreIngress``, after the app workload (its setup included), so nobody reaches a store that
   is not installed yet.

``StoreArgs`` carries already-decided values: the mapping from an environment and a store spec lives in
``stacks.program``, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from components.common import Scheduling, ShopSettings
from components.credentials import CredentialValues, StoreCredentials, StoreCredentialsArgs
from components.database import Database, DatabaseArgs, DatabaseSettings
from components.engines import get_engine
from components.engines.base import AppArgs, AppSettings
from components.guardrails import (
    EgressSettings,
    Guardrails,
    GuardrailsArgs,
    LimitRangeSettings,
    NetworkSettings,
    QuotaSettings,
)
from components.ingress import HOST_RE, IngressSettings, StoreIngress, StoreIngressArgs
from components.namespace import PodSecuritySettings, StoreNamespace, StoreNamespaceArgs

STORE_NAME_RE = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")


@dataclass(frozen=True, kw_only=True)
class StoreArgs:
    """Inputs of ``Store``: everything already decided (see ``stacks.program`` for the mapping)."""

    store_name: str
    """DNS label (≤ 40 chars); the namespace is ``store-<name>``."""
    host: str
    """Public host name, normally ``<name>.<domain>``: WordPress's WP_HOME."""
    extra_hosts: tuple[str, ...] = ()
    """More host names the Ingress serves (custom domains); WordPress redirects them to ``host``."""
    scheme: Literal["http", "https"]
    """URL scheme of the store's public URL."""
    title: str
    """The shop's title."""
    admin_email: str
    """The administrator's e-mail."""
    credentials: CredentialValues
    """Generated passwords and salts (Pulumi secrets, read from stack config)."""
    database: DatabaseSettings
    """The database's image, PVC size and resources (MySQL or PostgreSQL: the engine's kind)."""
    app: AppSettings
    """The engine's images, version, resources and PVC size."""
    shop: ShopSettings
    """Base location, currency, sample product."""
    storage_class: str
    """StorageClass of every PVC."""
    ingress: IngressSettings
    """Ingress class, controller selector, TLS issuer, await behaviour."""
    quota: QuotaSettings
    """The namespace ResourceQuota."""
    limit_range: LimitRangeSettings
    """The namespace LimitRange."""
    egress: EgressSettings
    """DNS and internet egress (the ingress-controller selector comes from ``ingress``)."""
    pod_security: PodSecuritySettings = field(default_factory=PodSecuritySettings)
    """Pod Security Admission levels."""
    scheduling: Scheduling = field(default_factory=Scheduling)
    """Node selector and tolerations of every pod."""
    engine: str = "woocommerce"
    """The store engine (a key of ``components.engines.ENGINES``)."""
    admin_user: str = "admin"
    """The administrator's login."""
    suspended: bool = False
    """Suspended: every workload scaled to zero (no pod runs); volumes, Secret and Ingress stay."""

    def __post_init__(self) -> None:
        if not STORE_NAME_RE.fullmatch(self.store_name) or "--" in self.store_name:
            raise ValueError(f"store name {self.store_name!r} is not a DNS label of at most 40 characters")
        if not HOST_RE.fullmatch(self.host):
            raise ValueError(f"host {self.host!r} is not a lowercase DNS name")
        if self.scheme not in ("http", "https"):
            raise ValueError(f"scheme {self.scheme!r} must be 'http' or 'https'")

    @property
    def base_url(self) -> str:
        """``scheme://host`` (no trailing slash): WordPress's WP_HOME."""
        return f"{self.scheme}://{self.host}"


class Store(pulumi.ComponentResource):
    """One isolated store: namespace, guardrails, credentials, database, app workload, ingress."""

    namespace: pulumi.Output[str]
    """The store's namespace."""
    url: pulumi.Output[str]
    """The storefront URL (with a trailing slash)."""
    admin_url: pulumi.Output[str]
    """The admin UI URL."""
    admin_user: pulumi.Output[str]
    """The administrator's login."""
    admin_password: pulumi.Output[str]
    """The administrator's password (a Pulumi secret)."""
    web_address: pulumi.Output[str]
    """``cluster-ip:port`` of the app's web Service."""

    def __init__(self, name: str, args: StoreArgs, *, opts: pulumi.ResourceOptions | None = None) -> None:
        # Fail on a bad engine or settings before anything is registered.
        engine = get_engine(args.engine)
        engine.validate(args.app)
        super().__init__("storestack:index:Store", name, None, opts)
        store = args.store_name

        namespace = StoreNamespace(
            f"{name}-ns",
            StoreNamespaceArgs(store_name=store, pod_security=args.pod_security),
            opts=pulumi.ResourceOptions(parent=self),
        )
        network = NetworkSettings(
            egress=args.egress,
            ingress_namespace_labels=args.ingress.controller_namespace_labels,
            ingress_pod_labels=args.ingress.controller_pod_labels,
            acme_http01=args.ingress.tls_issuer is not None,
        )
        guardrails = Guardrails(
            f"{name}-guardrails",
            GuardrailsArgs(
                namespace=namespace.name,
                store_name=store,
                quota=args.quota,
                limit_range=args.limit_range,
                network=network,
                web_port=engine.web_port,
                database_port=engine.database.port,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        credentials = StoreCredentials(
            f"{name}-credentials",
            StoreCredentialsArgs(
                namespace=namespace.name, store_name=store, values=args.credentials, keys=engine.secret_keys
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Workloads (every pod) start only once the quota, limit range and network policies are in
        # place; their ConfigMaps and Services are made beside those (``part_opts``).
        database = Database(
            f"{name}-database",
            DatabaseArgs(
                namespace=namespace.name,
                store_name=store,
                secret_name=credentials.secret_name,
                settings=args.database,
                kind=engine.database,
                storage_class=args.storage_class,
                scheduling=args.scheduling,
                suspended=args.suspended,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[guardrails, credentials]),
        )
        app = engine.deploy(
            f"{name}-{engine.name}",
            AppArgs(
                namespace=namespace.name,
                store_name=store,
                url=args.base_url,
                title=args.title,
                admin_user=args.admin_user,
                admin_email=args.admin_email,
                secret_name=credentials.secret_name,
                admin_password_key=engine.admin_password_key,
                database=database.connection,
                database_resources=[database],
                settings=args.app,
                shop=args.shop,
                storage_class=args.storage_class,
                scheduling=args.scheduling,
                suspended=args.suspended,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[guardrails, credentials]),
        )
        StoreIngress(
            f"{name}-ingress",
            StoreIngressArgs(
                namespace=namespace.name,
                store_name=store,
                host=args.host,
                extra_hosts=args.extra_hosts,
                service_name=app.service_name,
                service_port=app.service_port,
                settings=args.ingress,
            ),
            # Only once the app is set up (WooCommerce: its setup Job completed): a store reachable
            # before `wp core install` could be installed by whoever gets there first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[guardrails, app]),
        )

        self.namespace = namespace.name
        self.url = pulumi.Output.from_input(f"{args.base_url}/")
        self.admin_url = pulumi.Output.from_input(f"{args.base_url}{engine.admin_path}")
        self.admin_user = pulumi.Output.from_input(
            engine.admin_login(admin_user=args.admin_user, admin_email=args.admin_email)
        )
        self.admin_password = credentials.admin_password
        self.web_address = app.service_address
        self.register_outputs(
            {
                "namespace": self.namespace,
                "url": self.url,
                "admin_url": self.admin_url,
                "admin_user": self.admin_user,
                "admin_password": self.admin_password,
                "web_address": self.web_address,
            }
        )
