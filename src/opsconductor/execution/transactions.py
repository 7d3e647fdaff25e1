"""Where a run's writes go: each into its own committed transaction (fenced by the run's lease,
retried through a database outage), or all into one shared transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.execution.events import Event, EventBus
from opsconductor.execution.leases import Lease
from opsconductor.store.database import Database

logger = logging.getLogger(__name__)

T = TypeVar("T")
_FIRST_RETRY_S = 0.2
_MAX_RETRY_S = 2.0


class Transactions:
    """Separate transactions when a write must be durable before a side effect on a host; one
    shared transaction for a run with no side effect (an inventory query), which is then
    recorded whole or not at all. Events wait for the commit that makes them true.

    With a `lease`, every separate transaction first checks that the lease is still held
    (:meth:`Lease.hold`) and raises LeaseLost when it is not. A write the database refuses
    because it cannot be reached is tried again, with backoff, for up to `retry_s`; meanwhile
    what is to be written stays in the caller's memory."""

    def __init__(
        self,
        db: Database,
        events: EventBus,
        shared: AsyncSession | None = None,
        *,
        lease: Lease | None = None,
        retry_s: float = 0.0,
    ) -> None:
        self.db = db
        self.events = events
        self.shared = shared
        self.lease = lease
        self.retry_s = retry_s
        self._held: list[Event] = []

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a committed write transaction (or in the shared one)."""
        if self.shared is not None:
            return await work(self.shared)
        deadline = time.monotonic() + self.retry_s
        delay = _FIRST_RETRY_S
        while True:
            try:
                async with self.db.session() as session:
                    if self.lease is not None:
                        await self.lease.hold(session)
                    return await work(session)
            except (OSError, OperationalError, InterfaceError, DBAPIError) as exc:
                if not _unreachable(exc) or time.monotonic() + delay > deadline:
                    raise
                logger.warning("store write failed (%s); trying again in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_RETRY_S)

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        if self.shared is not None:
            return await work(self.shared)
        async with self.db.reader() as session:
            return await work(session)

    async def publish(self, event: Event) -> None:
        if self.shared is not None:
            self._held.append(event)
        else:
            await self.events.publish(event)

    async def release(self) -> None:
        """Publish the events held back for the shared transaction, once it has committed."""
        held, self._held = self._held, []
        for event in held:
            await self.events.publish(event)


def _unreachable(exc: BaseException) -> bool:
    """The database could not be reached (or dropped the connection): worth trying again."""
    if isinstance(exc, OSError | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
