"""The inventory's revision: one row whose number every write to assets or their facts raises
as it commits (`store.revision`), the exact key of cached inventory indexes, with an id drawn
here that tells this database from any other (a cache keyed by the number alone could take
another store's revision 3, or a re-created file's, for this one's).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "inventory_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("store_id", sa.String(36), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"),
    )
    # The one row, there before any writer: every bump is an UPDATE of it, never an insert
    # that two first writers could race to make.
    op.bulk_insert(table, [{"id": 1, "store_id": str(uuid.uuid4()), "revision": 0}])


def downgrade() -> None:
    op.drop_table("inventory_revision")
