"""Runs a plan as a dependency graph: independent steps at once, each step fanned out per host."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from opsconductor import kinds
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.connectors.base import ErrorKind
from opsconductor.connectors.registry import Connectors
from opsconductor.execution.hostguard import HostGuard, NoFleetGuard
from opsconductor.execution.states import STEP_TERMINAL_STATES, StepState
from opsconductor.inventory.models import Asset
from opsconductor.schemas.plan import PlanStep, PlanV1
from opsconductor.store.tables import utcnow

# Checks a step's targets right before it starts: the assets to connect to as they are now,
# or why the step must not run (the plan changed since it was approved).
TargetGuard = Callable[[PlanStep], Awaitable["dict[str, Asset] | str"]]


@dataclass
class StepOutcome:
    step_id: str
    tool: str
    target: str | None
    state: StepState = StepState.PENDING
    command: str | None = None
    exit_code: int | None = None
    output: str = ""
    error: str | None = None
    error_kind: str | None = None
    data: Any = None
    summary: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None
    # Set when a facts tool (`collects_facts`) succeeded with output its parser understood:
    # the recorder stores them as the host's facts with the unit's finish.
    facts: dict[str, Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


class Recorder(Protocol):
    """Persists what the engine does; each call returns once the change is written."""

    async def step_started(self, outcome: StepOutcome) -> None: ...

    async def step_output(self, outcome: StepOutcome, chunk: str) -> None: ...

    async def step_finished(self, outcome: StepOutcome) -> None: ...


@dataclass(frozen=True)
class EngineLimits:
    global_concurrency: int = 50
    sequential: bool = False  # level 3: one step at a time, in plan order
    abort_on_failure: bool = True
    # Level 3: the steps approved so far; the run stops before the first step not in it.
    approved_steps: frozenset[str] | None = None


class Engine:
    """Runs one plan. `cancel()` stops running commands (their processes are killed) and starts
    nothing new."""

    def __init__(
        self,
        plan: PlanV1,
        assets: dict[str, Asset],
        catalog: Catalog,
        connectors: Connectors,
        recorder: Recorder,
        limits: EngineLimits,
        guard: TargetGuard | None = None,
        hosts: HostGuard | None = None,
    ) -> None:
        self.plan = plan
        self.hosts: HostGuard = hosts or NoFleetGuard()
        self.assets = assets
        self.catalog = catalog
        self.connectors = connectors
        self.recorder = recorder
        self.limits = limits
        self.guard = guard
        self.outcomes: dict[tuple[str, str | None], StepOutcome] = {}
        self._guarded: dict[str, asyncio.Task[dict[str, Asset] | str]] = {}
        self.awaiting_approval: str | None = None  # level 3: the step that needs one next
        self.plan_changed: str | None = None
        self._slots = asyncio.Semaphore(1 if limits.sequential else limits.global_concurrency)
        self._host_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = False
        self.cancelled = False

    def units(self) -> list[StepOutcome]:
        """One outcome per step per target (one for an inventory step), in plan order."""
        if not self.outcomes:
            for step in self.plan.steps:
                on_hosts = self.catalog.get(step.tool).runs_on_hosts
                for target in step.targets if on_hosts else [None]:
                    self.outcomes[(step.id, target)] = StepOutcome(step.id, step.tool, target)
        return list(self.outcomes.values())

    def restore(self, settled: dict[tuple[str, str | None], StepOutcome]) -> None:
        """Take over what an earlier run of this execution settled; those units do not run
        again, and the steps depending on them see their state."""
        for key, unit in self.outcomes.items():
            done = settled.get(key)
            if done is None or done.state not in STEP_TERMINAL_STATES:
                continue
            for name in ("state", "command", "exit_code", "output", "error", "error_kind"):
                setattr(unit, name, getattr(done, name))
            unit.data, unit.summary = done.data, done.summary
            unit.started_at, unit.completed_at = done.started_at, done.completed_at
            unit.done.set()

    async def run(self) -> list[StepOutcome]:
        steps = {step.id: step for step in self.plan.steps}
        units = self.units()
        todo = [u for u in units if not u.done.is_set()]
        if self.limits.sequential:
            for unit in todo:
                approved = self.limits.approved_steps
                if approved is not None and unit.step_id not in approved and not self._stop:
                    self.awaiting_approval = unit.step_id  # it and the rest stay pending
                    break
                await self._run_unit(steps[unit.step_id], unit)
            return units
        self._tasks = [asyncio.create_task(self._run_unit(steps[u.step_id], u)) for u in todo]
        # Units record their own cancellation; gather must not stop at the first one.
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                raise result  # a bug, not an outcome: the runner records it as a failure
        return units

    def cancel(self) -> None:
        if self.cancelled:
            return  # a second request must not interrupt the recording of the first
        self.cancelled = True
        self._stop = True
        for task in self._tasks:
            task.cancel()

    async def _run_unit(self, step: PlanStep, unit: StepOutcome) -> None:
        try:
            for dependency in self._dependencies(step, unit.target):
                await dependency.done.wait()
            blocked = [d for d in self._dependencies(step, unit.target) if d.state != "succeeded"]
            if self._stop or blocked:
                unit.state = StepState.CANCELLED if self.cancelled else StepState.SKIPPED
                unit.error = "cancelled" if self.cancelled else _skip_reason(blocked)
                await self.recorder.step_finished(unit)
                return
            await self._execute(step, unit)
        except asyncio.CancelledError:
            await self._record_cancel(unit)
        finally:
            unit.done.set()

    def _dependencies(self, step: PlanStep, target: str | None) -> list[StepOutcome]:
        found = []
        for dep in step.depends_on:
            same_host = self.outcomes.get((dep, target))
            if same_host is not None:
                found.append(same_host)
            else:  # a dependency not fanned out over the same hosts: wait for all of it
                found += [o for (s, _), o in self.outcomes.items() if s == dep]
        return found

    async def _execute(self, step: PlanStep, unit: StepOutcome) -> None:
        tool = self.catalog.get(step.tool)
        async with self._slots:
            if unit.target is not None and not step.read_only:
                # At most one change at a time on a host, whatever else runs beside it: in
                # this run, and (with a fleet guard) in every other process.
                async with self._host_locks[unit.target], self.hosts.hold(unit.target):
                    await self._start_and_run(step, tool, unit)
            else:
                await self._start_and_run(step, tool, unit)
        if unit.state != StepState.SUCCEEDED and self.limits.abort_on_failure:
            self._stop = True

    async def _start_and_run(self, step: PlanStep, tool: ToolSpec, unit: StepOutcome) -> None:
        if self._stop:
            unit.state = StepState.CANCELLED if self.cancelled else StepState.SKIPPED
            unit.error = "cancelled" if self.cancelled else "not started: the plan aborted"
            await self.recorder.step_finished(unit)
            return
        if unit.target is not None and self.guard is not None:
            checked = await self._check_targets(step)
            if isinstance(checked, str):
                self.plan_changed = checked
                self._stop = True  # nothing more runs anywhere: the approval no longer holds
                unit.state, unit.error_kind = StepState.SKIPPED, "plan_changed"
                unit.error = f"not started: the plan changed: {checked}"
                await self.recorder.step_finished(unit)
                return
            self.assets[unit.target] = checked[unit.target]
        kind = kinds.kind_of(tool)
        unit.state = StepState.RUNNING
        unit.started_at = utcnow()
        unit.command = kind.display(tool, step.inputs)
        await self.recorder.step_started(unit)  # written before the command starts

        async def stream(chunk: str) -> None:
            await self.recorder.step_output(unit, chunk)

        call = kinds.StepCall(
            tool=tool,
            inputs=step.inputs,
            targets=step.targets,
            host=self.assets[unit.target] if unit.target is not None else None,
            timeout_s=step.timeout_s,
            connectors=self.connectors,
            on_output=stream,
        )
        ran = await kind.run(call)
        _finish(unit, ran)
        unit.facts = _facts(tool, ran)
        await self.recorder.step_finished(unit)

    async def _check_targets(self, step: PlanStep) -> dict[str, Asset] | str:
        """The guard's verdict on a step, asked once however many hosts it fans out to."""
        assert self.guard is not None
        if step.id not in self._guarded:
            self._guarded[step.id] = asyncio.ensure_future(self.guard(step))
        return await asyncio.shield(self._guarded[step.id])

    async def _record_cancel(self, unit: StepOutcome) -> None:
        unit.state = StepState.CANCELLED
        unit.error_kind = ErrorKind.CANCELLED.value
        unit.error = "cancelled while running" if unit.started_at else "cancelled"
        unit.completed_at = utcnow()
        await asyncio.shield(self.recorder.step_finished(unit))


def _finish(unit: StepOutcome, ran: kinds.StepRun) -> None:
    result, parsed = ran.result, ran.parsed
    unit.completed_at = utcnow()
    unit.exit_code = result.exit_code
    unit.output = result.stdout
    if result.ok:
        unit.state = StepState.SUCCEEDED
        unit.data = parsed.data if parsed else None
        unit.summary = parsed.summary if parsed else "done"
        return
    unit.state = StepState.TIMED_OUT if result.error_kind is ErrorKind.TIMEOUT else StepState.FAILED
    unit.error_kind = result.error_kind.value if result.error_kind else None
    unit.error = result.error
    unit.summary = result.error or "failed"


def _facts(tool: ToolSpec, ran: kinds.StepRun) -> dict[str, Any] | None:
    """What a facts tool's successful run says of its host; None for any other run, and for
    output its parser did not understand (its text is no fact)."""
    parsed = ran.parsed
    if not tool.collects_facts or not ran.result.ok or parsed is None or not parsed.recognised:
        return None
    return parsed.data if isinstance(parsed.data, dict) else None


def _skip_reason(blocked: list[StepOutcome]) -> str:
    first = blocked[0]
    return f"not run: {first.step_id} did not succeed" + (
        f" on {first.target}" if first.target else ""
    )
