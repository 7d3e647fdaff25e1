"""Approvals: confirmation, four-eyes, binding to the plan's hash, expiry, denial; and real
execution on a `local` asset once approved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.errors import (
    ApprovalAlreadyDecided,
    ApprovalExpired,
    NotPermitted,
    PlanChanged,
    SelfApprovalForbidden,
)
from opsconductor.identity.models import Role
from opsconductor.store.tables import ApprovalRow, AuditEventRow, ExecutionRow, utcnow


async def test_confirmed_disk_check_runs_locally_and_answers_from_data(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(
        "check disk space on ops-console", requester="alice", confirm=True
    )
    assert answer.execution_state == "succeeded", answer.response.message
    assert answer.response.type == "execution_result"
    assert answer.response.message.startswith("ops-console: / is ")
    assert answer.result is not None
    step = answer.result.step_results[0]
    assert step.exit_code == 0 and step.target == "ops-console"
    assert any(row["mount"] == "/" for row in step.data)
    assert answer.result.approved_by == ["alice"]


async def test_level_two_refuses_the_requester_and_accepts_another(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("reboot web-prod-01", requester="alice")
    assert asked.plan is not None and asked.plan.approval_level == 2
    with pytest.raises(SelfApprovalForbidden):
        await conductor.pipeline.approve(asked.approval_ids[0], "alice")
    approved = await conductor.pipeline.approve(asked.approval_ids[0], "bob")
    # web-prod-01 (ssh) has no trusted host key here: refused before any connection is made.
    assert approved.execution_state == "failed"
    assert approved.result is not None
    step = approved.result.step_results[0]
    assert step.error_kind == "host_key_mismatch" and "no trusted host key" in (step.error or "")
    async with conductor.db.session() as session:
        refused = await session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "decision_refused")
        )
        assert [r.actor for r in refused] == ["alice"]


async def test_changed_plan_voids_the_approval(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("restart service nginx on ops-console", requester="alice")
    async with conductor.db.session() as session:
        execution = await session.get(ExecutionRow, asked.execution_id)
        assert execution is not None
        tampered = dict(execution.plan)
        tampered["steps"] = [{**tampered["steps"][0], "targets": ["web-prod-01"]}]
        execution.plan = tampered
    with pytest.raises(PlanChanged):
        await conductor.pipeline.approve(asked.approval_ids[0], "alice")


async def test_expired_approval_expires_the_execution(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("restart service nginx on ops-console", requester="alice")
    async with conductor.db.session() as session:
        await session.execute(
            update(ApprovalRow).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(ApprovalExpired):
        await conductor.pipeline.approve(asked.approval_ids[0], "alice")
    result = await conductor.executions.result(asked.execution_id or "")
    assert result.status == "expired" and result.step_results == []


async def test_denial_rejects_and_nothing_runs(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("restart service nginx on ops-console", requester="alice")
    await conductor.executions.deny(asked.approval_ids[0], "bob", "not during business hours")
    result = await conductor.executions.result(asked.execution_id or "")
    assert result.status == "rejected" and result.step_results == []
    with pytest.raises(ApprovalAlreadyDecided):
        await conductor.pipeline.approve(asked.approval_ids[0], "alice")


async def test_level_three_needs_each_step_approved_by_someone_else(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("drop database billing on ops-console", requester="alice")
    assert asked.plan is not None and asked.plan.approval_level == 3
    assert asked.plan.approval_points == [s.id for s in asked.plan.steps]
    with pytest.raises(SelfApprovalForbidden):
        await conductor.pipeline.approve(asked.approval_ids[0], "alice")
    async with conductor.db.session() as session:
        rows = list(await session.scalars(select(ApprovalRow)))
    assert len(rows) == len(asked.plan.steps)
    assert all(r.step_id in asked.plan.approval_points for r in rows)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.VIEWER, False), (Role.OPERATOR, False), (Role.APPROVER, True), (Role.ADMIN, True)],
)
async def test_level_two_needs_the_approver_role(
    conductor: OpsConductor, role: Role, allowed: bool
) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("reboot ops-console", requester="alice", dry_run=False)
    assert asked.plan is not None and asked.plan.approval_level == 2
    approval_id = asked.approval_ids[0]
    if not allowed:
        with pytest.raises(NotPermitted):
            await conductor.executions.approve(approval_id, "carol", role=role)
        return
    execution = await conductor.executions.approve(approval_id, "carol", role=role)
    assert execution.state == "approved"


async def test_operator_confirms_only_own_level_one(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("restart service nginx on ops-console", requester="alice")
    with pytest.raises(NotPermitted):
        await conductor.executions.approve(asked.approval_ids[0], "dave", role=Role.OPERATOR)
    execution = await conductor.executions.approve(
        asked.approval_ids[0], "alice", role=Role.OPERATOR
    )
    assert execution.state == "approved"


async def test_the_sweeper_expires_what_nobody_decided(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("restart service nginx on ops-console", requester="alice")
    async with conductor.db.session() as session:
        await session.execute(
            update(ApprovalRow).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await conductor.executions.expire_due() == 1
    result = await conductor.executions.result(asked.execution_id or "")
    assert result.status == "expired"
    assert await conductor.executions.expire_due() == 0


async def test_approvals_of_an_ended_execution_are_withdrawn(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    cancelled = await conductor.pipeline.ask("reboot web-prod-01", requester="alice")
    denied = await conductor.pipeline.ask("reboot web-prod-02", requester="alice")
    assert cancelled.execution_id and denied.execution_id
    await conductor.executions.cancel(cancelled.execution_id, "alice", "not today")
    await conductor.executions.deny(denied.approval_ids[0], "bob", "no")
    async with conductor.db.reader() as session:
        statuses = {
            row.execution_id: row.status for row in await session.scalars(select(ApprovalRow))
        }
    assert statuses == {cancelled.execution_id: "withdrawn", denied.execution_id: "denied"}
    with pytest.raises(ApprovalAlreadyDecided):
        await conductor.pipeline.approve(cancelled.approval_ids[0], "bob")
