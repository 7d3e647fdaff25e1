"""One change at a time on a host across the fleet: a Redis lock per host, with a time to live
that the holder renews while its step runs, so that a holder killed with `kill -9` frees the
host within the TTL (by then its lease has expired too, and its change is `interrupted`).

It fails closed: while Redis cannot be reached, a changing step waits rather than run
unguarded (reads are never held). A lock Redis lost while held (a restart) is taken again at
the next renewal; if another process took the host in between, that is logged loudly, since
two changes may then overlap. Imported only when OPSCONDUCTOR_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError, RedisError

from opsconductor.config import Settings
from opsconductor.queue.redis import redis_url

logger = logging.getLogger(__name__)

MIN_TTL_S = 10.0
WAIT_NOTE_S = 5.0  # how often a step that waits for its host says so
RETRY_S = 1.0


class RedisHostGuard:
    def __init__(self, settings: Settings) -> None:
        self.redis = aioredis.Redis.from_url(
            redis_url(settings), socket_connect_timeout=2, socket_timeout=5
        )
        self.prefix = settings.redis_prefix
        self.ttl_s = max(settings.lease_s, MIN_TTL_S)

    def key(self, host: str) -> str:
        return f"{self.prefix}:host:{host}"

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        lock = self.redis.lock(self.key(host), timeout=self.ttl_s, sleep=0.05, thread_local=False)
        await self._acquire(lock, host)
        keeper = asyncio.create_task(self._keep(lock, host), name=f"host-lock:{host}")
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await keeper
            with contextlib.suppress(LockError, RedisError, OSError):
                await asyncio.shield(lock.release())

    async def aclose(self) -> None:
        await self.redis.aclose()

    async def _acquire(self, lock: Lock, host: str) -> None:
        while True:
            try:
                if await lock.acquire(blocking_timeout=WAIT_NOTE_S):
                    return
                logger.info("waiting for another process's change on %s to end", host)
            except (RedisError, OSError) as exc:
                logger.warning("cannot hold %s through Redis (%s): the change waits", host, exc)
                await asyncio.sleep(RETRY_S)

    async def _keep(self, lock: Lock, host: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                await lock.reacquire()
            except LockNotOwnedError:
                token = lock.local.token
                if not await self.redis.set(
                    self.key(host), token or "", nx=True, px=int(self.ttl_s * 1000)
                ):
                    logger.error(
                        "the lock on %s was lost (Redis restarted?) and another process holds "
                        "it now: two changes may overlap on it",
                        host,
                    )
                    return
            except (RedisError, OSError) as exc:
                logger.warning("renewing the lock on %s: %s", host, exc)
