"""GET /feed: one Server-Sent Events stream of what happens to every execution, for pages
that show many at once (the approvals inbox, the history).

It carries the execution-level events the store keeps (`progress`: a change of state,
`approval_required`, `complete`), each naming its execution, never step output: a
page that wants a run's detail opens that run's own stream. Every role that reads may see every
execution (`GET /executions` lists them all), so the feed is filtered by that permission. A
feed opened without `after` starts at the newest event (the page has just listed the current
state); one reopened with the last id it received (`after`, or `Last-Event-ID`) misses nothing.
Authenticated like an execution's stream: the bearer header, or a one-use `?ticket=` made
without an execution id (an EventSource cannot set headers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from opsconductor.api.deps import ConductorDep, StreamReader
from opsconductor.api.errors import error_responses
from opsconductor.api.params import EventId
from opsconductor.api.routes.events import Cursor
from opsconductor.app import OpsConductor
from opsconductor.execution.queries import (
    FeedEvent,
    feed_events_after,
    feed_ids_between,
    newest_event_id,
)

router = APIRouter(tags=["executions"])

# Not "error": an EventSource hands an event of that name to its connection-error handler.
FEED_TYPES = ("progress", "approval_required", "complete")
FEED_POLL_S = 0.5  # one query for every execution: cheap enough twice a second per page
KEEPALIVE_S = 15.0
BATCH = 500
# What of an event's data the feed repeats: enough to update a list row; never output.
FEED_FIELDS = ("state", "from", "reason", "approval_ids", "level", "step_id", "error")


class Feed:
    """Stored execution-level events after a cursor, across all executions, as they come."""

    def __init__(self, conductor: OpsConductor, after: int | None) -> None:
        self.conductor = conductor
        self.after = after
        self.cursor: Cursor | None = None

    async def messages(self) -> AsyncGenerator[dict[str, Any] | None, None]:
        """Each event as a message; None after KEEPALIVE_S of quiet (a heartbeat). Endless."""
        last_sent = time.monotonic()
        while True:
            for message in await self._read():
                last_sent = time.monotonic()
                yield message
            if time.monotonic() - last_sent >= KEEPALIVE_S:
                last_sent = time.monotonic()
                yield None
            await asyncio.sleep(FEED_POLL_S)

    async def _read(self) -> list[dict[str, Any]]:
        async with self.conductor.db.reader() as session:
            cursor = self.cursor
            if cursor is None:
                start = self.after if self.after is not None else await newest_event_id(session)
                cursor = self.cursor = Cursor(start, look_behind=not self.conductor.db.is_sqlite)
                return [{"id": None, "type": "ready", "cursor": start}]
            cursor.settle()
            missing: list[int] = []
            if cursor.look_behind and cursor.last > cursor.floor:
                ids = await feed_ids_between(
                    session, FEED_TYPES, above=cursor.floor, up_to=cursor.last
                )
                missing = cursor.unsent(ids)
            rows = await feed_events_after(
                session, FEED_TYPES, after=cursor.last, also=missing, limit=BATCH
            )
        messages = []
        for row in rows:
            cursor.sent(row.id)
            messages.append(_message(row))
        return messages


def _message(event: FeedEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "execution_id": event.execution_id,
        "at": event.at.isoformat(),
        "data": {key: event.data[key] for key in FEED_FIELDS if key in event.data},
    }


async def _sse(feed: Feed) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    async with contextlib.aclosing(feed.messages()) as messages:
        async for message in messages:
            if message is None:
                yield ": keep-alive\n\n"
                continue
            head = f"id: {message['id']}\n" if message["id"] is not None else ""
            body = json.dumps(message, separators=(",", ":"), default=str)
            yield f"{head}event: {message['type']}\ndata: {body}\n\n"


@router.get(
    "/feed",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        **error_responses(401, 403, 422),
    },
)
async def stream_feed(
    conductor: ConductorDep,
    _: StreamReader,
    last_event_id: Annotated[
        EventId | None, Header(description="Resume after this event (set by EventSource).")
    ] = None,
    after: Annotated[
        EventId | None, Query(description="Resume after this event id; default: from now.")
    ] = None,
) -> StreamingResponse:
    """Changes of every execution as Server-Sent Events (`progress`, `approval_required`,
    `complete`, each with its `execution_id`), after a first `ready` event that gives
    the cursor. Token in `Authorization: Bearer`, or a one-use `?ticket=` from `POST
    /stream-tickets` made with no execution id."""
    resume = max(v for v in (after, last_event_id, -1) if v is not None)
    feed = Feed(conductor, resume if resume >= 0 else None)
    return StreamingResponse(
        _sse(feed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
