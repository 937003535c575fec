"""Alembic environment for the control plane's schema.

Run by ``api.db.upgrade`` (the app and the CLI call it on start) with the engine passed in
``config.attributes["engine"]``; when run by the ``alembic`` command instead, the URL comes from
``Settings`` (``STORESTACK_DATABASE_URL`` or the SQLite file in the data dir).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from api import models

config = context.config
target_metadata = models.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    from api.db import make_engine
    from api.settings import Settings

    return make_engine(Settings().resolved_database_url())


def run_migrations_online() -> None:
    """Run the migrations on a live connection, in one transaction."""
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
