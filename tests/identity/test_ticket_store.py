"""Spending a stream ticket is a compare-and-set: of many uses at once, on separate
connections as on separate API replicas, exactly one succeeds (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from opsconductor.app import OpsConductor
from opsconductor.identity import repository as identity
from opsconductor.identity.models import Principal, Role
from opsconductor.identity.tickets import issue_ticket, redeem_ticket

USES = 8


async def test_concurrent_uses_of_one_ticket_give_exactly_one_success(
    conductor: OpsConductor,
) -> None:
    async with conductor.db.session() as session:
        await identity.create_user(session, "vera", Role.VIEWER, actor="test")
        _, token = await identity.create_token(session, "vera", actor="test")
        principal = await identity.authenticate(session, token)
        assert principal is not None
        issued = await issue_ticket(session, principal, None)
    start = asyncio.Event()

    async def use() -> Principal | None:
        await start.wait()
        async with conductor.db.session() as session:
            return await redeem_ticket(session, issued.ticket, "some-execution")

    uses = [asyncio.create_task(use()) for _ in range(USES)]
    await asyncio.sleep(0)  # every task waits at the start line
    start.set()
    results = await asyncio.gather(*uses)

    winners = [r for r in results if r is not None]
    assert winners == [Principal("vera", Role.VIEWER, token_id=principal.token_id)]
    assert results.count(None) == USES - 1


async def test_a_ticket_reads_its_user_at_use_time(conductor: OpsConductor) -> None:
    async with conductor.db.session() as session:
        await identity.create_user(session, "olga", Role.OPERATOR, actor="test")
        _, token = await identity.create_token(session, "olga", actor="test")
        principal = await identity.authenticate(session, token)
        assert principal is not None
        kept = await issue_ticket(session, principal)
        refused = await issue_ticket(session, principal)
    async with conductor.db.session() as session:
        assert await redeem_ticket(session, kept.ticket, "x") == principal
        await identity.set_user_disabled(session, "olga", True, actor="test")
    async with conductor.db.session() as session:
        assert await redeem_ticket(session, refused.ticket, "x") is None
        for malformed in ("", "ost_short", token, "x" * 10_000):
            assert await redeem_ticket(session, malformed, "x") is None
    assert "ost_" not in repr(kept)
