"""Level 3 runs step by step: each step's approval is asked for when it is next, with the
results so far in view; a step never runs before its own approval; with the setting off, each
step needs an approver who has not approved another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.errors import SelfApprovalForbidden
from opsconductor.store.tables import ApprovalRow, ExecutionEventRow

TOOLSET = """
toolset: level-three-tests
tools:
  - name: tests.first_mark
    summary: Leave the first mark
    category: maintenance
    action: first_mark
    platforms: [linux]
    connector: shell
    command: [touch, '{first}']
    risk: critical
    read_only: false
    reversible: false
    estimate_s: 1
    timeout_s: 30
    examples: ['leave the first mark on {{host}}']
  - name: tests.second_mark
    summary: Leave the second mark
    category: maintenance
    action: second_mark
    platforms: [linux]
    connector: shell
    command: [touch, '{second}']
    risk: critical
    read_only: false
    reversible: false
    estimate_s: 1
    timeout_s: 30
    examples: ['leave the second mark on {{host}}']
  - name: tests.both_marks
    summary: Leave both marks, one after the other
    category: maintenance
    action: both_marks
    platforms: [linux]
    connector: workflow
    steps:
      - {{id: first, tool: tests.first_mark}}
      - {{id: second, tool: tests.second_mark, depends_on: [first]}}
    risk: critical
    read_only: false
    reversible: false
    estimate_s: 2
    timeout_s: 60
    examples: ['purge the marker files on {{host}}']
"""


@pytest.fixture
async def marks(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[OpsConductor, Path]]:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    first, second = tmp_path / "first", tmp_path / "second"
    (catalog / "marks.yaml").write_text(TOOLSET.format(first=first, second=second))
    update = {"catalog_dirs": [catalog], "level3_one_approver_may_approve_all": False}
    conductor = await OpsConductor.open(settings.model_copy(update=update))
    await seed(conductor, FLEET)
    try:
        yield conductor, tmp_path
    finally:
        await conductor.close()


async def test_each_step_is_approved_when_it_is_next(marks: tuple[OpsConductor, Path]) -> None:
    conductor, folder = marks
    asked = await conductor.pipeline.ask("purge the marker files on ops-console", requester="alice")
    assert asked.plan is not None and asked.plan.approval_level == 3, asked.response.message
    [first_approval] = asked.approval_ids  # the second step's does not exist yet
    with pytest.raises(SelfApprovalForbidden):
        await conductor.pipeline.approve(first_approval, "alice")

    after_first = await conductor.pipeline.approve(first_approval, "bob")
    assert after_first.execution_state == "pending_approval"
    assert (folder / "first").exists() and not (folder / "second").exists()
    async with conductor.db.reader() as session:
        [second] = await session.scalars(select(ApprovalRow).where(ApprovalRow.status == "pending"))
        events = list(
            await session.scalars(
                select(ExecutionEventRow.data).where(ExecutionEventRow.type == "approval_required")
            )
        )
    assert second.step_id == "both_marks.second" and second.execution_id == asked.execution_id
    [shown] = events[-1]["results_so_far"]
    assert shown["step_id"] == "both_marks.first" and shown["state"] == "succeeded"

    with pytest.raises(SelfApprovalForbidden, match="approved an earlier step"):
        await conductor.pipeline.approve(second.id, "bob")  # the setting asks for another approver
    assert not (folder / "second").exists()
    done = await conductor.pipeline.approve(second.id, "carol")
    assert done.execution_state == "succeeded", done.response.message
    assert (folder / "second").exists()
    assert done.result is not None and done.result.approved_by == ["bob", "carol"]
