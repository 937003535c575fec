"""The WooCommerce engine: WordPress (Deployment + PVC + Service), the WooCommerce setup Job and the
WP-Cron CronJob (``components.cron``).

Registered as ``"woocommerce"`` in ``components.engines``; ``components.store.Store`` calls
``WooCommerceEngine.deploy`` after the database. The setup Job is created beside WordPress and MySQL
and waits for them in its script (``components.setup_job``): each starts as early as it can. With
``AppSettings.run_setup`` false (the environment's ``woocommerce_setup``) there is no setup ConfigMap
or Job: the store is WordPress + MySQL.
"""

from __future__ import annotations

import pulumi

from components.common import inherited_depends_on, part_opts
from components.credentials import ADMIN_PASSWORD_KEY, WOOCOMMERCE_KEYS
from components.cron import StoreCron, StoreCronArgs
from components.database import MYSQL
from components.engines.base import AppArgs, AppSettings, AppWorkload, service_address
from components.setup_job import ShopDetails, WooCommerceSetup, WooCommerceSetupArgs
from components.wordpress import PORT, WordPress, WordPressArgs
from components.wordpress import PVC_NAME as WORDPRESS_PVC

IMAGE_ROLES = ("wordpress", "wordpress_cli")
"""``AppSettings.images`` keys this engine needs."""
RESOURCE_ROLES = ("wordpress", "setup")
"""``AppSettings.resources`` keys this engine needs."""
SETUP_ROLES = frozenset({"wordpress_cli", "setup"})
"""The keys above only the setup Job uses (not needed when ``run_setup`` is false)."""


class WooCommerce(AppWorkload):
    """A WordPress + WooCommerce workload."""

    wordpress: WordPress
    """The WordPress part."""
    setup: WooCommerceSetup | None
    """The setup Job part (None when ``AppSettings.run_setup`` is false)."""
    cron: StoreCron | None
    """The scheduled-work CronJob (None when ``AppSettings.cron`` is None)."""

    def __init__(self, name: str, args: AppArgs, *, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("storestack:index:WooCommerce", name, None, part_opts(opts))
        WooCommerceEngine().validate(args.settings)
        inherited = inherited_depends_on(opts)
        settings = args.settings
        self.wordpress = WordPress(
            f"{name}-wordpress",
            WordPressArgs(
                namespace=args.namespace,
                store_name=args.store_name,
                url=args.url,
                secret_name=args.secret_name,
                database=args.database,
                image=settings.images["wordpress"],
                storage_class=args.storage_class,
                storage_size=settings.storage_size,
                resources=settings.resources["wordpress"],
                scheduling=args.scheduling,
                tuning=settings.web,
                mail=settings.mail,
                suspended=args.suspended,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=inherited or None),
        )
        self.setup = self._setup(name, args, inherited) if settings.run_setup else None
        self.cron = None
        if settings.cron is not None:
            self.cron = StoreCron(
                f"{name}-cron",
                StoreCronArgs(
                    namespace=args.namespace,
                    store_name=args.store_name,
                    host=args.url.split("://", 1)[1],
                    service_name=self.wordpress.service_name,
                    service_port=PORT,
                    image=settings.images["wordpress"],
                    settings=settings.cron,
                    scheduling=args.scheduling,
                    suspended=args.suspended,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=inherited or None),
            )
        self.service_name = self.wordpress.service_name
        self.service_port = PORT
        self.service_address = service_address(self.wordpress.service, PORT)
        self.register_outputs({"service_name": self.service_name})

    def _setup(self, name: str, args: AppArgs, inherited: list[pulumi.Resource]) -> WooCommerceSetup:
        settings = args.settings
        shop = args.shop
        return WooCommerceSetup(
            f"{name}-setup",
            WooCommerceSetupArgs(
                namespace=args.namespace,
                store_name=args.store_name,
                url=args.url,
                image=settings.images["wordpress_cli"],
                woocommerce_version=settings.version,
                shop=ShopDetails(
                    title=args.title,
                    admin_user=args.admin_user,
                    admin_email=args.admin_email,
                    settings=shop,
                ),
                secret_name=args.secret_name,
                admin_password_key=args.admin_password_key,
                wordpress_env=self.wordpress.env,
                wordpress_pvc_name=WORDPRESS_PVC,
                wordpress_pod_labels=self.wordpress.pod_labels,
                wordpress_image=settings.images["wordpress"],
                resources=settings.resources["setup"],
                scheduling=args.scheduling,
                backoff_limit=settings.setup_retries,
            ),
            # Not after WordPress's and MySQL's awaits: the script waits for wp-config.php and the
            # database itself, so the Job's pod starts beside theirs (1 s less per store on the
            # simulated cluster; on a real one its image is pulled meanwhile).
            opts=pulumi.ResourceOptions(parent=self, depends_on=inherited or None),
        )


class WooCommerceEngine:
    """The ``woocommerce`` engine."""

    name = "woocommerce"
    web_port = PORT
    admin_path = "/wp-admin/"
    database = MYSQL
    secret_keys = WOOCOMMERCE_KEYS
    admin_password_key = ADMIN_PASSWORD_KEY

    def admin_login(self, *, admin_user: str, admin_email: str) -> str:
        return admin_user

    def validate(self, settings: AppSettings) -> None:
        skip = frozenset() if settings.run_setup else SETUP_ROLES
        missing = [f"images.{r}" for r in IMAGE_ROLES if r not in skip and r not in settings.images]
        missing += [f"resources.{r}" for r in RESOURCE_ROLES if r not in skip and r not in settings.resources]
        if missing:
            raise ValueError(f"engine 'woocommerce' needs app settings {', '.join(missing)}")

    def deploy(self, name: str, args: AppArgs, *, opts: pulumi.ResourceOptions | None = None) -> AppWorkload:
        return WooCommerce(name, args, opts=opts)
