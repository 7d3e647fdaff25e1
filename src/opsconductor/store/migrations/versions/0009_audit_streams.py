"""The audit trail keyed and chained per stream: each new row names its stream, its place in it
and the id of the HMAC key that chained it.

Rows already there keep NULL in the three columns: they are the legacy prefix, still checked as
the plain SHA-256 chain they were written as, and sealed by the first keyed row (written when
the upgraded store is first opened, see `store.audit.seal_legacy`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("stream", sa.String(100), nullable=True))
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
    op.create_index("ix_audit_events_stream_seq", "audit_events", ["stream", "seq"], unique=True)


def downgrade() -> None:
    # Keyed rows cannot be checked by the older code: a downgrade keeps them but the older
    # `audit verify` reports the first of them as a broken link.
    op.drop_index("ix_audit_events_stream_seq", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("key_id")
        batch.drop_column("seq")
        batch.drop_column("stream")
