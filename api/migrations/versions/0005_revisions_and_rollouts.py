"""Environment revisions and rollouts: the recorded revisions of the environment, the rollouts that
move stores onto one (their stores by wave, and their history), and on each store the revision it is
to be on and the one its last successful ``up`` applied.

Revision ID: 0005_revisions_and_rollouts
Revises: 0004_drift_and_suspend
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_revisions_and_rollouts"
down_revision: str | None = "0004_drift_and_suspend"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAIVE = sa.DateTime(timezone=False)


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("applied_revision", sa.Integer(), nullable=True))
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("overrides_json", sa.Text(), nullable=False),
        sa.Column("changes_json", sa.Text(), nullable=False),
        sa.Column("parent", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", NAIVE, nullable=False),
        sa.UniqueConstraint("number", name="uq_revisions_number"),
    )
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("canary", sa.Integer(), nullable=False),
        sa.Column("growth", sa.Integer(), nullable=False),
        sa.Column("max_concurrency", sa.Integer(), nullable=False),
        sa.Column("rollback_all", sa.Boolean(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("waves", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", NAIVE, nullable=False),
        sa.Column("updated_at", NAIVE, nullable=False),
        sa.Column("finished_at", NAIVE, nullable=True),
    )
    op.create_index("ix_rollouts_state", "rollouts", ["state"])
    op.create_table(
        "rollout_stores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rollout_id", sa.Integer(), sa.ForeignKey("rollouts.id"), nullable=False),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("store_name", sa.String(length=64), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("from_revision", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("started_at", NAIVE, nullable=True),
        sa.Column("finished_at", NAIVE, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_rollout_stores_rollout_id_wave", "rollout_stores", ["rollout_id", "wave"])
    op.create_table(
        "rollout_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rollout_id", sa.Integer(), sa.ForeignKey("rollouts.id"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", NAIVE, nullable=False),
    )
    op.create_index("ix_rollout_events_rollout_id_id", "rollout_events", ["rollout_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_rollout_events_rollout_id_id", table_name="rollout_events")
    op.drop_table("rollout_events")
    op.drop_index("ix_rollout_stores_rollout_id_wave", table_name="rollout_stores")
    op.drop_table("rollout_stores")
    op.drop_index("ix_rollouts_state", table_name="rollouts")
    op.drop_table("rollouts")
    op.drop_table("revisions")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("applied_revision")
        batch.drop_column("revision")
