"""At most one change at a time on a host. Within one execution the engine serialises a host's
changing steps itself; across the processes of a fleet (workers on many machines, with Redis)
a :class:`HostGuard` holds the host for the length of each changing step."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class HostGuard(Protocol):
    def hold(self, host: str) -> AbstractAsyncContextManager[None]:
        """Wait until no other process changes `host`, and keep it until the block ends."""
        ...


class NoFleetGuard:
    """The embedded default: one process, whose executions keep their own per-host order."""

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        yield
