"""Telling workers that an execution is ready to run. The store stays the truth: a message
carries only an execution id, is sent after the commit that made the execution runnable, and
may be lost or arrive twice (the claim's compare-and-set makes a duplicate harmless, and the
sweeper sends again what nobody claimed in time)."""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    @property
    def live(self) -> bool:
        """True when messages go somewhere; False when workers find their work by polling."""
        ...

    async def send(self, execution_id: str) -> None:
        """Announce one runnable execution. Raises when the message could not be sent; the
        caller logs it and leaves the execution to the sweeper's next round."""
        ...

    async def close(self) -> None: ...


class PollingDispatch:
    """The embedded default: no messages; workers poll the store for queued executions."""

    live = False

    async def send(self, execution_id: str) -> None:
        return None

    async def close(self) -> None:
        return None
