"""Credentials (sealed by the vault), the credential an asset logs in with, and cancellation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsconductor.store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("has_passphrase", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    # Batch mode: SQLite alters a table by copying it when a plain ALTER cannot do the change.
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("credential_name", sa.String(255), nullable=True))
        batch.create_index("ix_assets_credential_name", ["credential_name"])
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("cancel_requested_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("cancel_requested_by", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("cancel_requested_by")
        batch.drop_column("cancel_requested_at")
    with op.batch_alter_table("assets") as batch:
        batch.drop_index("ix_assets_credential_name")
        batch.drop_column("credential_name")
    op.drop_table("credentials")
