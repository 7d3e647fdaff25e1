"""A store with users, a credential and sshd hosts as assets, for tests that drive real
`opsconductor serve` and `opsconductor worker` processes over it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Select
from tests.conftest import seed, users_with_tokens
from tests.connectors.fleet import CREDENTIAL, add_key_credential, fleet_settings, host_asset
from tests.sshhosts import SshHost, start_hosts, stop_hosts
from tests.trust.processes import make_slow, process_env, set_delay

from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.identity.models import Role

USERS = {"alice": Role.OPERATOR, "bob": Role.APPROVER, "carol": Role.APPROVER, "root": Role.ADMIN}


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[SshHost]]:
    started = start_hosts(tmp_path_factory.mktemp("trust-hosts"), 2, prefix="trust")
    for host in started:
        make_slow(host)
    try:
        yield started
    finally:
        stop_hosts(started)


@dataclass
class Store:
    """What the processes share: settings (for this test process), their environment, and
    the users' tokens."""

    settings: Settings
    env: dict[str, str]
    tokens: dict[str, str]
    logs: Path

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def client(self, base_url: str, user: str, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=base_url, headers=self.headers(user), timeout=timeout)

    async def conductor(self) -> OpsConductor:
        return await OpsConductor.open(self.settings)

    async def rows(self, query: Select[Any]) -> list[Any]:
        """What `query` finds in the shared store now, read from this test process."""
        conductor = await self.conductor()
        try:
            async with conductor.db.reader() as session:
                return list(await session.scalars(query))
        finally:
            await conductor.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded default (SQLite in home), else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture
async def store(database_url: str | None, tmp_path: Path, hosts: list[SshHost]) -> Store:
    overrides: dict[str, Any] = {"database_url": database_url} if database_url else {}
    settings = fleet_settings(tmp_path, hosts, **overrides)
    for host in hosts:
        host.clear_received()
        (host.directory / "finished.jsonl").unlink(missing_ok=True)
        set_delay(host, 0)
    conductor = await OpsConductor.open(settings)
    try:
        tokens = await users_with_tokens(conductor, USERS)
        await add_key_credential(conductor, CREDENTIAL, hosts[0].client_key_path, hosts[0].username)
        await seed(conductor, [host_asset(h) for h in hosts])
    finally:
        await conductor.close()
    env = process_env(
        settings.home,
        database_url,
        OPSCONDUCTOR_KNOWN_HOSTS=str(settings.known_hosts_file),
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    return Store(settings, env, tokens, logs)
