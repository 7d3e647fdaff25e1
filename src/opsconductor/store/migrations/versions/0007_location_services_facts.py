"""Where an asset stands and what it runs (location, declared services), and facts collected
from assets.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsconductor.store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("location", sa.String(64), nullable=True))
        # Existing assets declare no services: the default fills their rows.
        batch.add_column(sa.Column("services", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "asset_facts",
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("collected_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("asset_facts")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("services")
        batch.drop_column("location")
