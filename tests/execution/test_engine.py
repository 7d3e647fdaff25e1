"""The engine through a real runner and store, its hosts a handler-driven fake connector: a
graph runs in parallel where it may and in order where it must, each host takes one change at
a time, and every way a command can end becomes the step's state and error kind. The tests
wait for what they check (a barrier, an event), never for a fixed time. What crosses the wire
(processes killed on the host, output capped) is tested on real processes and real sshd."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.brain.rules import RulesBrain
from opsconductor.catalog.loader import load_catalog
from opsconductor.config import load_settings
from opsconductor.connectors.base import CommandResult, ErrorKind
from opsconductor.connectors.fake import FakeCall, FakeConnector, Handler
from opsconductor.connectors.local import LocalConnector
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.credentials.run_secrets import RunSecrets
from opsconductor.execution.events import Event, InProcessEventBus
from opsconductor.execution.states import ExecutionState
from opsconductor.schemas.common import Mode, RiskLevel
from opsconductor.schemas.decision import DecisionV1
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanStep, PlanV1
from opsconductor.store.database import Database

TOOLSET = """
toolset: testing
tools:
  - name: testing.work
    summary: Do the work named by its label
    category: testing
    action: work
    platforms: [linux]
    connector: shell
    command: [work, '{label}']
    parameters:
      label: {pattern: '^[a-z0-9-]+$'}
    risk: low
    read_only: true
    reversible: true
    estimate_s: 1
    timeout_s: 5
    examples: ['work on {host}']
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

WEB = ["web-prod-01", "web-prod-02"]
FOUR = [*WEB, "app-prod-01", "app-prod-02"]
PATIENCE_S = 10  # how long a barrier waits before the test calls it a failure


def step(
    step_id: str,
    depends: list[str] | None = None,
    *,
    targets: list[str] | None = None,
    timeout: float = 30,
    read_only: bool = True,
    tool: str = "testing.work",
) -> PlanStep:
    return PlanStep(
        id=step_id,
        tool=tool,
        description=step_id,
        targets=targets or ["web-prod-01"],
        inputs={"label": step_id} if tool == "testing.work" else {},
        depends_on=depends or [],
        estimate_s=1,
        timeout_s=timeout,
        read_only=read_only,
        risk_level=RiskLevel.LOW,
    )


class Hosts:
    """What the fake hosts saw: starts and ends in order, and how many runs each host had at
    once. A test's handler calls `begin` and `end` around its work."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []  # (event, step label, host)
        self.running: Counter[str] = Counter()
        self.most_at_once: Counter[str] = Counter()
        self.changed = asyncio.Event()

    def begin(self, call: FakeCall) -> None:
        host = call.asset.name
        self.log.append(("start", call.command.argv[1], host))
        self.running[host] += 1
        self.most_at_once[host] = max(self.most_at_once[host], self.running[host])
        self._notify()

    def end(self, call: FakeCall) -> None:
        self.log.append(("end", call.command.argv[1], call.asset.name))
        self.running[call.asset.name] -= 1
        self._notify()

    def started(self, label: str) -> list[str]:
        return [host for event, name, host in self.log if event == "start" and name == label]

    def ended(self, label: str, host: str) -> bool:
        return ("end", label, host) in self.log

    async def until(self, check: Callable[[], object], within_s: float = PATIENCE_S) -> bool:
        """Wait until `check()` holds, at most `within_s`; whether it came to hold."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                while not check():
                    await self.changed.wait()
        return bool(check())

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Path, list[OpsConductor]]]:
    conductors: list[OpsConductor] = []
    yield tmp_path, conductors
    for conductor in conductors:
        await conductor.close()


async def fleet(
    opened: tuple[Path, list[OpsConductor]], handler: Handler, calls: list[FakeCall] | None = None
) -> OpsConductor:
    """A conductor whose ssh hosts are `handler`; `ops-console` runs real local processes."""
    tmp_path, conductors = opened
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "testing.yaml").write_text(TOOLSET, encoding="utf-8")
    settings = load_settings(
        home=tmp_path / "home", catalog_dirs=[tmp_path / "cat"], output_limit_bytes=65536
    )
    catalog = load_catalog(settings.catalog_dirs)

    def local(secrets: RunSecrets) -> LocalConnector:
        return LocalConnector(settings.output_limit_bytes, secrets=secrets)

    registry = ConnectorRegistry({"ssh": FakeConnector.factory(handler, calls), "local": local})
    db = await Database.connect(settings)
    conductor = OpsConductor(
        settings, db, catalog, RulesBrain(catalog), InProcessEventBus(), registry
    )
    conductors.append(conductor)
    await seed(conductor, FLEET)
    return conductor


async def create(conductor: OpsConductor, steps: list[PlanStep]) -> str:
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
    return row.id


async def run(conductor: OpsConductor, steps: list[PlanStep]) -> ExecutionResultV1:
    return await conductor.executions.run(await create(conductor, steps), worker="test")


def by_unit(result: ExecutionResultV1) -> dict[tuple[str, str | None], str]:
    return {(s.step_id, s.target): s.status for s in result.step_results}


async def test_independent_steps_overlap_and_dependents_wait(
    opened: tuple[Path, list[OpsConductor]],
) -> None:
    hosts = Hosts()

    async def handler(call: FakeCall) -> CommandResult:
        hosts.begin(call)
        if call.command.argv[1] in {"a", "b"}:  # each holds until the other has started
            assert await hosts.until(lambda: hosts.started("a") and hosts.started("b"))
        hosts.end(call)
        return call.exit(0, stdout="done\n")

    conductor = await fleet(opened, handler)
    result = await run(conductor, [step("a"), step("b"), step("c", ["a", "b"])])
    assert result.status == "succeeded", result.step_results
    assert hosts.log.index(("start", "c", "web-prod-01")) > max(
        hosts.log.index(("end", "a", "web-prod-01")), hosts.log.index(("end", "b", "web-prod-01"))
    )


async def test_a_step_fans_out_and_each_host_follows_only_its_own_dependency(
    opened: tuple[Path, list[OpsConductor]],
) -> None:
    hosts = Hosts()

    def changes_on(host: str) -> int:
        events = [e for e, label, h in hosts.log if h == host and label.startswith("change")]
        return events.count("start") - events.count("end")

    async def handler(call: FakeCall) -> CommandResult:
        hosts.begin(call)
        label, host = call.command.argv[1], call.asset.name
        if label == "check":  # all four at once, or none gets past here
            assert await hosts.until(lambda: len(hosts.started("check")) == 4)
        if label == "check" and host == "web-prod-02":  # held until web-prod-01 moved on
            assert await hosts.until(lambda: hosts.ended("fix", "web-prod-01"))
        hosts.end(call)
        return call.exit(0)

    conductor = await fleet(opened, handler)
    result = await run(
        conductor, [step("check", targets=FOUR), step("fix", ["check"], targets=WEB)]
    )
    assert result.status == "succeeded", result.step_results
    assert sorted(hosts.started("check")) == sorted(FOUR)
    assert sorted(hosts.started("fix")) == sorted(WEB)
    assert hosts.log.index(("start", "fix", "web-prod-02")) > hosts.log.index(
        ("end", "check", "web-prod-02")
    )


async def test_changes_on_one_host_never_overlap_while_reads_do(
    opened: tuple[Path, list[OpsConductor]],
) -> None:
    hosts = Hosts()

    def changes_on(host: str) -> int:
        events = [e for e, label, h in hosts.log if h == host and label.startswith("change")]
        return events.count("start") - events.count("end")

    async def handler(call: FakeCall) -> CommandResult:
        hosts.begin(call)
        label, host = call.command.argv[1], call.asset.name
        if label.startswith("read"):
            assert await hosts.until(
                lambda: bool(hosts.started("read-1") and hosts.started("read-2"))
            )
        else:  # a change holds its host a while, or until another change starts beside it
            await hosts.until(lambda: changes_on(host) > 1, within_s=0.1)
        hosts.end(call)
        return call.exit(0)

    conductor = await fleet(opened, handler)
    changes = [step(f"change-{i}", targets=WEB, read_only=False) for i in range(3)]
    result = await run(conductor, [*changes, step("read-1"), step("read-2")])
    assert result.status == "succeeded", result.step_results
    changes_at_once = Counter[str]()
    running = Counter[str]()
    for event, label, host in hosts.log:
        if label.startswith("change"):
            running[host] += 1 if event == "start" else -1
            changes_at_once[host] = max(changes_at_once[host], running[host])
    assert changes_at_once == Counter({"web-prod-01": 1, "web-prod-02": 1})
    assert hosts.most_at_once["web-prod-01"] >= 2  # the reads ran together


async def test_a_timeout_stops_the_command_and_skips_its_dependents(
    opened: tuple[Path, list[OpsConductor]],
) -> None:
    calls: list[FakeCall] = []

    async def handler(call: FakeCall) -> CommandResult:
        await call.output("working\n")
        await asyncio.Event().wait()  # never ends by itself
        raise AssertionError("not reached")

    conductor = await fleet(opened, handler, calls)
    result = await run(conductor, [step("slow", timeout=0.2), step("after", ["slow"])])
    slow = result.step_results[0]
    assert (slow.status, slow.error_kind, slow.output) == ("timed_out", "timeout", "working\n")
    assert by_unit(result)[("after", "web-prod-01")] == "skipped"
    assert result.status == "timed_out"
    assert [c.command.argv[1] for c in calls] == ["slow"] and calls[0].cancelled


async def test_cancel_while_running_stops_the_command(
    opened: tuple[Path, list[OpsConductor]],
) -> None:
    hosts = Hosts()
    saw: list[str] = []

    async def handler(call: FakeCall) -> CommandResult:
        hosts.begin(call)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            saw.append(call.asset.name)
            raise
        raise AssertionError("not reached")

    conductor = await fleet(opened, handler)
    execution_id = await create(
        conductor, [step("long", targets=WEB), step("then", ["long"], targets=WEB)]
    )
    running = asyncio.create_task(conductor.executions.run(execution_id, worker="test"))
    assert await hosts.until(lambda: len(hosts.started("long")) == 2)  # both hosts at work
    cancelled = await conductor.executions.cancel(execution_id, "alice", "changed my mind")
    await running
    assert cancelled.status == "cancelled"
    assert sorted(saw) == WEB
    units = {(s.step_id, s.target): (s.status, s.error_kind) for s in cancelled.step_results}
    assert units[("long", "web-prod-01")] == ("cancelled", "cancelled")
    assert units[("long", "web-prod-02")] == ("cancelled", "cancelled")
    assert {units[("then", h)][0] for h in WEB} == {"cancelled"}


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        (ErrorKind.NON_ZERO_EXIT, "failed"),
        (ErrorKind.UNREACHABLE, "failed"),
        (ErrorKind.AUTH_FAILED, "failed"),
        (ErrorKind.HOST_KEY_MISMATCH, "failed"),
        (ErrorKind.NO_CONNECTOR, "failed"),
        (ErrorKind.TIMEOUT, "timed_out"),
    ],
)
async def test_each_error_kind_becomes_the_steps_state_and_kind(
    opened: tuple[Path, list[OpsConductor]], kind: ErrorKind, state: str
) -> None:
    def handler(call: FakeCall) -> CommandResult:
        if call.asset.name == "web-prod-02":
            return call.exit(0, stdout="fine\n")
        return CommandResult(exit_code=None, error_kind=kind, error=f"it went {kind.value}")

    conductor = await fleet(opened, handler)
    result = await run(conductor, [step("probe", targets=WEB)])
    units = {s.target: s for s in result.step_results}
    bad, good = units["web-prod-01"], units["web-prod-02"]
    assert (bad.status, bad.error_kind, bad.error) == (state, kind.value, f"it went {kind.value}")
    assert (good.status, good.error_kind, good.output) == ("succeeded", None, "fine\n")
    assert result.status == ExecutionState.PARTIALLY_SUCCEEDED


async def test_a_protocol_nothing_serves_is_no_connector(
    opened: tuple[Path, list[OpsConductor]],
) -> None:
    calls: list[FakeCall] = []
    conductor = await fleet(opened, lambda call: call.exit(0), calls)
    result = await run(conductor, [step("probe", targets=["ws-finance-01"])])
    assert result.step_results[0].status == "failed"
    assert result.step_results[0].error_kind == "no_connector"
    assert calls == []


async def test_output_streams_to_followers_as_it_arrives(
    opened: tuple[Path, list[OpsConductor]],
) -> None:
    first_seen = asyncio.Event()

    async def handler(call: FakeCall) -> CommandResult:
        await call.output("one\n")
        async with asyncio.timeout(PATIENCE_S):
            await first_seen.wait()  # a follower had it while the command still ran
        await call.output("two\n")
        return call.exit(0)

    conductor = await fleet(opened, handler)
    execution_id = await create(conductor, [step("talk")])
    events = conductor.events.subscribe(execution_id)
    chunks: list[str] = []

    async def follow() -> None:
        while True:
            event: Event = await events.get()
            if event.type == "step_output":
                chunks.append(event.data["chunk"])
                first_seen.set()

    follower = asyncio.create_task(follow())
    result = await conductor.executions.run(execution_id, worker="test")
    follower.cancel()
    assert result.status == "succeeded", result.step_results
    assert chunks == ["one\n", "two\n"]
    assert result.step_results[0].output == "one\ntwo\n"


async def test_output_is_capped_with_a_visible_marker(
    opened: tuple[Path, list[OpsConductor]],
) -> None:
    conductor = await fleet(opened, lambda call: call.exit(0))
    flood = step("f", tool="testing.flood", targets=["ops-console"])
    result = await run(conductor, [flood])  # a real local process, a real cap
    output = result.step_results[0].output
    assert "[output truncated at 65536 bytes]" in output
    assert len(output) < 70_000
