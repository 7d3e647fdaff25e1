"""The acceptance behaviours of the pipeline, end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select
from tests.conftest import FLEET, seed, workstations

from opsconductor.app import OpsConductor
from opsconductor.store.audit_verify import verify_chain
from opsconductor.store.tables import AuditEventRow, ExecutionRow, StepRunRow


async def count_rows(conductor: OpsConductor, table: type) -> int:
    async with conductor.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_asset_count_is_read_from_the_database(conductor: OpsConductor) -> None:
    await seed(conductor, workstations(6))
    answer = await conductor.pipeline.ask("How many assets do we have?", requester="alice")
    assert answer.response.message == "You have 6 assets in the system: 6 Windows workstations."
    assert answer.execution_state == "succeeded"
    assert answer.result is not None and answer.result.step_results[0].data["total"] == 6
    async with conductor.db.session() as session:
        actions = list(await session.scalars(select(AuditEventRow.to_state)))
        report = await verify_chain(session)
    assert {"approved", "running", "succeeded"} <= set(actions)
    assert report.ok and report.checked == len(actions)


async def test_count_follows_the_inventory(conductor: OpsConductor) -> None:
    await seed(conductor, workstations(2))
    first = await conductor.pipeline.ask("how many assets do we have", requester="alice")
    await seed(conductor, FLEET)
    second = await conductor.pipeline.ask("how many assets do we have", requester="alice")
    assert first.response.message.startswith("You have 2 assets")
    assert second.response.message.startswith("You have 9 assets")
    assert "6 Linux servers" in second.response.message


async def test_server_details_come_from_the_inventory(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask("Show server details for web-prod-01", requester="alice")
    assert answer.plan is not None and answer.plan.steps[0].targets == ["web-prod-01"]
    assert answer.response.message.startswith("web-prod-01: Linux server (Ubuntu 22.04)")
    assert "IP 10.0.1.10" in answer.response.message
    assert "web-prod-02" not in answer.response.message


async def test_group_list_resolves_against_inventory(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask("List all production linux servers", requester="alice")
    message = answer.response.message
    assert message.startswith("4 Linux servers in production")
    assert "db-staging-01" not in message and "ops-console" not in message


async def test_disk_check_needs_confirmation_and_runs_nothing_before(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask("check disk space on web-prod-01", requester="alice")
    assert answer.response.type == "approval_request"
    assert answer.plan is not None and answer.plan.approval_level == 1
    assert answer.approval_status == "pending" and len(answer.approval_ids) == 1
    preview = answer.response.preview
    assert preview is not None and preview.steps[0].commands == ["web-prod-01: df -P -k"]
    assert await count_rows(conductor, StepRunRow) == 0


async def test_restart_service_is_level_one_with_exact_command(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask("restart service nginx on web-prod-02", requester="alice")
    assert answer.plan is not None and answer.plan.approval_level == 1
    preview = answer.response.preview
    assert preview is not None and preview.reversible
    assert preview.steps[0].commands == ["web-prod-02: systemctl restart -- nginx"]
    assert preview.environments == ["production"]


async def test_deploy_needs_a_second_person_and_runs_in_background(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(
        "Deploy billing-api 2.3.1 to the app servers", requester="alice"
    )
    assert answer.plan is not None
    assert answer.plan.approval_level >= 2 and answer.plan.mode.value == "background"
    steps = {s.id: s for s in answer.plan.steps}
    assert steps["deploy.activate"].depends_on == ["deploy.fetch"]
    assert steps["deploy.fetch"].inputs == {"app": "billing-api", "version": "2.3.1"}
    assert set(steps["deploy.fetch"].targets) == {"app-prod-01", "app-prod-02"}
    assert answer.plan.rollback[0].tool == "linux.deploy_rollback"
    assert answer.to_document()["approval"]["status"] == "pending"
    confirmed = await conductor.pipeline.ask(
        "Deploy billing-api 2.3.1 to the app servers", requester="alice", confirm=True
    )
    assert confirmed.execution_state == "pending_approval"  # --yes cannot stand in for level 2
    assert await count_rows(conductor, StepRunRow) == 0


async def test_dry_run_records_nothing(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(
        "How many assets do we have?", requester="a", dry_run=True
    )
    assert answer.plan is not None and answer.execution_id is None
    assert await count_rows(conductor, ExecutionRow) == 0
