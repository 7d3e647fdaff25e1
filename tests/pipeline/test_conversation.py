"""Conversations: a follow-up is read with what the earlier turns were about, says how it was
read, never inherits an approval, belongs to its owner, and expires."""

from __future__ import annotations

from sqlalchemy import select
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.store.tables import ConversationRow, ExecutionRow


async def turn(conductor: OpsConductor, text: str, who: str = "alice", conv: str = "c1"):  # type: ignore[no-untyped-def]
    return await conductor.pipeline.ask(text, requester=who, dry_run=True, conversation_id=conv)


async def test_follow_ups_reuse_the_last_targets_service_and_intent(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, FLEET)
    first = await turn(conductor, "restart nginx on web-prod-02")
    assert first.plan is not None and not first.response.message.startswith("I read this as")
    elsewhere = await turn(conductor, "and on web-prod-01?")
    assert elsewhere.response.message.startswith("I read this as: restart nginx on web-prod-01.")
    assert elsewhere.plan is not None
    assert [(s.tool, s.targets) for s in elsewhere.plan.steps] == [
        ("linux.service_restart", ["web-prod-01"])
    ]
    memory = await turn(conductor, "what about memory?")
    assert memory.plan is not None
    assert [(s.tool, s.targets) for s in memory.plan.steps] == [("linux.memory", ["web-prod-01"])]
    again = await turn(conductor, "restart it")
    assert again.response.message.startswith("I read this as: restart nginx on web-prod-01.")
    assert again.to_answer().conversation_id == "c1"


async def test_a_clarification_is_answered_with_one_of_its_options(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, FLEET)
    asked = await turn(conductor, "check disk space on web-prd-01")
    assert asked.response.type == "clarification"
    clarification = asked.to_answer().decision.clarification  # type: ignore[union-attr]
    assert clarification is not None and clarification.options[0] == "web-prod-01"
    picked = await turn(conductor, "the first one")
    assert picked.plan is not None, picked.response.message
    assert picked.plan.steps[0].targets == ["web-prod-01"]
    assert picked.response.message.startswith("I read this as: check disk space on web-prod-01.")
    named = await turn(conductor, "check disk space on web-prd-01", conv="c2")
    assert named.response.type == "clarification"
    by_name = await turn(conductor, "web-prod-02", conv="c2")
    assert by_name.plan is not None and by_name.plan.steps[0].targets == ["web-prod-02"]


async def test_an_approval_never_carries_over_to_another_turn(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    first = await conductor.pipeline.ask(
        "check disk space on ops-console", requester="alice", confirm=True, conversation_id="c"
    )
    assert first.execution_state == "succeeded", first.response.message
    second = await conductor.pipeline.ask(
        "and on web-prod-01?", requester="alice", conversation_id="c"
    )
    assert second.plan is not None and second.execution_id is not None
    assert second.approval_status == "pending" and second.execution_state == "pending_approval"
    async with conductor.db.reader() as session:
        row = await session.get(ExecutionRow, second.execution_id)
    assert row is not None and row.state == "pending_approval"


async def test_a_conversation_belongs_to_its_owner(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    await turn(conductor, "restart nginx on web-prod-02", who="alice", conv="shared")
    stranger = await turn(conductor, "restart it", who="mallory", conv="shared")
    assert stranger.plan is None and stranger.response.type == "clarification"
    assert not stranger.response.message.startswith("I read this as")


async def test_context_expires(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    await turn(conductor, "restart nginx on web-prod-02")
    conductor.pipeline.settings = conductor.settings.model_copy(
        update={"conversation_ttl_s": 0.001}
    )
    late = await turn(conductor, "restart it")
    assert late.plan is None and late.response.type == "clarification"


async def test_a_turn_without_a_conversation_stands_alone(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    await turn(conductor, "restart nginx on web-prod-02")
    alone = await conductor.pipeline.ask("restart it", requester="alice", dry_run=True)
    assert alone.plan is None and alone.response.type == "clarification"
    async with conductor.db.reader() as session:
        rows = list(await session.scalars(select(ConversationRow)))
    assert [(r.owner, r.id) for r in rows] == [("alice", "c1")]
