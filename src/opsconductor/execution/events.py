"""Progress events: published as they happen, so a follower sees a run step by step."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.store.at_commit import insert_at_commit
from opsconductor.store.tables import ExecutionEventRow, table_of, utcnow

EVENT_TYPES = frozenset(
    {
        "progress",
        "step_started",
        "step_output",
        "step_complete",
        "approval_required",
        "complete",
        "error",
    }
)


@dataclass(frozen=True)
class Event:
    execution_id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, execution_id: str) -> asyncio.Queue[Event]: ...

    def unsubscribe(self, execution_id: str, queue: asyncio.Queue[Event]) -> None: ...


class InProcessEventBus:
    """Fans events out to the subscribers of one process; the embedded default."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: dict[str, list[asyncio.Queue[Event]]] = defaultdict(list)
        self._queue_size = queue_size

    async def publish(self, event: Event) -> None:
        if event.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event.type!r}")
        for queue in list(self._subscribers.get(event.execution_id, ())):
            if queue.full():
                queue.get_nowait()  # a slow follower loses the oldest event, not the run
            queue.put_nowait(event)

    def subscribe(self, execution_id: str) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=self._queue_size)
        self._subscribers[execution_id].append(queue)
        return queue

    def unsubscribe(self, execution_id: str, queue: asyncio.Queue[Event]) -> None:
        queues = self._subscribers.get(execution_id, [])
        if queue in queues:
            queues.remove(queue)
        if not queues:
            self._subscribers.pop(execution_id, None)


def store_event(session: AsyncSession, execution_id: str, type_: str, data: dict[str, Any]) -> None:
    """Keep an event for late followers; written as `session`'s transaction commits, in the
    order stored, so that it is there exactly when the change it tells of is."""
    row = {"execution_id": execution_id, "at": utcnow(), "type": type_, "data": data}
    insert_at_commit(session, table_of(ExecutionEventRow), row)
