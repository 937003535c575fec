"""What a backup of each engine is made of, and how each part is made and put back.

``stacks.backups`` runs these scripts in the store's own containers through the API server's exec.
Every script takes the database password from the container's environment (set from the store's
Secret) into the client's own variable (``MYSQL_PWD``, ``PGPASSWORD``): no secret is ever in an
argv, ours or the container's.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable

from components.database import MYSQL, POSTGRES
from components.engines.medusa import APP as MEDUSA_APP
from components.engines.medusa import UPLOADS_PATH
from components.wordpress import DEPLOYMENT_NAME as WORDPRESS_DEPLOYMENT
from components.wordpress import DOCROOT


@dataclasses.dataclass(frozen=True)
class Part:
    """One part of a backup: where it is made (an exec target in the store's namespace), the script
    that writes it to stdout, the one that reads it back from stdin, and how to tell it is whole."""

    name: str  # the object's name in the backup: database.sql.gz, files.tar.gz
    target: str  # pod/mysql-0, deploy/wordpress
    container: str
    dump: str
    load: str
    gzip: bool  # compressed on our side (a plain SQL dump); tar compresses its own
    complete_marker: bytes | None = None  # the line a whole dump ends with
    load_prefix: bytes = b""  # sent before the part when loading it


@dataclasses.dataclass(frozen=True)
class Rebind:
    """What makes a restored copy of another store's data this store's own (a clone): run in the
    app's container, the new admin password on its stdin; ``script(url, login, email)``."""

    target: str
    container: str
    script: Callable[[str, str, str], str]


@dataclasses.dataclass(frozen=True)
class EnginePlan:
    """The parts of one engine's backup, the Deployment serving its app (restarted after a restore,
    so no process keeps what it cached of the old data), and how a clone is made its own."""

    engine: str
    parts: tuple[Part, ...]
    app_deployment: str
    rebind: Rebind


def _files_part(target: str, container: str, directory: str) -> Part:
    # The archive holds the directory's entries, not the directory itself: it may be a volume's
    # mount point, whose mode and times the app's user cannot set. Loading empties the directory
    # first (what the backup did not have must go).
    return Part(
        name="files.tar.gz",
        target=target,
        container=container,
        dump=f'cd "{directory}" && find . -mindepth 1 -maxdepth 1 -print0 | tar -czf - --null -T -',
        load=f'cd "{directory}" && find . -mindepth 1 -delete && exec tar -xzf - --no-same-owner',
        gzip=False,
    )


MYSQL_AS_ROOT = 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" exec {client} -h 127.0.0.1 -uroot'
POSTGRES_AS_APP = (
    'PGPASSWORD="$POSTGRES_PASSWORD" exec {client} -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
)
MYSQLDUMP_OPTIONS = (
    " --single-transaction --quick --routines --triggers --events --add-drop-database"
    ' --databases "$MYSQL_DATABASE"'
)

# WordPress's own functions, through wp-load.php: the site's home and siteurl become the clone's URL,
# and its admin (made if the data has no such login) gets the clone's password, hashed as WordPress
# hashes. The password is the first line of stdin; argv holds the URL, login and e-mail only.
WP_REBIND_PHP = (
    'define("WP_USE_THEMES", false); require "/var/www/html/wp-load.php"; '
    '$password = rtrim((string) fgets(STDIN), "\\n"); $url = untrailingslashit($argv[1]); '
    'update_option("home", $url); update_option("siteurl", $url); '
    '$user = get_user_by("login", $argv[2]); '
    "if ($user) { wp_set_password($password, $user->ID); } else { "
    '$id = wp_insert_user(["user_login" => $argv[2], "user_pass" => $password, '
    '"user_email" => $argv[3], "role" => "administrator"]); '
    'if (is_wp_error($id)) { fwrite(STDERR, $id->get_error_message() . "\\n"); exit(1); } }'
)


def _wordpress_rebind(url: str, login: str, email: str) -> str:
    args = " ".join(shlex.quote(a) for a in (url, login, email))
    return f"exec php -r {shlex.quote(WP_REBIND_PHP)} -- {args}"


def _medusa_rebind(url: str, login: str, email: str) -> str:
    # The image's own convergent admin script (what the setup Job runs), reading the password from
    # the environment; here the environment gets it from stdin.
    del url, login
    return (
        "IFS= read -r MEDUSA_ADMIN_PASSWORD && export MEDUSA_ADMIN_PASSWORD"
        f" && MEDUSA_ADMIN_EMAIL={shlex.quote(email)} && export MEDUSA_ADMIN_EMAIL"
        " && exec storestack-medusa node_modules/.bin/medusa exec ./src/scripts/create-admin.js"
    )


WOOCOMMERCE = EnginePlan(
    engine="woocommerce",
    parts=(
        Part(
            name="database.sql.gz",
            target=f"pod/{MYSQL.app}-0",
            container=MYSQL.app,
            # One consistent snapshot of InnoDB tables without locking them; the database is
            # dropped and made again on load, so tables made after the backup go too.
            dump=MYSQL_AS_ROOT.format(client="mysqldump") + MYSQLDUMP_OPTIONS,
            load=MYSQL_AS_ROOT.format(client="mysql"),
            gzip=True,
            complete_marker=b"-- Dump completed",
        ),
        _files_part(f"deploy/{WORDPRESS_DEPLOYMENT}", "wordpress", f"{DOCROOT}/wp-content"),
    ),
    app_deployment=WORDPRESS_DEPLOYMENT,
    rebind=Rebind(f"deploy/{WORDPRESS_DEPLOYMENT}", "wordpress", _wordpress_rebind),
)

MEDUSA = EnginePlan(
    engine="medusa",
    parts=(
        Part(
            name="database.sql.gz",
            target=f"pod/{POSTGRES.app}-0",
            container=POSTGRES.app,
            dump=POSTGRES_AS_APP.format(client="pg_dump") + " --no-owner --no-privileges",
            load=POSTGRES_AS_APP.format(client="psql") + " -q -v ON_ERROR_STOP=1",
            gzip=True,
            complete_marker=b"-- PostgreSQL database dump complete",
            # pg_dump (no --clean) makes what it dumps; the schema starts empty, so what was made
            # after the backup goes too.
            load_prefix=b"DROP SCHEMA public CASCADE; CREATE SCHEMA public;\n",
        ),
        _files_part(f"deploy/{MEDUSA_APP}", MEDUSA_APP, UPLOADS_PATH),
    ),
    app_deployment=MEDUSA_APP,
    rebind=Rebind(f"deploy/{MEDUSA_APP}", MEDUSA_APP, _medusa_rebind),
)

PLANS = {plan.engine: plan for plan in (WOOCOMMERCE, MEDUSA)}
