"""Live events across processes through Redis pub/sub, so that any API replica streams any
execution live, whichever worker runs it.

The store stays the record: followers replay and poll stored events (late joiners miss
nothing); this bus only wakes them early and carries what is never stored, a step's output
chunks. So an event lost here (Redis away, a slow subscriber) costs liveness, never a record.
Every process publishes to one channel and fans what it receives out to its own subscribers;
it subscribes only once something in it follows an execution. Imported only when
OPSCONDUCTOR_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from opsconductor.config import Settings
from opsconductor.execution.events import Event, InProcessEventBus
from opsconductor.queue.redis import redis_url

logger = logging.getLogger(__name__)

RECONNECT_S = 1.0


def channel_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}:events"


class RedisEventBus:
    """The in-process bus, plus every other process's events through one Redis channel."""

    def __init__(self, settings: Settings) -> None:
        self.local = InProcessEventBus()
        self.channel = channel_name(settings)
        self.origin = uuid.uuid4().hex  # this process's own events come back: not twice
        # Short timeouts: a publish waits on Redis inside a run, which must not hang on it.
        self.redis = aioredis.Redis.from_url(
            redis_url(settings), socket_connect_timeout=2, socket_timeout=2
        )
        self._reader: asyncio.Task[None] | None = None
        self._publish_failed = False

    async def publish(self, event: Event) -> None:
        await self.local.publish(event)  # checks the type, too
        message = {
            "origin": self.origin,
            "execution_id": event.execution_id,
            "type": event.type,
            "data": event.data,
            "at": event.at.isoformat(),
        }
        try:
            await self.redis.publish(self.channel, json.dumps(message, default=str))
        except (RedisError, OSError) as exc:
            if not self._publish_failed:  # once per outage, not once per output chunk
                logger.warning("live events not sent through Redis: %s", exc)
            self._publish_failed = True
        else:
            self._publish_failed = False

    def subscribe(self, execution_id: str) -> asyncio.Queue[Event]:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(
                self._read_forever(), name="redis-events"
            )
        return self.local.subscribe(execution_id)

    def unsubscribe(self, execution_id: str, queue: asyncio.Queue[Event]) -> None:
        self.local.unsubscribe(execution_id, queue)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.redis.aclose()

    async def _read_forever(self) -> None:
        while True:
            try:
                await self._read()
            except (RedisError, OSError) as exc:
                logger.warning("Redis events: %s; subscribing again in %.0fs", exc, RECONNECT_S)
            await asyncio.sleep(RECONNECT_S)

    async def _read(self) -> None:
        async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self.channel)
            while True:
                # A timeout, so that a Redis gone quiet for good is noticed by a ping.
                message = await pubsub.get_message(timeout=5.0)
                if message is None:
                    await pubsub.ping()
                    continue
                if message.get("type") != "message":
                    continue  # the answer to a ping
                event = self._event(message.get("data"))
                if event is not None:
                    with contextlib.suppress(ValueError):  # a type this version does not know
                        await self.local.publish(event)

    def _event(self, raw: Any) -> Event | None:
        try:
            body = json.loads(raw)
            if body.get("origin") == self.origin:
                return None
            return Event(
                execution_id=str(body["execution_id"]),
                type=str(body["type"]),
                data=dict(body.get("data") or {}),
                at=datetime.fromisoformat(body["at"]),
            )
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning("ignored an unreadable live event: %s", exc)
            return None
