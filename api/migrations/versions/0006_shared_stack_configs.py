"""Shared stack configs: each store's Pulumi stack config file (its encrypted credentials, the
passphrase provider's salt, the spec and revision it was deployed with) kept in the database, so
replicas on several hosts share nothing but the database and the Pulumi backend; and the facts
every replica must agree on (the passphrase's verifier).

Revision ID: 0006_shared_stack_configs
Revises: 0005_revisions_and_rollouts
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_shared_stack_configs"
down_revision: str | None = "0005_revisions_and_rollouts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stack_configs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_stack_configs"),
    )
    op.create_table(
        "fleet_facts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_fleet_facts"),
    )


def downgrade() -> None:
    op.drop_table("fleet_facts")
    op.drop_table("stack_configs")
