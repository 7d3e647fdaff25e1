"""The Redis event bus between two processes' buses on a real Redis: what one publishes, the
other's followers of that execution get, once; its own come back once, not twice; a message it
cannot read is ignored, not fatal."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from pydantic import SecretStr

from opsconductor.config import load_settings
from opsconductor.execution.events import Event
from opsconductor.queue.redis_events import RedisEventBus, channel_name


async def next_event(queue: asyncio.Queue[Event]) -> Event:
    return await asyncio.wait_for(queue.get(), 5)


async def test_events_cross_processes_once(redis_url: str, redis_prefix: str) -> None:
    settings = load_settings(redis_url=SecretStr(redis_url), redis_prefix=redis_prefix)
    a, b = RedisEventBus(settings), RedisEventBus(settings)
    try:
        on_b = b.subscribe("e1")
        on_a = a.subscribe("e1")
        elsewhere = b.subscribe("e2")
        await asyncio.sleep(0.3)  # both subscriptions are in place
        client = aioredis.Redis.from_url(redis_url)
        try:
            await client.publish(channel_name(settings), "not json")
        finally:
            await client.aclose()
        await a.publish(Event("e1", "step_output", {"chunk": "hello"}))
        received = await next_event(on_b)
        mine = await next_event(on_a)
        await asyncio.sleep(0.3)
        assert on_a.empty() and on_b.empty() and elsewhere.empty()
    finally:
        await a.aclose()
        await b.aclose()
    assert (received.type, received.data) == ("step_output", {"chunk": "hello"})
    assert mine.data == {"chunk": "hello"}
