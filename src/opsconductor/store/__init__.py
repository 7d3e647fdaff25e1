"""Persistence: SQLAlchemy 2 (async) tables, sessions and Alembic migrations."""
