"""The WooCommerce setup Job: WP-CLI installs WordPress and a pinned WooCommerce, then configures the shop.

Created by the WooCommerce engine (``components.engines.woocommerce``) beside the WordPress Deployment
and MySQL, not after their awaits: its script waits for wp-config.php (the WordPress container writes
it) and for the database itself, and its pod follows the WordPress pod onto its node (see below), so
it pulls its image and starts while they start. Pulumi awaits the Job's completion, which is part of a
store being *ready*.

The shell script (``SETUP_SCRIPT``, held in a ConfigMap) is idempotent: every step checks first or
writes a value equal to the current one, so a re-run changes nothing. All inputs reach it as env vars
(the admin password from the Secret), never interpolated into its text. The Job's pod template carries
the script's hash and the WordPress image, so a change to either replaces (re-runs) the Job; the Job's
metadata carries ``pulumi.com/replaceUnready``, so the next ``up`` after a failed run re-runs it too.
The admin password reaches ``wp core install`` on stdin, never in an argv, and that command's stdout
(where WP-CLI echoes it) is discarded, so it is in no pod log.

The pod runs as 33:33 (the WordPress image's www-data; the CLI image's own www-data is 82) with
``HOME=/tmp``, mounts the WordPress volume, and has a required pod affinity to the WordPress pod: the
volume is ReadWriteOnce, so both must share a node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common import (
    ROLE_SETUP,
    Resources,
    Scheduling,
    ShopSettings,
    child_opts,
    container_security_context,
    inherited_depends_on,
    object_labels,
    part_opts,
    plain_env,
    pod_security_context,
    pvc_volume,
    secret_env,
)

APP = "woocommerce-setup"
JOB_NAME = "woocommerce-setup"
CONFIGMAP_NAME = "woocommerce-setup"
SCRIPTS_DIR = "/scripts"
WWW_DATA = 33
SAMPLE_PRODUCT_SLUG = "sample-product"
DEADLINE_SECONDS = 1200
"""The Job's default ``activeDeadlineSeconds``; Pulumi's await of it allows 300 s more."""
REPLACE_UNREADY = "pulumi.com/replaceUnready"
"""Job metadata annotation: the next ``up`` replaces (re-runs) a Job that did not complete."""

WP_CLI_CONFIG = """\
# WP-CLI cannot see Apache's modules; declare mod_rewrite so `wp rewrite flush --hard` keeps .htaccess.
path: /var/www/html
apache_modules:
  - mod_rewrite
"""

SETUP_SCRIPT = r"""#!/bin/sh
# Storestack: set up WordPress + WooCommerce for one store. Idempotent: re-running changes nothing.
# Inputs (env): STORE_URL STORE_TITLE ADMIN_USER ADMIN_EMAIL WP_ADMIN_PASSWORD WOOCOMMERCE_VERSION
#   STORE_COUNTRY STORE_CURRENCY STORE_ADDRESS STORE_CITY STORE_POSTCODE SAMPLE_PRODUCT
#   SAMPLE_PRODUCT_SLUG SETUP_WAIT_SECONDS, and the WORDPRESS_* variables wp-config.php reads.
set -eu

log() { printf '[storestack-setup] %s\n' "$*"; }

wait_for() {  # wait_for <what> <command...>: retry the command every 2 s up to SETUP_WAIT_SECONDS
  what="$1"; shift
  waited=0
  until "$@"; do
    if [ "$waited" -ge "${SETUP_WAIT_SECONDS:-600}" ]; then
      log "gave up waiting for $what after ${waited}s"
      exit 1
    fi
    [ $((waited % 10)) -eq 0 ] && log "waiting for $what"
    sleep 2
    waited=$((waited + 2))
  done
}

wordpress_files() { [ -s wp-config.php ] && [ -s wp-includes/version.php ]; }

database_answers() {
  php -r '
    mysqli_report(MYSQLI_REPORT_OFF);
    $db = @mysqli_connect(getenv("WORDPRESS_DB_HOST"), getenv("WORDPRESS_DB_USER"),
                          getenv("WORDPRESS_DB_PASSWORD"), getenv("WORDPRESS_DB_NAME"));
    exit($db ? 0 : 1);
  '
}

set_option() {  # set_option <name> <value> [--format=json]: a no-op when the value is unchanged
  wp option update "$@" >/dev/null
}

wait_for "wp-config.php (written by the WordPress container)" wordpress_files
wait_for "the database" database_answers

log "core"
if ! wp core is-installed; then
  # The password goes in on stdin (printf is a shell builtin): never in a process's argv. With
  # --prompt, WP-CLI (up to 2.12) echoes the assembled command, password included, to stdout, so
  # this command's stdout is discarded; its errors go to stderr and still reach the log.
  printf '%s\n' "$WP_ADMIN_PASSWORD" | wp core install --url="$STORE_URL" \
    --title="$STORE_TITLE" --admin_user="$ADMIN_USER" --admin_email="$ADMIN_EMAIL" --skip-email \
    --prompt=admin_password >/dev/null
  log "WordPress installed"
fi
wp core update-db >/dev/null
set_option home "$STORE_URL"
set_option siteurl "$STORE_URL"
# The title and the site's administration e-mail follow the store's spec (a PATCH changes them).
set_option blogname "$STORE_TITLE"
set_option admin_email "$ADMIN_EMAIL"

log "permalinks"
if [ "$(wp option get permalink_structure)" != '/%postname%/' ]; then
  wp rewrite structure '/%postname%/'
fi

log "woocommerce $WOOCOMMERCE_VERSION"
if ! wp plugin is-installed woocommerce; then
  wp plugin install woocommerce --version="$WOOCOMMERCE_VERSION"
elif [ "$(wp plugin get woocommerce --field=version)" != "$WOOCOMMERCE_VERSION" ]; then
  # Visitors get WordPress's maintenance page, not half-replaced plugin files; it ends even if the
  # install fails (--force: a crashed earlier run may have left the .maintenance file).
  wp maintenance-mode activate --force >/dev/null
  trap 'wp maintenance-mode deactivate >/dev/null 2>&1 || true' EXIT
  wp plugin install woocommerce --version="$WOOCOMMERCE_VERSION" --force
  wp maintenance-mode deactivate >/dev/null
  trap - EXIT
fi
wp plugin is-active woocommerce || wp plugin activate woocommerce
wp wc update >/dev/null

log "skip onboarding"
profile="$(wp option get woocommerce_onboarding_profile --format=json 2>/dev/null || true)"
case "$profile" in
  *'"skipped":true'* | *'"completed":true'*) ;;
  *) set_option woocommerce_onboarding_profile '{"skipped":true}' --format=json ;;
esac
# WooCommerce keeps hidden task lists in woocommerce_task_list_hidden_lists, a list of list ids; it
# refuses updates of the deprecated woocommerce_(extended_)task_list_hidden options (exit 1).
hidden="$(wp option get woocommerce_task_list_hidden_lists --format=json 2>/dev/null || true)"
case "$hidden" in
  *'"setup"'*'"extended"'* | *'"extended"'*'"setup"'*) ;;
  *) set_option woocommerce_task_list_hidden_lists '["setup","extended"]' --format=json ;;
esac
wp transient delete _wc_activation_redirect >/dev/null 2>&1 || true  # absent on re-runs

log "store settings"
set_option woocommerce_coming_soon no
set_option woocommerce_store_pages_only no
set_option woocommerce_allow_tracking no
set_option woocommerce_show_marketplace_suggestions no
set_option woocommerce_default_country "$STORE_COUNTRY"
set_option woocommerce_currency "$STORE_CURRENCY"
set_option woocommerce_store_address "$STORE_ADDRESS"
set_option woocommerce_store_city "$STORE_CITY"
set_option woocommerce_store_postcode "$STORE_POSTCODE"
cod='{"enabled":"yes","title":"Cash on delivery","description":"Pay with cash upon delivery.",'
cod="$cod"'"instructions":"Pay with cash upon delivery.","enable_for_methods":[],"enable_for_virtual":"yes"}'
set_option woocommerce_cod_settings "$cod" --format=json

log "pages"
wp wc tool run install_pages --user="$ADMIN_USER" >/dev/null

if [ "$SAMPLE_PRODUCT" = "yes" ]; then
  existing="$(wp post list --post_type=product --name="$SAMPLE_PRODUCT_SLUG" --post_status=any --format=ids)"
  if [ -z "$existing" ]; then
    log "sample product"
    wp wc product create --user="$ADMIN_USER" --name="Sample product" --slug="$SAMPLE_PRODUCT_SLUG" \
      --type=simple --virtual=true --regular_price=10.00 --status=publish \
      --description="A virtual sample product: no shipping needed." >/dev/null
  fi
fi

log "rewrite rules"
wp rewrite flush --hard
log "done"
"""


def script_hash(script: str = SETUP_SCRIPT) -> str:
    """SHA-256 of the setup script (a pod template annotation: a new script re-runs the Job)."""
    return hashlib.sha256(script.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class ShopDetails:
    """What the setup job writes into WooCommerce."""

    title: str
    """The site title."""
    admin_user: str
    """The administrator's login."""
    admin_email: str
    """The administrator's e-mail."""
    settings: ShopSettings
    """Country, currency, address and whether to create the sample product."""


@dataclass(frozen=True, kw_only=True)
class WooCommerceSetupArgs:
    """Inputs of ``WooCommerceSetup``."""

    namespace: pulumi.Input[str]
    """The store namespace."""
    store_name: str
    """The store's name (labels)."""
    url: str
    """The store's public base URL (``scheme://host``)."""
    image: str
    """Official WP-CLI image, pinned, e.g. ``wordpress:cli-2.12.0-php8.3``."""
    woocommerce_version: str
    """The WooCommerce plugin version to install (pinned)."""
    shop: ShopDetails
    """Title, admin, address, currency, sample product."""
    secret_name: pulumi.Input[str]
    """The store Secret."""
    admin_password_key: str
    """The Secret key of the WordPress admin password."""
    wordpress_env: Sequence[k8s.core.v1.EnvVarArgs]
    """The WordPress container's env (database, salts, WP_HOME), which wp-config.php reads."""
    wordpress_pvc_name: str
    """The WordPress files PVC to mount at /var/www/html."""
    wordpress_pod_labels: Mapping[str, str]
    """Labels of the WordPress pod, for the required pod affinity (same node: RWO volume)."""
    wordpress_image: str
    """The WordPress image; a change re-runs the Job (``wp core update-db``)."""
    resources: Resources
    """Requests/limits of the setup container."""
    scheduling: Scheduling = field(default_factory=Scheduling)
    """Node selector and tolerations."""
    backoff_limit: int = 4
    """Retries before the Job fails (each retry is a new pod)."""
    active_deadline_seconds: int = DEADLINE_SECONDS
    """Hard limit on the Job's run time (Pulumi awaits it 300 s longer)."""
    wait_seconds: int = 600
    """How long the script waits for wp-config.php and for the database."""


class WooCommerceSetup(pulumi.ComponentResource):
    """ConfigMap (script) + Job (WP-CLI)."""

    job_name: pulumi.Output[str]
    """The Job's name."""

    def __init__(
        self, name: str, args: WooCommerceSetupArgs, *, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("storestack:index:WooCommerceSetup", name, None, part_opts(opts))
        inherited = inherited_depends_on(opts)
        labels = object_labels(args.store_name, app=APP, role=ROLE_SETUP)
        shop = args.shop

        config_map = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CONFIGMAP_NAME, namespace=args.namespace, labels=labels),
            data={"setup.sh": SETUP_SCRIPT, "wp-cli.yml": WP_CLI_CONFIG},
            opts=child_opts(self),  # not a pod: made beside the guardrails
        )

        env = [
            *args.wordpress_env,
            secret_env("WP_ADMIN_PASSWORD", secret_name=args.secret_name, key=args.admin_password_key),
            plain_env("HOME", "/tmp"),  # noqa: S108 - WP-CLI cache of a one-shot pod
            plain_env("WP_CLI_CONFIG_PATH", f"{SCRIPTS_DIR}/wp-cli.yml"),
            plain_env("STORE_URL", args.url),
            plain_env("STORE_TITLE", shop.title),
            plain_env("ADMIN_USER", shop.admin_user),
            plain_env("ADMIN_EMAIL", shop.admin_email),
            plain_env("WOOCOMMERCE_VERSION", args.woocommerce_version),
            plain_env("STORE_COUNTRY", shop.settings.country),
            plain_env("STORE_CURRENCY", shop.settings.currency),
            plain_env("STORE_ADDRESS", shop.settings.address),
            plain_env("STORE_CITY", shop.settings.city),
            plain_env("STORE_POSTCODE", shop.settings.postcode),
            plain_env("SAMPLE_PRODUCT", "yes" if shop.settings.sample_product else "no"),
            plain_env("SAMPLE_PRODUCT_SLUG", SAMPLE_PRODUCT_SLUG),
            plain_env("SETUP_WAIT_SECONDS", str(args.wait_seconds)),
        ]
        container = k8s.core.v1.ContainerArgs(
            name="setup",
            image=args.image,
            image_pull_policy="IfNotPresent",
            command=["/bin/sh", f"{SCRIPTS_DIR}/setup.sh"],
            working_dir="/var/www/html",
            env=env,
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="html", mount_path="/var/www/html"),
                k8s.core.v1.VolumeMountArgs(name="scripts", mount_path=SCRIPTS_DIR, read_only=True),
            ],
            resources=args.resources.to_k8s(),
            security_context=container_security_context(non_root=True),
        )
        affinity = k8s.core.v1.AffinityArgs(
            pod_affinity=k8s.core.v1.PodAffinityArgs(
                required_during_scheduling_ignored_during_execution=[
                    k8s.core.v1.PodAffinityTermArgs(
                        label_selector=k8s.meta.v1.LabelSelectorArgs(
                            match_labels=dict(args.wordpress_pod_labels)
                        ),
                        topology_key="kubernetes.io/hostname",
                    )
                ]
            )
        )
        job = k8s.batch.v1.Job(
            f"{name}-job",
            # A Job that failed stays failed: without replaceUnready, every later `up` would await it
            # again (and fail at once). With it, the next `up` replaces an unready Job (delete first:
            # child_opts sets delete_before_replace), i.e. re-runs the setup.
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=JOB_NAME,
                namespace=args.namespace,
                labels=labels,
                annotations={REPLACE_UNREADY: "true"},
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=args.backoff_limit,
                active_deadline_seconds=args.active_deadline_seconds,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels,
                        annotations={
                            "storestack.io/script-sha256": script_hash(),
                            "storestack.io/wordpress-image": args.wordpress_image,
                        },
                    ),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="Never",
                        automount_service_account_token=False,
                        enable_service_links=False,
                        security_context=pod_security_context(run_as_user=WWW_DATA, fs_group=WWW_DATA),
                        affinity=affinity,
                        node_selector=args.scheduling.node_selector_k8s(),
                        tolerations=args.scheduling.tolerations_k8s(),
                        containers=[container],
                        volumes=[
                            pvc_volume("html", args.wordpress_pvc_name),
                            k8s.core.v1.VolumeArgs(
                                name="scripts",
                                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                    name=config_map.metadata.name
                                ),
                            ),
                        ],
                    ),
                ),
            ),
            # Pulumi awaits completion (the default); give it longer than the Job's own deadline.
            opts=child_opts(
                self,
                inherited,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{args.active_deadline_seconds + 300}s",
                    update=f"{args.active_deadline_seconds + 300}s",
                ),
            ),
        )
        self.job_name = job.metadata.name
        self.register_outputs({"job_name": self.job_name})
