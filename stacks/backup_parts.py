"""What a backup of each engine is made of, and how each part is made and put back.

``stacks.backups`` runs these scripts in the store's own containers through the API server's exec.
Every script takes the database password from the container's environment (set from the store's
Secret) into the client's own variable (``MYSQL_PWD``, ``PGPASSWORD``): no secret is ever in an
argv, ours or the container's.
"""

from __future__ import annotations

import dataclasses

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
class EnginePlan:
    """The parts of one engine's backup and the Deployment serving its app (restarted after a
    restore, so no process keeps what it cached of the old data)."""

    engine: str
    parts: tuple[Part, ...]
    app_deployment: str


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
)

PLANS = {plan.engine: plan for plan in (WOOCOMMERCE, MEDUSA)}
