"""A real Redis for the queue's tests: the one `make test` and .ci/run ensure
(OPSCONDUCTOR_TEST_REDIS_URL, else 127.0.0.1:6379), used under a key prefix of each test's own,
so that tests (and other runs sharing the server) never read each other's streams."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

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
