"""The engine on real local processes: a graph runs in parallel where it may, in order where
it must; timeouts kill; output is capped."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FLEET, seed

from opsconductor.config import load_settings
from opsconductor.pipeline.orchestrator import Conductor
from opsconductor.schemas.common import Mode, RiskLevel
from opsconductor.schemas.decision import DecisionV1
from opsconductor.schemas.plan import PlanStep, PlanV1

TOOLSET = """
toolset: testing
tools:
  - name: testing.sleep
    summary: Sleep, then print the time
    category: testing
    action: sleep
    platforms: [linux]
    connector: shell
    command: [sh, -c, 'sleep "$0"; date +%s.%N', '{seconds}']
    parameters:
      seconds: {pattern: '^[0-9.]+$'}
    risk: low
    read_only: true
    reversible: true
    estimate_s: 1
    timeout_s: 5
    examples: ['nap on {host}']
  - name: testing.flood
    summary: Print a lot
    category: testing
    action: flood
    platforms: [linux]
    connector: shell
    command: [head, -c, '3000000', /dev/zero]
    risk: low
    read_only: true
    reversible: true
    estimate_s: 1
    timeout_s: 5
    examples: ['flood {host}']
"""


def step(
    step_id: str,
    tool: str,
    depends: list[str],
    timeout: float = 5,
    read_only: bool = True,
    **inputs: str,
) -> PlanStep:
    return PlanStep(
        id=step_id,
        tool=tool,
        description=step_id,
        targets=["ops-console"],
        inputs=inputs,
        depends_on=depends,
        estimate_s=1,
        timeout_s=timeout,
        read_only=read_only,
        risk_level=RiskLevel.LOW,
    )


async def run_plan(tmp_path: Path, steps: list[PlanStep]) -> tuple[Conductor, str]:
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "testing.yaml").write_text(TOOLSET, encoding="utf-8")
    settings = load_settings(
        home=tmp_path / "home", catalog_dirs=[tmp_path / "cat"], output_limit_bytes=65536
    )
    conductor = await Conductor.open(settings)
    await seed(conductor, FLEET)
    plan = PlanV1(
        id="p1",
        request_id="r1",
        summary="test",
        steps=steps,
        approval_level=0,
        risk_level=RiskLevel.LOW,
        reversible=True,
        estimate_s=1,
        mode=Mode.IMMEDIATE,
    )
    decision = DecisionV1(request_id="r1", text="test", kind="action", intent=None, confidence=1)
    row, _ = await conductor.executions.create(
        text="t", decision=decision, plan=plan, requester="t"
    )
    await conductor.executions.run(row.id, worker="test")
    return conductor, row.id


async def test_independent_steps_overlap_and_dependents_wait(tmp_path: Path) -> None:
    steps = [
        step("a", "testing.sleep", [], seconds="0.6"),
        step("b", "testing.sleep", [], seconds="0.6"),
        step("c", "testing.sleep", ["a", "b"], seconds="0"),
    ]
    conductor, execution_id = await run_plan(tmp_path, steps)
    result = await conductor.executions.result(execution_id)
    await conductor.close()
    by_id = {s.step_id: s for s in result.step_results}
    assert result.status == "succeeded"
    a, b, c = by_id["a"], by_id["b"], by_id["c"]
    assert a.started_at and b.started_at and a.completed_at and b.completed_at and c.started_at
    assert a.started_at < b.completed_at and b.started_at < a.completed_at  # ran together
    assert c.started_at >= max(a.completed_at, b.completed_at)  # waited for both


async def test_timeout_kills_and_skips_dependents(tmp_path: Path) -> None:
    steps = [
        step("slow", "testing.sleep", [], timeout=0.5, seconds="30"),
        step("after", "testing.sleep", ["slow"], seconds="0"),
    ]
    conductor, execution_id = await run_plan(tmp_path, steps)
    result = await conductor.executions.result(execution_id)
    await conductor.close()
    by_id = {s.step_id: s for s in result.step_results}
    assert by_id["slow"].status == "timed_out" and by_id["slow"].error_kind == "timeout"
    assert by_id["slow"].duration_seconds is not None and by_id["slow"].duration_seconds < 5
    assert by_id["after"].status == "skipped"
    assert result.status == "timed_out"


async def test_output_is_capped_with_a_visible_marker(tmp_path: Path) -> None:
    conductor, execution_id = await run_plan(tmp_path, [step("f", "testing.flood", [])])
    result = await conductor.executions.result(execution_id)
    await conductor.close()
    output = result.step_results[0].output
    assert "[output truncated at 65536 bytes]" in output
    assert len(output) < 70_000


async def test_changes_on_one_host_never_overlap(tmp_path: Path) -> None:
    steps = [
        step("a", "testing.sleep", [], read_only=False, seconds="0.4"),
        step("b", "testing.sleep", [], read_only=False, seconds="0.4"),
    ]
    conductor, execution_id = await run_plan(tmp_path, steps)
    result = await conductor.executions.result(execution_id)
    await conductor.close()
    first, second = sorted(result.step_results, key=lambda s: s.started_at or 0)
    assert result.status == "succeeded"
    assert first.completed_at and second.started_at and second.started_at >= first.completed_at
