"""Stores can expire: the reconciler deletes a store once its ``expires_at`` has passed.

Revision ID: 0003_store_expiry
Revises: 0002_token_lifecycle
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_store_expiry"
down_revision: str | None = "0002_token_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=False), nullable=True))
        batch.create_index("ix_stores_expires_at", ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_index("ix_stores_expires_at")
        batch.drop_column("expires_at")
