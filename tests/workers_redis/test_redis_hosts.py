"""The fleet-wide host guard on a real Redis, between two processes' guards: a second change
on a host waits for the first to end; another host does not wait; a holder that stopped
renewing (killed) frees the host within the TTL."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from opsconductor.config import load_settings
from opsconductor.queue.redis_hosts import RedisHostGuard


@pytest.fixture
def guards(redis_url: str, redis_prefix: str) -> tuple[RedisHostGuard, RedisHostGuard]:
    settings = load_settings(redis_url=SecretStr(redis_url), redis_prefix=redis_prefix)
    return RedisHostGuard(settings), RedisHostGuard(settings)


async def test_a_second_change_on_a_host_waits_for_the_first(
    guards: tuple[RedisHostGuard, RedisHostGuard],
) -> None:
    a, b = guards
    order: list[str] = []
    try:
        async with a.hold("web-01"):
            order.append("a holds web-01")
            waiting = asyncio.create_task(_hold_and_note(b, "web-01", order))
            async with b.hold("web-02"):  # another host: no wait
                order.append("b holds web-02")
            await asyncio.sleep(0.5)
            assert not waiting.done()
            order.append("a lets go")
        await asyncio.wait_for(waiting, 5)
    finally:
        await a.aclose()
        await b.aclose()
    assert order == ["a holds web-01", "b holds web-02", "a lets go", "b holds web-01"]


async def test_a_holder_that_stopped_renewing_frees_the_host_within_the_ttl(
    guards: tuple[RedisHostGuard, RedisHostGuard],
) -> None:
    a, b = guards
    a.ttl_s = b.ttl_s = 1.0
    try:
        lock = a.redis.lock(a.key("web-01"), timeout=a.ttl_s, thread_local=False)
        assert await lock.acquire()  # taken, never renewed nor released: a killed holder
        started = asyncio.get_running_loop().time()
        async with b.hold("web-01"):
            waited = asyncio.get_running_loop().time() - started
    finally:
        await a.aclose()
        await b.aclose()
    assert 0.5 < waited < 3, waited


async def _hold_and_note(guard: RedisHostGuard, host: str, order: list[str]) -> None:
    async with guard.hold(host):
        order.append(f"b holds {host}")
