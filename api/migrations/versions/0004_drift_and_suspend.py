"""Drift checks, suspended stores and custom host names: when a store's next drift check is due,
what the last one found, whether its next ``up`` reads the cluster back first (a repair), whether
the store is suspended (its workloads scaled to zero, its data kept), and the table of the custom
host names live stores serve (each at most once).

Revision ID: 0004_drift_and_suspend
Revises: 0003_store_expiry
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_drift_and_suspend"
down_revision: str | None = "0003_store_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("drifted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("drift_summary", sa.Text(), nullable=True))
        batch.add_column(sa.Column("drift_checked_at", sa.DateTime(timezone=False), nullable=True))
        batch.add_column(sa.Column("drift_due_at", sa.DateTime(timezone=False), nullable=True))
        batch.add_column(
            sa.Column("drift_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(
            sa.Column("refresh_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_stores_drift_due_at", ["drift_due_at"])
    op.create_table(
        "store_hosts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=False),
        sa.UniqueConstraint("host", name="uq_store_hosts_host"),
    )
    op.create_index("ix_store_hosts_store_id", "store_hosts", ["store_id"])


def downgrade() -> None:
    op.drop_index("ix_store_hosts_store_id", table_name="store_hosts")
    op.drop_table("store_hosts")
    with op.batch_alter_table("stores") as batch:
        batch.drop_index("ix_stores_drift_due_at")
        for column in (
            "refresh_requested",
            "suspended",
            "drift_requested",
            "drift_due_at",
            "drift_checked_at",
            "drift_summary",
            "drifted",
        ):
            batch.drop_column(column)
