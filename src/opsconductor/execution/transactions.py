"""Where a run's writes go: each into a committed transaction (fenced by the run's lease,
retried through a database outage, shared with the writes that queued meanwhile), or all into
one shared transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.execution.events import Event, EventBus
from opsconductor.execution.leases import Lease
from opsconductor.store.database import Database

logger = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]
Batch = list[tuple[Work[Any], "asyncio.Future[Any]"]]
_FIRST_RETRY_S = 0.2
_MAX_RETRY_S = 2.0


class Transactions:
    """Separate transactions when a write must be durable before a side effect on a host; one
    shared transaction for a run with no side effect (an inventory query), which is then
    recorded whole or not at all. Events wait for the commit that makes them true. A shared
    transaction may read in a read transaction of its own (`reads`): one that writes nothing
    before its commit then takes SQLite's write lock only for the commit's own writes.

    With a `lease`, every separate transaction first checks that the lease is still held
    (:meth:`Lease.hold`) and raises LeaseLost when it is not. A write the database refuses
    because it cannot be reached is tried again, with backoff, for up to `retry_s`; meanwhile
    what is to be written stays in the caller's memory.

    *Group commit.* Writes that arrive while one is committing (fifty hosts starting together)
    wait and then commit together, in the order they came, in one transaction: each caller
    still goes on only once its own write is committed, but SQLite's one write lock is taken
    once for them all rather than once each. A write whose caller was cancelled before its
    batch began is dropped; one that fails fails its whole batch (they share the transaction),
    which is then raised to each of its callers."""

    def __init__(
        self,
        db: Database,
        events: EventBus,
        shared: AsyncSession | None = None,
        *,
        reads: AsyncSession | None = None,
        lease: Lease | None = None,
        retry_s: float = 0.0,
    ) -> None:
        self.db = db
        self.events = events
        self.shared = shared
        self.reads = reads
        self.lease = lease
        self.retry_s = retry_s
        self._held: list[Event] = []
        self._queued: list[tuple[Work[Any], asyncio.Future[Any]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def write(self, work: Work[T]) -> T:
        """Run `work` in a committed write transaction (or in the shared one)."""
        if self.shared is not None:
            return await work(self.shared)
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((work, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        return await done

    async def _commit_queued(self) -> None:
        while self._queued:
            batch = [(work, done) for work, done in self._queued if not done.cancelled()]
            self._queued = []
            if batch:
                await self._commit_batch(batch)

    async def _commit_batch(self, batch: Batch) -> None:
        async def run_all(session: AsyncSession) -> list[Any]:
            return [await work(session) for work, _ in batch]

        try:
            results = await self._commit(run_all)
        except Exception as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
        except BaseException:  # this task is cancelled (the process stops): so are its writers
            for _, done in batch:
                done.cancel()
            raise
        else:
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)

    async def _commit(self, work: Work[T]) -> T:
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
        if self.reads is not None:
            return await work(self.reads)
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
