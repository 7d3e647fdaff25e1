"""Live progress over SSE and WebSocket against a real server on the loopback: a follower gets
the stored events first and then the run as it happens; a late one gets the same stored events;
a client that leaves stops its poller."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.harness import Api
from tests.api.live import serve_live, stream_ticket
from tests.conftest import FLEET, seed
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from opsconductor.api.routes.events import Follower
from opsconductor.app import OpsConductor
from opsconductor.config import load_settings
from opsconductor.execution.events import Event, EventBus
from opsconductor.identity.models import Role
from opsconductor.store.tables import ExecutionEventRow

STORED_RUN = [
    "approval_required",
    "progress",  # approved
    "progress",  # claimed by a worker
    "progress",  # running, with the number of units
    "step_started",
    "step_complete",
    "complete",
]
REQUEST = "check disk space on ops-console"  # level 1, runs `df` on this machine

Message = dict[str, Any]


class CountingBus:
    """The conductor's bus, counting who follows it, so that a test sees a follower leave."""

    def __init__(self, inner: EventBus) -> None:
        self.inner = inner
        self.followers = 0

    async def publish(self, event: Event) -> None:
        await self.inner.publish(event)

    def subscribe(self, execution_id: str) -> asyncio.Queue[Event]:
        self.followers += 1
        return self.inner.subscribe(execution_id)

    def unsubscribe(self, execution_id: str, queue: asyncio.Queue[Event]) -> None:
        self.followers -= 1
        self.inner.unsubscribe(execution_id, queue)


@pytest.fixture
async def live(api: Api) -> AsyncIterator[str]:
    """The API's application served by uvicorn on a free loopback port (its lifespan already
    runs in the `api` fixture); the base URL of /api/v1."""
    async with serve_live(api.app) as url:
        yield url


async def read_sse(
    url: str,
    headers: dict[str, str],
    on_event: Callable[[Message], Awaitable[None]] | None = None,
) -> list[Message]:
    """Every event of one SSE stream until the server ends it: the JSON of `data`, with the
    `id:` and `event:` fields the stream gave it."""
    events: list[Message] = []
    fields: dict[str, str] = {}
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
                continue
            if "data" in fields:
                message = json.loads(fields["data"])
                message["sse_id"], message["sse_event"] = fields.get("id"), fields["event"]
                events.append(message)
                if on_event is not None:
                    await on_event(message)
            fields = {}
    return events


async def read_socket(
    socket_: ClientConnection, on_message: Callable[[Message], Awaitable[None]] | None = None
) -> tuple[list[Message], int | None]:
    """Every message until the server closes, and the close code."""
    messages: list[Message] = []
    try:
        while True:
            message = json.loads(await socket_.recv())
            messages.append(message)
            if on_message is not None:
                await on_message(message)
    except ConnectionClosed as closed:
        return messages, closed.rcvd.code if closed.rcvd else None


def stored(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m["id"] is not None]


class Approver:
    """Approves (through the API) when the follower has seen the approval request, so that
    the rest of the run arrives live."""

    def __init__(self, api: Api, approval_id: str) -> None:
        self.api = api
        self.approval_id = approval_id
        self.task: asyncio.Task[httpx.Response] | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "approval_required" and self.task is None:
            self.task = asyncio.create_task(
                self.api.client.post(
                    f"/approvals/{self.approval_id}/approve",
                    json={},
                    headers=self.api.headers(Role.OPERATOR),
                )
            )

    async def response(self) -> httpx.Response:
        assert self.task is not None, "the approval request was never streamed"
        return await self.task


def check_run(messages: list[Message], approval_id: str) -> None:
    """The stored events of a confirmed `df` run, in order, and its live output between its
    step's start and completion (the follower subscribed before the run began)."""
    assert [m["type"] for m in stored(messages)] == STORED_RUN
    ids = [m["id"] for m in stored(messages)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    first = messages[0]
    assert first["data"] == {"approval_ids": [approval_id], "level": 1}
    assert messages[-1]["type"] == "complete"
    assert messages[-1]["data"]["state"] == "succeeded"
    started = next(i for i, m in enumerate(messages) if m["type"] == "step_started")
    completed = next(i for i, m in enumerate(messages) if m["type"] == "step_complete")
    assert messages[started]["data"]["command"] == "df -P -k"
    assert messages[completed]["data"]["target"] == "ops-console"
    assert messages[completed]["data"]["state"] == "succeeded"
    live_only = [i for i, m in enumerate(messages) if m["id"] is None]
    assert all(m["type"] == "step_output" for m in messages if m["id"] is None)
    assert live_only and all(started < i < completed for i in live_only)  # df's output
    assert "Filesystem" in "".join(messages[i]["data"]["chunk"] for i in live_only)


async def test_sse_replays_then_follows_and_a_late_follower_gets_the_same(
    api: Api, live: str
) -> None:
    asked = await api.ask(Role.OPERATOR, REQUEST)
    execution_id = asked["execution"]["id"]
    [approval_id] = asked["approval"]["ids"]
    url = f"{live}/executions/{execution_id}/events"
    approver = Approver(api, approval_id)

    followed = await read_sse(url, api.headers(Role.VIEWER), approver)

    assert (await approver.response()).status_code == 200
    check_run(followed, approval_id)
    assert all(m["sse_event"] == m["type"] for m in followed)
    assert [m["sse_id"] for m in stored(followed)] == [str(m["id"]) for m in stored(followed)]
    assert all(m["sse_id"] is None for m in followed if m["id"] is None)

    late = await read_sse(url, api.headers(Role.VIEWER))
    assert late == stored(followed)

    resume_after = stored(followed)[4]  # step_started
    resumed = await read_sse(
        url, {**api.headers(Role.VIEWER), "Last-Event-ID": str(resume_after["id"])}
    )
    assert resumed == stored(followed)[5:]


async def test_websocket_replays_then_follows_and_a_late_follower_gets_the_same(
    api: Api, live: str
) -> None:
    asked = await api.ask(Role.OPERATOR, REQUEST)
    execution_id = asked["execution"]["id"]
    [approval_id] = asked["approval"]["ids"]
    ws_url = live.replace("http://", "ws://") + f"/executions/{execution_id}/ws"
    approver = Approver(api, approval_id)

    # A browser cannot set headers: a one-use ticket rides in the query string.
    ticket = (await stream_ticket(api, Role.VIEWER, execution_id))["ticket"]
    async with connect(f"{ws_url}?ticket={ticket}") as socket_:
        followed, code = await read_socket(socket_, approver)

    assert code == 1000
    assert (await approver.response()).status_code == 200
    check_run(followed, approval_id)
    assert set(followed[0]) == {"id", "type", "data", "at"}

    async with connect(ws_url, additional_headers=api.headers(Role.VIEWER)) as socket_:
        late, code = await read_socket(socket_)
    assert code == 1000
    assert late == stored(followed)
    async with connect(f"{ws_url}?ticket={ticket}") as socket_:  # spent
        assert await read_socket(socket_) == ([], 1008)

    resume_after = stored(followed)[4]["id"]
    async with connect(
        f"{ws_url}?after={resume_after}", additional_headers=api.headers(Role.VIEWER)
    ) as socket_:
        resumed, _ = await read_socket(socket_)
    assert resumed == stored(followed)[5:]


async def test_websocket_refuses_without_a_valid_token_and_for_unknown_executions(
    api: Api, live: str
) -> None:
    asked = await api.ask(Role.OPERATOR, REQUEST)
    ws_url = live.replace("http://", "ws://") + f"/executions/{asked['execution']['id']}/ws"
    token = api.token(Role.VIEWER)
    for url in (ws_url, f"{ws_url}?token={token}", f"{ws_url}?ticket=ost_not_a_ticket"):
        async with connect(url) as socket_:  # a token in the URL is no longer read
            messages, code = await read_socket(socket_)
        assert (messages, code) == ([], 1008)
    bad_header = {"Authorization": "Bearer oct_not_a_token"}
    async with connect(ws_url, additional_headers=bad_header) as socket_:
        assert await read_socket(socket_) == ([], 1008)
    unknown = live.replace("http://", "ws://") + "/executions/no-such-id/ws"
    async with connect(unknown, additional_headers=api.headers(Role.VIEWER)) as socket_:
        messages, code = await read_socket(socket_)
    assert (messages, code) == ([], 4404)
    # One row for the address's first refusal; the three after it are counted, to be
    # recorded together when the window has passed.
    refused = await api.audit(action="token_refused")
    assert [r.reason for r in refused] == ["no bearer token"]
    [record] = api.app.state.refusals.due(final=True)
    assert record.reasons == {
        "no bearer token": 1,
        "invalid, expired, spent or foreign stream ticket": 1,
        "invalid, expired or revoked token": 1,
    }


async def test_sse_answers_404_for_an_unknown_execution_and_401_without_a_token(
    api: Api,
) -> None:
    response = await api.client.get(
        "/executions/no-such-id/events", headers=api.headers(Role.VIEWER)
    )
    assert response.status_code == 404
    assert "no-such-id" in response.json()["detail"]
    asked = await api.ask(Role.OPERATOR, REQUEST)
    response = await api.client.get(f"/executions/{asked['execution']['id']}/events")
    assert response.status_code == 401


async def test_a_follower_that_leaves_stops_polling(api: Api, live: str) -> None:
    bus = CountingBus(api.conductor.events)
    api.conductor.events = bus  # followers subscribe here; the runner keeps the inner bus
    asked = await api.ask(Role.OPERATOR, REQUEST)  # waits for approval: its stream stays open
    execution_id = asked["execution"]["id"]

    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream(
            "GET", f"{live}/executions/{execution_id}/events", headers=api.headers(Role.VIEWER)
        ) as response,
    ):
        lines = response.aiter_lines()
        while not (await anext(lines)).startswith("event: approval_required"):
            pass
        assert bus.followers == 1
    await until(lambda: bus.followers == 0)

    ws_url = live.replace("http://", "ws://") + f"/executions/{execution_id}/ws"
    async with connect(ws_url, additional_headers=api.headers(Role.VIEWER)) as socket_:
        assert json.loads(await socket_.recv())["type"] == "approval_required"
        assert bus.followers == 1
    await until(lambda: bus.followers == 0)


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)


@pytest.mark.postgres
async def test_rows_committed_out_of_id_order_are_still_sent(
    pg_database_url: str, tmp_path: Path
) -> None:
    """PostgreSQL hands out ids at insert but commits in any order (parallel steps write
    concurrently): a row that shows up below an id already sent must still be sent."""
    settings = load_settings(home=tmp_path / "home", database_url=pg_database_url)
    conductor = await OpsConductor.open(settings)
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(REQUEST, requester="olga")
    assert answer.execution_id is not None
    execution_id = answer.execution_id

    def row(type_: str, **data: str) -> ExecutionEventRow:
        return ExecutionEventRow(execution_id=execution_id, type=type_, data=data)

    events = Follower(conductor, execution_id).events()
    try:
        assert (await anext(events)).type == "approval_required"
        async with conductor.db.sessions() as slow, slow.begin():
            slow.add(row("progress", n="slow"))
            await slow.flush()  # takes the lower id, commits last
            async with conductor.db.session() as quick:
                quick.add(row("progress", n="quick"))
            second = await anext(events)
        third = await anext(events)
        async with conductor.db.session() as session:
            session.add(row("complete"))
        fourth = await anext(events)
        with pytest.raises(StopAsyncIteration):
            await anext(events)
    finally:
        await events.aclose()
        await conductor.close()
    assert second is not None and third is not None and fourth is not None
    assert (second.data, third.data, fourth.type) == ({"n": "quick"}, {"n": "slow"}, "complete")
    assert third.id is not None and second.id is not None and third.id < second.id
