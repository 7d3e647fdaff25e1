"""Live progress of one execution: Server-Sent Events and a WebSocket.

The store is the source of truth. A follower first replays the execution's stored events after
the one it names (`Last-Event-ID`), then polls for newer rows; the in-process bus only wakes it
early and carries the `step_output` chunks, which are live only (never stored, so never
replayed). A stream ends after the `complete` event, or at once when the execution has already
ended and everything is sent. Both faces send one JSON shape per event:
`{"id": <row id, null for live output>, "type": ..., "data": {...}, "at": <ISO 8601>}`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, WebSocket
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from opsconductor.api.deps import (
    ConductorDep,
    SocketRefusal,
    StreamReader,
    TicketQuery,
    socket_principal,
)
from opsconductor.api.errors import error_responses
from opsconductor.api.params import EventId, Name
from opsconductor.app import OpsConductor
from opsconductor.execution.events import Event
from opsconductor.execution.queries import (
    StoredEvent,
    event_ids_between,
    events_after,
    execution_exists,
    execution_state,
    get_execution,
)
from opsconductor.execution.states import TERMINAL_STATES, ExecutionState

router = APIRouter(tags=["executions"])

POLL_S = 0.2  # how often the store is read when the bus is quiet
MIN_READ_GAP_S = 0.05  # a burst of live output must not become a burst of queries
KEEPALIVE_S = 15.0
BATCH = 200
# PostgreSQL takes ids from a sequence at insert, but concurrent transactions (parallel steps)
# commit in any order: a row can become visible below the highest id already sent. Ids sent in
# the last SETTLE_S are therefore looked behind; SQLite commits writers one at a time, in order.
SETTLE_S = 5.0
WS_NOT_FOUND = 4404


@dataclass(frozen=True)
class StreamedEvent:
    """One event as sent to a follower; `id` is None for live output, which is not stored."""

    id: int | None
    type: str
    data: dict[str, Any]
    at: datetime

    @classmethod
    def stored(cls, event: StoredEvent) -> StreamedEvent:
        return cls(event.id, event.type, event.data, event.at)

    @classmethod
    def live(cls, event: Event) -> StreamedEvent:
        return cls(None, event.type, event.data, event.at)

    def message(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "data": self.data, "at": self.at.isoformat()}

    def sse(self) -> str:
        head = f"id: {self.id}\n" if self.id is not None else ""
        body = json.dumps(self.message(), separators=(",", ":"), default=str)
        return f"{head}event: {self.type}\ndata: {body}\n\n"


class Cursor:
    """Which stored events a follower has sent, and which rows it still has to ask for."""

    def __init__(self, after: int, *, look_behind: bool) -> None:
        self.last = after  # the highest id sent
        self.floor = after  # every id at or below it is settled and was sent if it was ours
        self.look_behind = look_behind
        self._recent: dict[int, float] = {}  # id above the floor → when it was sent

    def unsent(self, ids: list[int]) -> list[int]:
        return [i for i in ids if i not in self._recent]

    def sent(self, row_id: int) -> None:
        self.last = max(self.last, row_id)
        if self.look_behind:
            self._recent[row_id] = time.monotonic()
        else:
            self.floor = self.last

    def settle(self) -> None:
        """Raise the floor past the ids sent more than SETTLE_S ago (in id order)."""
        if not self.look_behind:
            return
        horizon = time.monotonic() - SETTLE_S
        for row_id in sorted(self._recent):
            if self._recent[row_id] > horizon:
                break
            self.floor = row_id
            del self._recent[row_id]


class Follower:
    """Stored events of one execution after a given id, then new ones as they are stored."""

    def __init__(self, conductor: OpsConductor, execution_id: str, after: int = 0) -> None:
        self.conductor = conductor
        self.execution_id = execution_id
        self.cursor = Cursor(after, look_behind=not conductor.db.is_sqlite)
        self._live: list[Event] = []  # output chunks waiting for the stored events before them
        self._last_read = 0.0

    async def events(self) -> AsyncGenerator[StreamedEvent | None, None]:
        """Yield events in order; None after KEEPALIVE_S without one (a heartbeat). Ends after
        `complete`, or when the execution has ended and everything stored has been sent."""
        bus = self.conductor.events
        queue = bus.subscribe(self.execution_id)
        try:
            last_sent = time.monotonic()
            while True:
                rows, ended = await self._read()
                # Output published before a stored event was read is in the queue by now:
                # taken before the rows are sent, it can go out ahead of its step's completion.
                self._live += _output(queue)
                batch, finished = self._interleave(rows)
                for event in batch:
                    yield event
                if finished or (ended and len(rows) < BATCH):
                    return
                if batch:
                    last_sent = time.monotonic()
                if len(rows) < BATCH:
                    self._live += await _wake(queue)
                if time.monotonic() - last_sent >= KEEPALIVE_S:
                    last_sent = time.monotonic()
                    yield None
        finally:
            bus.unsubscribe(self.execution_id, queue)

    def _interleave(self, rows: list[StoredEvent]) -> tuple[list[StreamedEvent], bool]:
        """`rows` with the live output that goes before each; true once `complete` is in."""
        batch: list[StreamedEvent] = []
        for row in rows:
            batch += self._live_before(row)
            self.cursor.sent(row.id)
            batch.append(StreamedEvent.stored(row))
            if row.type == "complete":
                return batch, True
        return batch + self._live_before(None), False

    def _live_before(self, row: StoredEvent | None) -> list[StreamedEvent]:
        """The live chunks to send before `row`: a step's output before its completion,
        everything before the end of the run, and all of them when `row` is None."""
        if not self._live or (row is not None and row.type not in {"step_complete", "complete"}):
            return []
        if row is None or row.type == "complete":
            due, self._live = self._live, []
            return [StreamedEvent.live(event) for event in due]
        key = row.data.get("step_id"), row.data.get("target")
        kept: list[Event] = []
        due = []
        for event in self._live:
            mine = (event.data.get("step_id"), event.data.get("target")) == key
            (due if mine else kept).append(event)
        self._live = kept
        return [StreamedEvent.live(event) for event in due]

    async def _read(self) -> tuple[list[StoredEvent], bool]:
        """The next stored events and whether the execution had ended before they were read."""
        gap = MIN_READ_GAP_S - (time.monotonic() - self._last_read)
        if gap > 0:
            await asyncio.sleep(gap)
        self._last_read = time.monotonic()
        cursor = self.cursor
        cursor.settle()
        execution_id = self.execution_id
        async with self.conductor.db.reader() as session:
            # The state first: an ending commits with its `complete` event, so when the state
            # read has ended, the event query after it sees that event.
            state = await execution_state(session, execution_id)
            missing: list[int] = []
            if cursor.look_behind and cursor.last > cursor.floor:
                ids = await event_ids_between(
                    session, execution_id, above=cursor.floor, up_to=cursor.last
                )
                missing = cursor.unsent(ids)
            found = await events_after(
                session, execution_id, after=cursor.last, also=missing, limit=BATCH
            )
        ended = state is None or ExecutionState(state) in TERMINAL_STATES
        return found, ended


async def _wake(queue: asyncio.Queue[Event]) -> list[Event]:
    """Wait up to POLL_S for the bus to bring something; return the live output in it."""
    try:
        async with asyncio.timeout(POLL_S):
            first = await queue.get()
    except TimeoutError:
        return []
    return [first, *_output(queue)] if first.type == "step_output" else _output(queue)


def _output(queue: asyncio.Queue[Event]) -> list[Event]:
    """The live output chunks waiting in `queue`; the other events are read from the store."""
    received = []
    while not queue.empty():
        received.append(queue.get_nowait())
    return [e for e in received if e.type == "step_output"]


async def _sse(follower: Follower) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    async with contextlib.aclosing(follower.events()) as events:
        async for event in events:
            yield ": keep-alive\n\n" if event is None else event.sse()


@router.get(
    "/executions/{execution_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        **error_responses(401, 403, 404, 422),
    },
)
async def stream_events(
    execution_id: Name,
    conductor: ConductorDep,
    _: StreamReader,
    last_event_id: Annotated[
        EventId | None, Header(description="Resume after this event (set by EventSource).")
    ] = None,
    after: Annotated[EventId, Query(description="Start after this event id.")] = 0,
) -> StreamingResponse:
    """Progress of one execution as Server-Sent Events: stored events first, then live ones;
    the stream ends after `complete`. Token in `Authorization: Bearer`, or a one-use
    `?ticket=` from `POST /stream-tickets` (an EventSource cannot set headers)."""
    async with conductor.db.reader() as session:
        await get_execution(session, execution_id)  # NotFound → 404 before the stream starts
    follower = Follower(conductor, execution_id, max(after, last_event_id or 0))
    return StreamingResponse(
        _sse(follower),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.websocket("/executions/{execution_id}/ws")
async def execution_socket(
    websocket: WebSocket,
    execution_id: Name,
    conductor: ConductorDep,
    ticket: TicketQuery = None,
    after: EventId = 0,
) -> None:
    """Progress of one execution as JSON messages; token in `Authorization: Bearer`, or a
    one-use `?ticket=` from `POST /stream-tickets`. Closes 1008 when unauthenticated or not
    permitted, 1013 after too many refusals, 4404 for an unknown execution, 1000 after
    `complete`."""
    # Accepted before refusing, so that the client sees the close code (a refused handshake
    # shows only as HTTP 403, and in a browser as a bare 1006).
    await websocket.accept()
    principal = await socket_principal(websocket, conductor, ticket)
    if isinstance(principal, SocketRefusal):
        await websocket.close(principal.code, principal.reason)
        return
    async with conductor.db.reader() as session:
        found = await execution_exists(session, execution_id)
    if not found:
        await websocket.close(WS_NOT_FOUND, "no such execution")
        return
    await _follow_on_socket(websocket, Follower(conductor, execution_id, after))


async def _follow_on_socket(websocket: WebSocket, follower: Follower) -> None:
    """Send events until the run ends or the client goes; whichever comes first stops both."""

    async def send_all() -> None:
        async with contextlib.aclosing(follower.events()) as events:
            async for event in events:
                if event is not None:
                    await websocket.send_json(event.message())

    async def until_client_leaves() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # what a client sends means nothing here

    sender = asyncio.create_task(send_all())
    listener = asyncio.create_task(until_client_leaves())
    try:
        done, _ = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, listener):
            task.cancel()
        await asyncio.gather(sender, listener, return_exceptions=True)
    if sender not in done:
        return  # the client has gone: nothing left to close
    error = sender.exception()
    if error is not None and not isinstance(error, WebSocketDisconnect):
        raise error
    if error is None and websocket.client_state is WebSocketState.CONNECTED:
        await websocket.close(1000, "complete")
