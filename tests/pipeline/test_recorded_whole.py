"""A level-0 inventory question is recorded, claimed, run and finished in one transaction
(`ExecutionService.create_and_run`). What it leaves must read as any other run does, and a run
that crashes inside that transaction must still be recorded once, as failed. Real SQLite and
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, text
from tests.conftest import seed, workstations

from opsconductor.app import OpsConductor
from opsconductor.store.audit_verify import verify_chain
from opsconductor.store.tables import AuditEventRow, ExecutionEventRow, ExecutionRow, StepRunRow


async def trail(conductor: OpsConductor, execution_id: str) -> tuple[list[str], list[str]]:
    """The execution's audit actions with their states, and its stored event types."""
    async with conductor.db.reader() as session:
        audit = await session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.stream == f"execution:{execution_id}")
            .order_by(AuditEventRow.seq)
        )
        actions = [f"{a.action}:{a.from_state}>{a.to_state}" for a in audit]
        events = await session.scalars(
            select(ExecutionEventRow.type)
            .where(ExecutionEventRow.execution_id == execution_id)
            .order_by(ExecutionEventRow.id)
        )
        return actions, list(events)


async def test_a_question_recorded_whole_reads_back_as_it_was_answered(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, workstations(3))
    answer = await conductor.pipeline.ask("how many assets do we have?", requester="ann")

    assert answer.execution_state == "succeeded"
    assert answer.response.message.startswith("You have 3 assets")
    assert answer.execution_id is not None
    stored = await conductor.executions.result(answer.execution_id)
    assert answer.result is not None
    # What the answer said is what the store holds, field by field.
    assert stored.model_dump() == answer.result.model_dump()
    assert stored.worker == "inline:ann"
    actions, events = await trail(conductor, answer.execution_id)
    assert actions == [
        "created:None>approved",
        "transition:None>running",
        "transition:pending>running",
        "transition:running>succeeded",
        "transition:running>succeeded",
    ]
    assert events == ["progress", "progress", "step_started", "step_complete", "complete"]
    async with conductor.db.reader() as session:
        report = await verify_chain(session)
    assert report.ok, report


async def test_a_run_that_crashes_in_its_one_transaction_is_recorded_once_as_failed(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, workstations(2))
    name = workstations(2)[0]["name"]
    async with conductor.db.session() as session:  # a row no validation would have let in
        await session.execute(
            text("UPDATE assets SET ip_address = 'not an address' WHERE name = :name"),
            {"name": name},
        )

    answer = await conductor.pipeline.ask(f"show details for {name}", requester="ann")

    assert answer.execution_state == "failed"
    assert "internal error" in answer.response.message
    async with conductor.db.reader() as session:
        executions = list(await session.scalars(select(ExecutionRow)))
        steps = list(await session.scalars(select(StepRunRow)))
    assert [e.id for e in executions] == [answer.execution_id]
    assert steps == []  # the undone run left no step behind
    actions, _ = await trail(conductor, answer.execution_id or "")
    assert actions[0] == "created:None>approved"
    assert actions[-1] == "transition:running>failed"


async def test_a_run_on_a_host_answers_what_the_store_holds(conductor: OpsConductor) -> None:
    """A run that touches a host commits each change on its own; its answer is built from
    what it wrote, not read back, and must equal what the store then holds."""
    local = {
        "name": "ops-console",
        "hostname": "localhost",
        "ip_address": "127.0.0.1",
        "os_type": "linux",
        "device_type": "server",
        "connection": {"protocol": "local"},
    }
    await seed(conductor, [local])
    answer = await conductor.pipeline.ask(
        "check uptime on ops-console", requester="ann", confirm=True
    )

    assert answer.execution_state == "succeeded", answer.response.message
    assert answer.result is not None and answer.execution_id is not None
    stored = await conductor.executions.result(answer.execution_id)
    assert stored.model_dump() == answer.result.model_dump()
    assert [s.status for s in stored.step_results] == ["succeeded"]
    assert stored.approved_by == ["ann"]


async def test_a_dry_run_never_says_it_runs(conductor: OpsConductor) -> None:
    await seed(conductor, workstations(2))
    answer = await conductor.pipeline.ask(
        "how many assets do we have?", requester="ann", dry_run=True
    )
    assert answer.plan is not None and answer.execution_id is None
    assert "running" not in answer.response.message.lower()
    assert answer.response.message.startswith("No approval needed: ")
