"""Stream tickets over real HTTP: one ticket opens one stream, once, for the execution it
names; it fails when spent, expired, foreign, or when its user or token has been stopped; and
only its hash is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from tests.api.harness import Api
from tests.api.live import serve_live, stream_ticket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from opsconductor.identity import repository as identity
from opsconductor.identity.models import Role
from opsconductor.identity.tickets import TICKET_TTL
from opsconductor.store.tables import StreamTicketRow, utcnow

QUESTION = "how many assets do we have"  # level 0: runs at once, its stream ends at once


@pytest.fixture
async def live(api: Api) -> AsyncIterator[str]:
    async with serve_live(api.app) as url:
        yield url


async def ended_execution(api: Api) -> str:
    asked = await api.ask(Role.OPERATOR, QUESTION)
    execution_id: str = asked["execution"]["id"]
    await api.wait_for_end(execution_id)
    return execution_id


async def sse_status(url: str) -> tuple[int, str]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(url)
    return response.status_code, response.text


async def socket_close(url: str) -> tuple[int, list[str]]:
    """The close code of a WebSocket read to its end, and the messages before it."""
    messages: list[str] = []
    async with connect(url) as socket_:
        try:
            while True:
                messages.append(str(await socket_.recv()))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, messages


async def test_a_ticket_opens_one_stream_once(api: Api, live: str) -> None:
    execution_id = await ended_execution(api)
    sse = f"{live}/executions/{execution_id}/events"
    ws = live.replace("http://", "ws://") + f"/executions/{execution_id}/ws"

    issued = await stream_ticket(api, Role.VIEWER)
    assert issued["execution_id"] is None
    assert issued["ticket"].startswith("ost_")
    status, body = await sse_status(f"{sse}?ticket={issued['ticket']}")
    assert status == 200 and "event: complete" in body
    status, body = await sse_status(f"{sse}?ticket={issued['ticket']}")
    assert status == 401 and "already used" in body
    assert (await socket_close(f"{ws}?ticket={issued['ticket']}"))[0] == 1008

    second = await stream_ticket(api, Role.VIEWER)
    code, messages = await socket_close(f"{ws}?ticket={second['ticket']}")
    assert code == 1000 and '"complete"' in messages[-1]
    assert (await socket_close(f"{ws}?ticket={second['ticket']}"))[0] == 1008


async def test_a_ticket_for_one_execution_opens_no_other(api: Api, live: str) -> None:
    mine, other = await ended_execution(api), await ended_execution(api)
    issued = await stream_ticket(api, Role.VIEWER, mine)
    assert issued["execution_id"] == mine
    ws = live.replace("http://", "ws://") + "/executions/{}/ws?ticket=" + issued["ticket"]
    assert (await socket_close(ws.format(other)))[0] == 1008
    status, _ = await sse_status(f"{live}/executions/{other}/events?ticket={issued['ticket']}")
    assert status == 401
    code, _ = await socket_close(ws.format(mine))  # refused elsewhere, so still unspent
    assert code == 1000


async def test_a_ticket_fails_once_its_user_is_disabled_or_its_token_revoked(
    api: Api, live: str
) -> None:
    execution_id = await ended_execution(api)
    sse = f"{live}/executions/{execution_id}/events?ticket="
    disabled = await stream_ticket(api, Role.VIEWER)
    revoked = await stream_ticket(api, Role.APPROVER)
    async with api.conductor.db.session() as session:
        await identity.set_user_disabled(session, "victor", True, actor="root")
        [token] = await identity.list_tokens(session, "bob")
        await identity.revoke_token(session, token.id, actor="root")
    assert (await sse_status(sse + disabled["ticket"]))[0] == 401
    assert (await sse_status(sse + revoked["ticket"]))[0] == 401


async def test_a_ticket_expires(api: Api, live: str) -> None:
    execution_id = await ended_execution(api)
    issued = await stream_ticket(api, Role.VIEWER)
    lifetime = _parse(issued["expires_at"]) - utcnow()
    assert TICKET_TTL - timedelta(seconds=5) < lifetime <= TICKET_TTL
    async with api.conductor.db.session() as session:
        await session.execute(
            update(StreamTicketRow).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    sse = f"{live}/executions/{execution_id}/events?ticket={issued['ticket']}"
    assert (await sse_status(sse))[0] == 401


async def test_tickets_need_a_token_and_a_real_execution_and_only_a_hash_is_kept(
    api: Api,
) -> None:
    assert (await api.client.post("/stream-tickets")).status_code == 401
    response = await api.client.post(
        "/stream-tickets", json={"execution_id": "no-such-id"}, headers=api.headers("viewer")
    )
    assert response.status_code == 404 and "no-such-id" in response.json()["detail"]
    issued = await stream_ticket(api, Role.VIEWER)
    async with api.conductor.db.session() as session:
        rows = list(await session.scalars(select(StreamTicketRow)))
    assert [row.user for row in rows] == ["victor"]
    assert issued["ticket"] not in repr([vars(row) for row in rows])
    assert rows[0].token_id is not None and rows[0].used_at is None


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
