"""Shared fixtures: real SQLite files and a real PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from opsconductor.app import OpsConductor
from opsconductor.config import Settings, load_settings
from opsconductor.identity import repository as identity
from opsconductor.identity.models import Role
from opsconductor.inventory import repository
from opsconductor.inventory.models import Asset

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("OPSCONDUCTOR_TEST_DATABASE_URL") or DEFAULT_PG


async def _admin(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    try:
        return await asyncpg.connect(
            host=parsed.host,
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            database=parsed.database,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        # Never a skip: `make test` provides PostgreSQL, so its absence is a failure to see.
        pytest.fail(f"PostgreSQL at {parsed.host}:{parsed.port} is not reachable: {exc}")


@pytest.fixture
async def pg_database_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    base = postgres_url()
    name = f"oc_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for the embedded default (SQLite) and for PostgreSQL, in turn."""
    if request.param == "sqlite":
        return load_settings(home=tmp_path / "home")
    pg_url: str = request.getfixturevalue("pg_database_url")
    return load_settings(home=tmp_path / "home", database_url=pg_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home")


@pytest.fixture
async def conductor(settings: Settings) -> AsyncIterator[OpsConductor]:
    opened = await OpsConductor.open(settings)
    try:
        yield opened
    finally:
        await opened.close()


async def seed(conductor: OpsConductor, assets: list[dict[str, object]]) -> None:
    async with conductor.db.session() as session:
        await repository.upsert_assets(session, [Asset.model_validate(a) for a in assets])


async def users_with_tokens(conductor: OpsConductor, users: Mapping[str, Role]) -> dict[str, str]:
    """Each user made with its role and one API token; the tokens by user name."""
    tokens: dict[str, str] = {}
    async with conductor.db.session() as session:
        for name, role in users.items():
            await identity.create_user(session, name, role, actor="test")
            _, tokens[name] = await identity.create_token(session, name, actor="test")
    return tokens


def workstations(count: int) -> list[dict[str, object]]:
    return [
        {
            "name": f"ws-{i:02d}",
            "hostname": f"ws-{i:02d}.corp.example",
            "ip_address": f"10.1.0.{i + 10}",
            "os_type": "windows",
            "device_type": "workstation",
            "environment": "office",
            "connection": {"protocol": "winrm"},
        }
        for i in range(1, count + 1)
    ]


FLEET: list[dict[str, object]] = [
    {
        "name": "ops-console",
        "hostname": "localhost",
        "ip_address": "127.0.0.1",
        "os_type": "linux",
        "device_type": "server",
        "environment": "lab",
        "tags": ["ops"],
        "connection": {"protocol": "local"},
    },
    {
        "name": "web-prod-01",
        "hostname": "web-prod-01.example",
        "ip_address": "10.0.1.10",
        "os_type": "linux",
        "os_version": "Ubuntu 22.04",
        "device_type": "server",
        "environment": "production",
        "tags": ["web"],
        "owner": "Web Team",
    },
    {
        "name": "web-prod-02",
        "hostname": "web-prod-02.example",
        "ip_address": "10.0.1.11",
        "os_type": "linux",
        "device_type": "server",
        "environment": "production",
        "tags": ["web"],
    },
    {
        "name": "app-prod-01",
        "hostname": "app-prod-01.example",
        "ip_address": "10.0.2.10",
        "os_type": "linux",
        "device_type": "server",
        "environment": "production",
        "tags": ["app"],
    },
    {
        "name": "app-prod-02",
        "hostname": "app-prod-02.example",
        "ip_address": "10.0.2.11",
        "os_type": "linux",
        "device_type": "server",
        "environment": "production",
        "tags": ["app"],
    },
    {
        "name": "db-staging-01",
        "hostname": "db-staging-01.example",
        "ip_address": "10.0.3.10",
        "os_type": "linux",
        "device_type": "server",
        "environment": "staging",
        "tags": ["database"],
    },
    {
        "name": "ws-finance-01",
        "ip_address": "10.1.0.21",
        "os_type": "windows",
        "device_type": "workstation",
        "environment": "office",
        "connection": {"protocol": "winrm"},
    },
]


# A real Redis for the queue's tests: the one `make test` and .ci/run ensure
# (OPSCONDUCTOR_TEST_REDIS_URL, else 127.0.0.1:6379), used under a key prefix of each test's own,
# so that tests (and other runs sharing the server) never read each other's streams.
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def redis_server_url() -> str:
    return os.environ.get("OPSCONDUCTOR_TEST_REDIS_URL") or DEFAULT_REDIS


async def forget_prefix(url: str, prefix: str) -> None:
    """Delete every key under `prefix`: what a test left in the shared server."""
    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        # taskiq-redis's lock for reclaiming unacknowledged messages is named after the group.
        keys += [key async for key in client.scan_iter(match=f"autoclaim:{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_url() -> str:
    """The URL of a Redis that answers. Never a skip: `make test` provides Redis, so its
    absence is a failure to see."""
    url = redis_server_url()
    client = aioredis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        pytest.fail(f"Redis at {url} is not reachable: {exc}")
    finally:
        await client.aclose()
    return url


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = f"octest-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        await forget_prefix(redis_url, prefix)
