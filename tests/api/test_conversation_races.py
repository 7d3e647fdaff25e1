"""Concurrent turns of one conversation over the real API, on SQLite and PostgreSQL: many first
turns of a new conversation all get a normal answer (no 5xx), the row they leave holds the
whole context of one of them (never a mix), and two owners of the same id never see each
other's context."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select
from tests.api.harness import Api

from opsconductor.identity.models import Role
from opsconductor.store.tables import ConversationRow

# Each turn names its own action and host, so a stored context that mixed two turns (the
# intent of one, the targets of another) is seen.
FIRST_TURNS = [
    ("restart nginx on web-prod-01", "restart_service", ["web-prod-01"]),
    ("check disk space on web-prod-02", "check_disk", ["web-prod-02"]),
    ("restart nginx on app-prod-01", "restart_service", ["app-prod-01"]),
    ("check disk space on app-prod-02", "check_disk", ["app-prod-02"]),
    ("restart nginx on db-staging-01", "restart_service", ["db-staging-01"]),
    ("check disk space on ops-console", "check_disk", ["ops-console"]),
    ("check memory on web-prod-01", "check_memory", ["web-prod-01"]),
    ("check memory on app-prod-02", "check_memory", ["app-prod-02"]),
]
ROUNDS = 5


async def post_turn(api: Api, role: Role, text: str, conversation_id: str) -> httpx.Response:
    return await api.client.post(
        "/requests",
        json={"text": text, "dry_run": True, "conversation_id": conversation_id},
        headers=api.headers(role),
    )


async def stored(api: Api, owner: str, conversation_id: str) -> dict[str, Any]:
    async with api.conductor.db.reader() as session:
        rows = list(
            await session.scalars(
                select(ConversationRow).where(
                    ConversationRow.owner == owner, ConversationRow.id == conversation_id
                )
            )
        )
    assert len(rows) == 1, rows
    return rows[0].context


def read(document: dict[str, Any]) -> tuple[str, list[str]]:
    """The action and targets a planned answer was read as."""
    [step] = document["plan"]["steps"]
    return document["decision"]["intent"]["action"], step["targets"]


async def test_concurrent_first_turns_all_answer_and_leave_one_whole_context(api: Api) -> None:
    for round_ in range(ROUNDS):
        conversation_id = f"race-{round_}"
        answers = await asyncio.gather(
            *(post_turn(api, Role.OPERATOR, text, conversation_id) for text, _, _ in FIRST_TURNS)
        )
        assert [a.status_code for a in answers] == [200] * len(FIRST_TURNS), [
            a.text for a in answers if a.status_code != 200
        ]
        # Each turn is answered as itself: its own action on its own host, nothing borrowed
        # from a turn that ran beside it.
        for answer, (text, action, targets) in zip(answers, FIRST_TURNS, strict=True):
            document = answer.json()
            assert document["conversation_id"] == conversation_id
            assert read(document) == (action, targets), (text, document["decision"])
            assert document["decision"]["read_as"] is None, (text, document["decision"])
        context = await stored(api, "alice", conversation_id)
        kept = (context["intent"]["action"], context["targets"])
        assert kept in [(action, targets) for _, action, targets in FIRST_TURNS], context
        text = next(t for t, a, tg in FIRST_TURNS if (a, tg) == kept)
        assert context["turns"][-1] == text and context["said"] == text, context
        # The conversation goes on from the context that was kept.
        follow = await post_turn(api, Role.OPERATOR, "and on web-prod-02?", conversation_id)
        assert read(follow.json()) == (kept[0], ["web-prod-02"]), follow.json()["decision"]


async def test_two_owners_racing_on_one_id_never_see_each_others_context(api: Api) -> None:
    for round_ in range(ROUNDS):
        conversation_id = f"shared-{round_}"
        firsts = await asyncio.gather(
            post_turn(api, Role.OPERATOR, "restart nginx on web-prod-01", conversation_id),
            post_turn(api, Role.APPROVER, "check disk space on app-prod-02", conversation_id),
        )
        assert [a.status_code for a in firsts] == [200, 200], [a.text for a in firsts]
        follows = await asyncio.gather(
            post_turn(api, Role.OPERATOR, "and on db-staging-01?", conversation_id),
            post_turn(api, Role.APPROVER, "and on db-staging-01?", conversation_id),
            post_turn(api, Role.ADMIN, "and on db-staging-01?", conversation_id),
        )
        alice, bob, root = (f.json() for f in follows)
        assert read(alice) == ("restart_service", ["db-staging-01"]), alice["decision"]
        assert read(bob) == ("check_disk", ["db-staging-01"]), bob["decision"]
        # A third user with the same id has no context at all: the words alone are read
        # (details of the host), nothing borrowed from the other two.
        assert root["decision"]["read_as"] is None, root["decision"]
        assert root["decision"]["intent"]["action"] == "asset_details", root["decision"]
        assert (await stored(api, "alice", conversation_id))["targets"] == ["db-staging-01"]
        assert (await stored(api, "bob", conversation_id))["intent"]["action"] == "check_disk"
