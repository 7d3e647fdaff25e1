"""Where a run's writes go: each into its own committed transaction, or all into one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.execution.events import Event, EventBus
from opsconductor.store.database import Database


class Transactions:
    """Separate transactions when a write must be durable before a side effect on a host; one
    shared transaction for a run with no side effect (an inventory query), which is then
    recorded whole or not at all. Events wait for the commit that makes them true."""

    def __init__(self, db: Database, events: EventBus, shared: AsyncSession | None = None) -> None:
        self.db = db
        self.events = events
        self.shared = shared
        self._held: list[Event] = []

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if self.shared is not None:
            yield self.shared  # flushed when it needs to be, and at commit
        else:
            async with self.db.session() as session:
                yield session

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
