"""WordPress (official Apache image): its files PVC, a one-replica Deployment, a ClusterIP Service, and
the ConfigMap that sizes Apache and PHP (``tuning_conf``: workers from the memory limit, uploads).

An image bump upgrades WordPress for real: the pod's ``sync-core`` init container copies the image's
core over the volume's when their versions differ (``SYNC_CORE``; wp-content is kept), and core
auto-updates are off (``WP_AUTO_UPDATE_CORE``), so the version on the volume is the image's.

Created by the WooCommerce engine (``components.engines.woocommerce``). ``wordpress_env`` is shared
with the setup job: the official image's ``wp-config.php`` reads the database settings and the salts
from the environment at run time, so WP-CLI needs exactly the same variables.

The pod runs as www-data (33:33), non-root with every capability dropped; Apache still listens on
port 80 because the pod sets the namespaced, "safe" sysctl ``net.ipv4.ip_unprivileged_port_start=0``.
The volume is ReadWriteOnce, so the Deployment uses the ``Recreate`` strategy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common import (
    ROLE_WEB,
    Resources,
    Scheduling,
    WebTuning,
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
    web_service,
)
from components.credentials import WORDPRESS_SALTS, salt_key
from components.database import DatabaseConnection
from components.mail import MU_PLUGIN_DIR, MailRelay, StoreMail

APP = "wordpress"
DEPLOYMENT_NAME = "wordpress"
SERVICE_NAME = "wordpress"
PVC_NAME = "wordpress-data"
PORT = 80
DOCROOT = "/var/www/html"
WWW_DATA = 33
"""uid/gid of www-data in the Debian-based WordPress image (the CLI image's Alpine www-data is 82)."""
READINESS_PATH = "/wp-login.php"
TUNING_CONFIGMAP = "wordpress-tuning"
TUNING_FILE = "zz-storestack-tuning.conf"
TUNING_PATH = f"/etc/apache2/conf-enabled/{TUNING_FILE}"
"""Debian's and the official image's Apache read ``conf-enabled/*.conf`` after the MPM's own file."""

TUNING_HASH = "storestack.io/tuning-sha256"

_URL_RE = re.compile(r"^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def config_extra(url: str) -> str:
    """``WORDPRESS_CONFIG_EXTRA``: pin WP_HOME and WP_SITEURL to the store's public URL; run
    scheduled work from the store's CronJob, not from page views (``components.cron``); keep core
    at the image's version (an image bump is the upgrade path); no PHP editor in the admin."""
    if not _URL_RE.fullmatch(url):
        raise ValueError(f"store URL {url!r} must be scheme://host without a path or quotes")
    return (
        f"define('WP_HOME', '{url}');\ndefine('WP_SITEURL', '{url}');\n"
        "define('DISABLE_WP_CRON', true);\n"
        "define('WP_AUTO_UPDATE_CORE', false);\n"
        "define('DISALLOW_FILE_EDIT', true);\n"
        f"define('WPMU_PLUGIN_DIR', '{MU_PLUGIN_DIR}');\n"
    )


def tuning_conf(tuning: WebTuning) -> str:
    """An Apache config file (read after the image's own, so it wins): at most ``max_workers``
    requests at once, and PHP's memory and upload limits (mod_php reads ``php_value`` here)."""
    workers = max(2, tuning.max_workers)
    return (
        "# Storestack: sized from the WordPress container's memory limit (see the environment's web:).\n"
        "<IfModule mpm_prefork_module>\n"
        f"    StartServers {min(2, workers)}\n"
        "    MinSpareServers 1\n"
        f"    MaxSpareServers {max(2, workers // 2)}\n"
        f"    MaxRequestWorkers {workers}\n"
        "    MaxConnectionsPerChild 500\n"
        "</IfModule>\n"
        "<IfModule php_module>\n"
        f"    php_value memory_limit {tuning.php_memory_limit}\n"
        f"    php_value upload_max_filesize {tuning.upload_max_size}\n"
        f"    php_value post_max_size {tuning.upload_max_size}\n"
        "</IfModule>\n"
    )


SYNC_CORE = r"""set -eu
# Storestack: bring WordPress core on the volume to the image's version (the official entrypoint
# copies core only into an empty docroot, so an image bump would otherwise upgrade nothing).
src=${CORE_SOURCE:-/usr/src/wordpress} dst=${CORE_TARGET:-/var/www/html}
[ -e "$dst/wp-includes/version.php" ] || exit 0  # a new volume: the entrypoint copies core itself
version() { sed -n "s/^\$wp_version = '\(.*\)';/\1/p" "$1/wp-includes/version.php"; }
new=$(version "$src") old=$(version "$dst")
if [ -z "$new" ] || [ "$new" = "$old" ]; then exit 0; fi
echo "[storestack-core] WordPress $old -> $new: updating core on the volume (wp-content kept)"
# Entry by entry, never "." itself: the volume's root belongs to root (0777) on local-path and
# hostpath, and a tar run as www-data that touches its mode or times fails.
cd "$src"
set --
for entry in * .[!.]*; do
  case "$entry" in
    wp-content | wp-config.php | .htaccess) ;;
    *) if [ -e "$entry" ]; then set -- "$@" "$entry"; fi ;;
  esac
done
tar -cf - "$@" | tar -C "$dst" --no-overwrite-dir -xf -
# The database follows: the setup job's `wp core update-db`, or WordPress's own upgrade page.
echo "[storestack-core] core is now $(version "$dst")"
"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def wordpress_env(
    *, secret_name: pulumi.Input[str], database: DatabaseConnection, url: str
) -> list[k8s.core.v1.EnvVarArgs]:
    """The official image's configuration: database, the eight salts (from the Secret), WP_HOME."""
    env = [
        plain_env("WORDPRESS_DB_HOST", database.host),
        plain_env("WORDPRESS_DB_NAME", database.database_name),
        plain_env("WORDPRESS_DB_USER", database.user),
        secret_env("WORDPRESS_DB_PASSWORD", secret_name=secret_name, key=database.password_key),
    ]
    env += [
        secret_env(f"WORDPRESS_{salt}", secret_name=secret_name, key=salt_key(salt))
        for salt in WORDPRESS_SALTS
    ]
    env.append(plain_env("WORDPRESS_CONFIG_EXTRA", config_extra(url)))
    return env


@dataclass(frozen=True, kw_only=True)
class WordPressArgs:
    """Inputs of ``WordPress``."""

    namespace: pulumi.Input[str]
    """The store namespace."""
    store_name: str
    """The store's name (labels)."""
    url: str
    """The store's public base URL, ``scheme://host`` (becomes WP_HOME/WP_SITEURL)."""
    secret_name: pulumi.Input[str]
    """The store Secret (database password, salts)."""
    database: DatabaseConnection
    """How to reach MySQL."""
    image: str
    """Official WordPress Apache image, pinned."""
    storage_class: str
    """StorageClass of the files PVC."""
    storage_size: str
    """Size of the files PVC (``/var/www/html``)."""
    resources: Resources
    """Requests/limits of the WordPress container."""
    scheduling: Scheduling = field(default_factory=Scheduling)
    """Node selector and tolerations."""
    tuning: WebTuning = field(default_factory=WebTuning)
    """Apache/PHP sizing (a ConfigMap mounted into Apache's conf-enabled)."""
    mail: MailRelay | None = None
    """The SMTP relay outgoing mail goes through (``components.mail``); None: no mail leaves."""
    suspended: bool = False
    """Suspended: no pod runs (replicas 0), the volumes stay."""


class WordPress(pulumi.ComponentResource):
    """WordPress: PVC + Deployment + Service."""

    service_name: pulumi.Output[str]
    """The ClusterIP Service in front of WordPress (port 80)."""
    port: int
    """The Service port (80)."""
    pvc_name: pulumi.Output[str]
    """The files PVC (the setup job mounts it too)."""
    deployment_name: pulumi.Output[str]
    """The Deployment's name."""
    pod_labels: dict[str, str]
    """Labels selecting the WordPress pod (the setup job's pod affinity uses them)."""
    env: list[k8s.core.v1.EnvVarArgs]
    """The container env (for the setup job, which must see the same configuration)."""

    def __init__(self, name: str, args: WordPressArgs, *, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("storestack:index:WordPress", name, None, part_opts(opts))
        inherited = inherited_depends_on(opts)
        labels = object_labels(args.store_name, app=APP, role=ROLE_WEB)
        selector = selector_labels(args.store_name, APP)
        self.env = wordpress_env(secret_name=args.secret_name, database=args.database, url=args.url)

        pvc = data_claim(
            f"{name}-pvc",
            parent=self,
            inherited=inherited,
            claim_name=PVC_NAME,
            namespace=args.namespace,
            labels=labels,
            storage_class=args.storage_class,
            size=args.storage_size,
        )

        tuning_text = tuning_conf(args.tuning)
        tuning = k8s.core.v1.ConfigMap(
            f"{name}-tuning",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=TUNING_CONFIGMAP, namespace=args.namespace, labels=labels
            ),
            data={TUNING_FILE: tuning_text},
            opts=child_opts(self),  # not a pod: made beside the guardrails
        )
        mail = StoreMail(
            name,
            parent=self,
            inherited=[],
            namespace=args.namespace,
            store_name=args.store_name,
            relay=args.mail,
        )
        container = k8s.core.v1.ContainerArgs(
            name="wordpress",
            image=args.image,
            image_pull_policy="IfNotPresent",
            env=[*self.env, *mail.env],
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT)],
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="html", mount_path=DOCROOT),
                k8s.core.v1.VolumeMountArgs(
                    name="tuning", mount_path=TUNING_PATH, sub_path=TUNING_FILE, read_only=True
                ),
                mail.mount,
            ],
            resources=args.resources.to_k8s(),
            security_context=container_security_context(non_root=True),
            # First start copies WordPress into the volume: allow it 5 minutes before liveness applies.
            startup_probe=k8s.core.v1.ProbeArgs(
                tcp_socket=k8s.core.v1.TCPSocketActionArgs(port="http"),
                period_seconds=5,
                timeout_seconds=3,
                failure_threshold=60,
            ),
            liveness_probe=k8s.core.v1.ProbeArgs(
                tcp_socket=k8s.core.v1.TCPSocketActionArgs(port="http"),
                period_seconds=20,
                timeout_seconds=5,
                failure_threshold=3,
            ),
            # No host header: WordPress answers 200 or a redirect (both count as ready) once the database
            # answers, and 500 before.
            readiness_probe=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path=READINESS_PATH, port="http"),
                period_seconds=10,
                timeout_seconds=5,
                failure_threshold=6,
            ),
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=DEPLOYMENT_NAME, namespace=args.namespace, labels=labels
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=0 if args.suspended else 1,
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    # A subPath mount never sees ConfigMap updates: a changed file rolls the pod.
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels, annotations={TUNING_HASH: _digest(tuning_text)}
                    ),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,
                        enable_service_links=False,
                        security_context=pod_security_context(
                            run_as_user=WWW_DATA,
                            fs_group=WWW_DATA,
                            sysctls={"net.ipv4.ip_unprivileged_port_start": "0"},
                        ),
                        node_selector=args.scheduling.node_selector_k8s(),
                        tolerations=args.scheduling.tolerations_k8s(),
                        init_containers=[
                            k8s.core.v1.ContainerArgs(
                                name="sync-core",
                                image=args.image,
                                image_pull_policy="IfNotPresent",
                                command=["sh", "-c", SYNC_CORE],
                                volume_mounts=[k8s.core.v1.VolumeMountArgs(name="html", mount_path=DOCROOT)],
                                resources=args.resources.to_k8s(),
                                security_context=container_security_context(non_root=True),
                            )
                        ],
                        containers=[container],
                        volumes=[
                            pvc_volume("html", PVC_NAME),
                            k8s.core.v1.VolumeArgs(
                                name="tuning",
                                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=tuning.metadata.name),
                            ),
                            mail.volume,
                        ],
                    ),
                ),
            ),
            opts=child_opts(self, inherited),
        )
        service = web_service(
            f"{name}-service",
            parent=self,
            inherited=(),
            service_name=SERVICE_NAME,
            namespace=args.namespace,
            labels=labels,
            selector=selector,
            port=PORT,
        )

        self.service_name = service.metadata.name
        self.service = service
        self.port = PORT
        self.pvc_name = pvc.metadata.name
        self.deployment_name = deployment.metadata.name
        self.pod_labels = selector
        self.deployment = deployment
        self.register_outputs(
            {"service_name": self.service_name, "deployment": self.deployment_name, "pvc": self.pvc_name}
        )
