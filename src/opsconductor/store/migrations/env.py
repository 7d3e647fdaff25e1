"""Alembic environment: always handed a live connection by opsconductor.store.migrate."""

from __future__ import annotations

from alembic import context

from opsconductor.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `opsconductor db upgrade`, not the alembic CLI")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
