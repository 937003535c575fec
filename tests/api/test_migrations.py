"""Alembic: ``upgrade head`` builds the schema the models describe, and running it again is a no-op."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api import models
from api.db import make_engine, upgrade


def test_upgrade_head_creates_the_schema(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) >= {
        "stores",
        "events",
        "tokens",
        "idempotency_keys",
        "revisions",
        "rollouts",
        "rollout_stores",
        "rollout_events",
        "stack_configs",
        "fleet_facts",
        "backup_jobs",
        "alembic_version",
    }
    columns = {c["name"] for c in inspector.get_columns("stores")}
    assert {"desired", "status", "lease_owner", "lease_expires_at", "attempts", "next_attempt_at"} <= columns
    uniques = {u["name"] for u in inspector.get_unique_constraints("stores")}
    assert "uq_stores_active_name" in uniques
    with engine.connect() as connection:
        assert (
            connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            == "0007_backup_jobs"
        )
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert int(connection.execute(sa.text("PRAGMA busy_timeout")).scalar() or 0) >= 1000


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'diff.db'}")
    upgrade(engine)
    upgrade(engine)  # idempotent
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), models.metadata)
    assert diff == []


def test_postgres_ddl_compiles() -> None:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    for table in models.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=postgresql.dialect()))
        assert "WITH TIME ZONE" not in ddl


def test_migrations_on_the_test_database(database_url: str) -> None:
    """The same check on the test database (PostgreSQL when STORESTACK_TEST_POSTGRES_URL is set)."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), models.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_the_latest_migrations_go_down_and_up_again_with_rows_in_place(database_url: str) -> None:
    """A database with a store and its events (rows other tables' foreign keys point at) goes back
    to 0005 (what ``tests/e2e/test_data_dir_upgrade.py`` starts from) and up again, on SQLite and
    PostgreSQL, and keeps the store."""
    from alembic import command

    from api.auth import Principal
    from api.db import alembic_config
    from api.schemas import CreateStoreRequest
    from api.services.stores import StoreService

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        admin = Principal(owner="root", role="admin", token_id=None)
        StoreService(engine=engine).create(admin, CreateStoreRequest(name="kept", engine="woocommerce"))
        command.downgrade(alembic_config(engine), "0005_revisions_and_rollouts")
        upgrade(engine)
        with engine.connect() as connection:
            names = connection.execute(sa.text("SELECT name FROM stores")).scalars().all()
            diff = compare_metadata(MigrationContext.configure(connection), models.metadata)
        assert names == ["kept"] and diff == []
    finally:
        engine.dispose()
