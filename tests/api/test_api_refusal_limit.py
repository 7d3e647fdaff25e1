"""Refused credentials over real HTTP: after MAX_FAILURES refusals in a window one address is
answered 429 with Retry-After and no query, other addresses are not; and the audit trail gets
one row per address per window, carrying the count, however many bad tokens arrive."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from tests.api.harness import Api
from tests.api.live import serve_live
from websockets.asyncio.client import connect

from opsconductor.api.refusals import MAX_FAILURES, WINDOW_S, RefusalGuard
from opsconductor.identity.models import Role

BAD = {"Authorization": "Bearer oct_AAAAAAAAAAAA_" + "A" * 43}


@pytest.fixture
async def live(api: Api) -> AsyncIterator[str]:
    async with serve_live(api.app) as url:
        yield url


def client(address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client whose connections come from `address` (any of 127.0.0.0/8 reaches the server)."""
    # A generous timeout: these tests count refusals, not speed, and a loaded machine can keep
    # one of hundreds of requests waiting past httpx's default of 5 s.
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=60)


class Statements:
    """Counts the SQL statements the application's engine sends, while `counting`."""

    def __init__(self, api: Api) -> None:
        self.engine = api.conductor.db.engine.sync_engine
        self.count = 0

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


async def test_an_address_with_too_many_refusals_gets_429_without_a_query(
    api: Api, live: str
) -> None:
    async with client("127.0.0.4") as anonymous:  # no credentials: refused, not limited
        for _ in range(MAX_FAILURES * 2):
            assert (await anonymous.get(f"{live}/executions")).status_code == 401
    async with client() as bad, client("127.0.0.2") as other:
        for _ in range(MAX_FAILURES):
            assert (await bad.get(f"{live}/executions", headers=BAD)).status_code == 401
        with Statements(api) as statements:
            limited = [
                await bad.get(f"{live}/executions", headers=BAD),
                await bad.get(f"{live}/executions"),
                await bad.get(f"{live}/executions", headers=api.headers(Role.VIEWER)),
                await bad.post(f"{live}/stream-tickets", headers=api.headers(Role.VIEWER)),
                await bad.get(f"{live}/executions/x/events?ticket=ost_x"),
            ]
        assert [r.status_code for r in limited] == [429] * len(limited)
        assert statements.count == 0
        assert 0 < int(limited[0].headers["retry-after"]) <= WINDOW_S
        assert "Too many refused credentials" in limited[0].json()["detail"]
        ws = live.replace("http://", "ws://") + "/executions/x/ws"
        async with connect(ws) as socket_:
            await socket_.wait_closed()
        assert socket_.close_code == 1013  # a WebSocket from the same address
        fine = await other.get(f"{live}/executions", headers=api.headers(Role.VIEWER))
        assert fine.status_code == 200
    # The first refusal of each address; the rest are counted.
    rows = await api.audit(action="token_refused")
    assert [(r.details["client"], r.details["count"]) for r in rows] == [
        ("127.0.0.4", 1),
        ("127.0.0.1", 1),
    ]


async def test_a_flood_of_bad_tokens_leaves_one_audit_row_per_address_and_window(
    api: Api, live: str
) -> None:
    # A short window, and no limit: every bad token reaches the check and is counted.
    window_s = 2.0
    api.app.state.refusals = RefusalGuard(window_s=window_s, max_failures=100_000)
    clients, each = 20, 25

    async def flood(address: str) -> list[int]:
        async with client(address) as bad:
            return [(await bad.get(f"{live}/assets", headers=BAD)).status_code for _ in range(each)]

    started = time.monotonic()
    answers = await asyncio.gather(*(flood(f"127.0.0.{2 + i % 2}") for i in range(clients)))
    windows = math.ceil((time.monotonic() - started) / window_s) + 1
    assert {code for codes in answers for code in codes} == {401}

    # The flusher writes what is still counted once its window has passed.
    total = clients * each
    rows = await api.audit(action="token_refused")
    async with asyncio.timeout(30):
        while sum(r.details["count"] for r in rows) < total:
            await asyncio.sleep(0.2)
            rows = await api.audit(action="token_refused")
    assert sum(r.details["count"] for r in rows) == total
    for address in ("127.0.0.2", "127.0.0.3"):
        times = sorted(
            datetime.fromisoformat(r.details["decided_at"])
            for r in rows
            if r.details["client"] == address
        )
        assert 2 <= len(times) <= windows + 1, times
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        # At most one row per window, by when the guard decided each was due (a row's `at` is
        # when it was written, which can lag by the wait for the store's write lock).
        assert min(gaps) >= window_s - 0.05, gaps
    assert len(rows) < total / 20
    later = [r for r in rows if r.details["count"] > 1]
    assert all(r.reason.endswith("invalid, expired or revoked token") for r in later)
