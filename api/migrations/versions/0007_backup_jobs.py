"""Backup jobs: the backups and restores asked of stores, and how each went (the backups themselves
are in the object store); the stores' ``backup_due_at`` for the schedule, and ``backup_kept_until``
for a deleted store's last backup.

Revision ID: 0007_backup_jobs
Revises: 0006_shared_stack_configs
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_backup_jobs"
down_revision: str | None = "0006_shared_stack_configs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backup_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("store_name", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("backup_id", sa.String(length=64), nullable=True),
        sa.Column("source_store", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=False), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name="fk_backup_jobs_store_id_stores"),
        sa.PrimaryKeyConstraint("id", name="pk_backup_jobs"),
    )
    op.create_index("ix_backup_jobs_state_id", "backup_jobs", ["state", "id"])
    op.create_index("ix_backup_jobs_store_id_id", "backup_jobs", ["store_id", "id"])
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("backup_due_at", sa.DateTime(timezone=False), nullable=True))
        batch.add_column(sa.Column("backup_kept_until", sa.DateTime(timezone=False), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of ``stores`` would drop the table the
    # events' foreign keys point at, which SQLite refuses once the table has rows.
    with op.batch_alter_table("stores", recreate="never") as batch:
        batch.drop_column("backup_kept_until")
        batch.drop_column("backup_due_at")
    op.drop_index("ix_backup_jobs_store_id_id", table_name="backup_jobs")
    op.drop_index("ix_backup_jobs_state_id", table_name="backup_jobs")
    op.drop_table("backup_jobs")
