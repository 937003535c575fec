"""The engine seam: what a store engine (WooCommerce, MedusaJS) receives and returns.

``components.store.Store`` builds the shared parts (namespace, guardrails, credentials, database),
then asks the engine named in ``StoreArgs.engine`` to ``deploy`` the app workload, and routes the
Ingress to the ``AppWorkload``'s Service. An engine is any object satisfying ``Engine``; the registry
in ``components.engines`` maps names to engines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.common import CronSettings, Resources, Scheduling, ShopSettings, WebTuning
from components.database import DatabaseConnection, DatabaseKind
from components.mail import MailRelay


@dataclass(frozen=True, kw_only=True)
class AppSettings:
    """What an environment decides about the app workload (engine-specific keys)."""

    version: str
    """The app version the engine installs (for WooCommerce: the plugin version)."""
    images: Mapping[str, str]
    """Pinned images by role (WooCommerce: ``wordpress``, ``wordpress_cli``)."""
    resources: Mapping[str, Resources]
    """Requests/limits by container (WooCommerce: ``wordpress``, ``setup``)."""
    storage_size: str
    """Size of the app's files PVC (WordPress: its docroot; Medusa: the admin's uploads)."""
    run_setup: bool = True
    """Whether the engine runs its one-off setup (WooCommerce: the WP-CLI setup Job). False leaves
    the app as its image starts it (WooCommerce: WordPress + MySQL, no WooCommerce)."""
    setup_retries: int = 4
    """How often a failed setup pod is started again before the setup fails."""
    web: WebTuning = field(default_factory=WebTuning)
    """Web-server sizing and upload limit."""
    cron: CronSettings | None = field(default_factory=CronSettings)
    """The scheduled-work runner (None: the engine's own, if any)."""
    mail: MailRelay | None = None
    """The SMTP relay the app sends mail through (None: no mail leaves the store)."""


@dataclass(frozen=True, kw_only=True)
class AppArgs:
    """Everything an engine gets to deploy its workload."""

    namespace: pulumi.Input[str]
    """The store namespace."""
    store_name: str
    """The store's name."""
    url: str
    """The public base URL, ``scheme://host`` (no trailing slash)."""
    title: str
    """The shop's title."""
    admin_user: str
    """The administrator's login."""
    admin_email: str
    """The administrator's e-mail."""
    secret_name: pulumi.Input[str]
    """The store Secret."""
    admin_password_key: str
    """Secret key of the administrator's password."""
    database: DatabaseConnection
    """How to reach the shared database."""
    database_resources: Sequence[pulumi.Resource]
    """The database part, for an engine whose setup cannot wait for the database itself (the
    WooCommerce setup Job can: it does not depend on these)."""
    settings: AppSettings
    """Images, version, resources, PVC size."""
    shop: ShopSettings
    """Base location, currency, sample product."""
    storage_class: str
    """StorageClass of the app's PVCs."""
    scheduling: Scheduling = field(default_factory=Scheduling)
    """Node selector and tolerations."""
    suspended: bool = False
    """Suspended: the workload runs no pod, its volumes stay."""


class AppWorkload(pulumi.ComponentResource):
    """Base of an engine's component: what the Store needs back from it."""

    service_name: pulumi.Output[str]
    """The web Service the Ingress routes to."""
    service_port: int
    """Its port."""
    service_address: pulumi.Output[str]
    """``cluster-ip:port`` of that Service (checks from inside the cluster network)."""


def service_address(service: k8s.core.v1.Service, port: int) -> pulumi.Output[str]:
    """``cluster-ip:port`` of ``service``, once the API server has given it an address."""
    return service.spec.apply(lambda spec: f"{spec.cluster_ip}:{port}" if spec and spec.cluster_ip else "")


class Engine(Protocol):
    """A store engine: contributes the app workload on top of the shared parts."""

    @property
    def name(self) -> str:
        """The registry name, e.g. ``woocommerce``."""
        ...

    @property
    def web_port(self) -> int:
        """The port the web pods listen on (NetworkPolicies allow the ingress controller to it)."""
        ...

    @property
    def admin_path(self) -> str:
        """Path of the admin UI, e.g. ``/wp-admin/``."""
        ...

    @property
    def database(self) -> DatabaseKind:
        """The database server the Store creates for it (``components.database.MYSQL``, ``POSTGRES``)."""
        ...

    @property
    def secret_keys(self) -> Mapping[str, str]:
        """The store Secret's layout: its key -> the ``CredentialValues`` field it holds."""
        ...

    @property
    def admin_password_key(self) -> str:
        """The Secret key of the administrator's password."""
        ...

    def admin_login(self, *, admin_user: str, admin_email: str) -> str:
        """What the administrator logs in with (WordPress: the user name; Medusa: the e-mail)."""
        ...

    def validate(self, settings: AppSettings) -> None:
        """Raise ``ValueError`` if ``settings`` lacks what this engine needs (before anything is created)."""
        ...

    def deploy(self, name: str, args: AppArgs, *, opts: pulumi.ResourceOptions | None = None) -> AppWorkload:
        """Declare the workload as a component named ``name``."""
        ...
