"""Every clause kept: a request of several actions becomes ordered, dependent steps, all in the
preview, at the level of the riskiest; or one clarification naming the part not understood."""

from __future__ import annotations

import pytest
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor


async def plan_steps(conductor: OpsConductor, text: str) -> list[tuple[str, list[str], str]]:
    answer = await conductor.pipeline.plan(text)
    assert answer.plan is not None, answer.response.message
    return [(s.tool, s.targets, ",".join(s.depends_on)) for s in answer.plan.steps]


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("stop nginx on web-prod-01 and start it again", ["service_stop", "service_start"]),
        ("Stop nginx on web-prod-01, then start it", ["service_stop", "service_start"]),
        ("restart nginx on web-prod-02 then show its status", ["restart", "service_status"]),
        ("restart nginx on web-prod-02 and then check its status", ["restart", "service_status"]),
        ("check disk and memory on web-prod-01", ["disk_usage", "memory"]),
        ("bounce nginx on web-prod-01 and after that show the uptime", ["restart", "uptime"]),
    ],
)
async def test_each_clause_becomes_a_step_after_the_one_before(
    conductor: OpsConductor, text: str, tools: list[str]
) -> None:
    await seed(conductor, FLEET)
    steps = await plan_steps(conductor, text)
    assert len(steps) == len(tools)
    for (tool, targets, _), wanted in zip(steps, tools, strict=True):
        assert wanted in tool and targets, (text, steps)
    assert steps[0][2] == ""
    for position in range(1, len(steps)):
        previous_tool = steps[position - 1][0].replace(".", "_")
        assert previous_tool in steps[position][2], steps  # waits for the clause before


async def test_what_a_clause_leaves_out_comes_from_the_one_before(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.plan("stop postgres on web-prod-01 and start it again")
    assert answer.plan is not None
    assert [s.inputs.get("service") for s in answer.plan.steps] == ["postgres", "postgres"]
    assert [s.targets for s in answer.plan.steps] == [["web-prod-01"], ["web-prod-01"]]
    assert answer.response.message.startswith(
        "I read this as: stop postgres on web-prod-01 then start postgres on web-prod-01."
    )
    assert answer.response.preview is not None and len(answer.response.preview.steps) == 2
    assert answer.to_answer().decision is not None
    assert len(answer.to_answer().decision.clauses) == 2  # type: ignore[union-attr]


async def test_the_level_is_that_of_the_riskiest_clause(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    read_only = await conductor.pipeline.plan("check disk on web-prod-01")
    mixed = await conductor.pipeline.plan("check disk on web-prod-01 and reboot it")
    assert read_only.plan is not None and mixed.plan is not None
    assert mixed.plan.approval_level > read_only.plan.approval_level
    assert mixed.plan.approval_level >= 2
    assert [s.tool for s in mixed.plan.steps] == ["linux.disk_usage", "linux.reboot"]


async def test_a_clause_not_understood_stops_the_whole_request(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(
        "restart nginx on web-prod-01 and frobnicate the flux capacitor", requester="alice"
    )
    assert answer.plan is None and answer.execution_id is None
    assert answer.response.type == "clarification"
    assert "frobnicate the flux capacitor" in answer.response.message


async def test_two_hosts_joined_by_and_are_one_clause(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    steps = await plan_steps(conductor, "restart nginx on web-prod-01 and web-prod-02")
    assert steps == [("linux.service_restart", ["web-prod-01", "web-prod-02"], "")]


async def test_clauses_run_in_order_on_the_host(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(
        "check the uptime and memory on ops-console", requester="alice", confirm=True
    )
    assert answer.execution_state == "succeeded", answer.response.message
    assert answer.result is not None
    ran = [s for s in answer.result.step_results if s.status == "succeeded"]
    assert [s.tool for s in ran] == ["linux.uptime", "linux.memory"]
    assert ran[0].completed_at is not None and ran[1].started_at is not None
    assert ran[0].completed_at <= ran[1].started_at
