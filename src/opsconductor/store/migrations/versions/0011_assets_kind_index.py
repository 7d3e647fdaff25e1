"""An index on the kind of an asset (OS, device type): counts and lists by kind, the most
asked questions, read it instead of every whole row (a count of all assets by kind becomes a
scan of the index alone).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assets_kind", "assets", ["os_type", "device_type"])


def downgrade() -> None:
    op.drop_index("ix_assets_kind", table_name="assets")
