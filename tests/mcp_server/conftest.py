"""The trust tests' store (users with tokens, a credential, sshd hosts as assets, SQLite and
PostgreSQL in turn) for tests that drive a real `opsconductor mcp` process over it."""

from tests.trust.conftest import database_url, hosts, store

__all__ = ["database_url", "hosts", "store"]
