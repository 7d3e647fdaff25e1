"""Write the answer from what the steps returned: counts, per-host lines, failures named."""

from __future__ import annotations

from collections import defaultdict

from opsconductor.execution.engine import StepOutcome
from opsconductor.execution.states import ExecutionState, StepState

MAX_HOST_LINES = 20


def final_state(outcomes: list[StepOutcome], cancelled: bool) -> ExecutionState:
    succeeded = sum(1 for o in outcomes if o.state == StepState.SUCCEEDED)
    if cancelled:
        return ExecutionState.CANCELLED
    if succeeded == len(outcomes):
        return ExecutionState.SUCCEEDED
    if succeeded == 0:
        timed_out = any(o.state == StepState.TIMED_OUT for o in outcomes)
        if timed_out and all(o.state in {StepState.TIMED_OUT, StepState.SKIPPED} for o in outcomes):
            return ExecutionState.TIMED_OUT
        return ExecutionState.FAILED
    return ExecutionState.PARTIALLY_SUCCEEDED


def answer(outcomes: list[StepOutcome], state: ExecutionState, changing: set[str]) -> str:
    """One message for the person: the result itself, not a promise of one."""
    inventory = [o for o in outcomes if o.target is None]
    on_hosts = [o for o in outcomes if o.target is not None]
    parts = [o.summary if o.state == StepState.SUCCEEDED else _failure(o) for o in inventory]
    if on_hosts:
        parts.append(_hosts_answer(on_hosts))
    if state is ExecutionState.CANCELLED:
        changed = sorted(
            f"{o.step_id} on {o.target}"
            for o in on_hosts
            if o.step_id in changing and o.state == StepState.SUCCEEDED
        )
        parts.append("Cancelled." + (f" Already done: {', '.join(changed)}." if changed else ""))
    return "\n".join(p for p in parts if p)


def _hosts_answer(outcomes: list[StepOutcome]) -> str:
    by_host: dict[str, list[StepOutcome]] = defaultdict(list)
    for outcome in outcomes:
        assert outcome.target is not None
        by_host[outcome.target].append(outcome)
    failed = {h: os for h, os in by_host.items() if any(o.state != StepState.SUCCEEDED for o in os)}
    lines = [_host_line(host, steps) for host, steps in sorted(by_host.items())]
    if len(by_host) == 1:
        return lines[0]
    ok = len(by_host) - len(failed)
    head = f"{ok}/{len(by_host)} hosts OK"
    if failed:
        first = [f"{h}: {_first_error(os)}" for h, os in sorted(failed.items())[:3]]
        head += f", {len(failed)} failed: " + "; ".join(first)
    shown = lines[:MAX_HOST_LINES]
    if len(lines) > MAX_HOST_LINES:
        shown.append(f"… and {len(lines) - MAX_HOST_LINES} more hosts")
    return head + ".\n" + "\n".join(shown)


def _host_line(host: str, steps: list[StepOutcome]) -> str:
    pieces = [o.summary if o.state == StepState.SUCCEEDED else _failure(o) for o in steps]
    return f"{host}: " + "; ".join(p for p in pieces if p)


def _first_error(steps: list[StepOutcome]) -> str:
    for outcome in steps:
        if outcome.state not in {StepState.SUCCEEDED, StepState.SKIPPED}:
            return _failure(outcome)
    return "skipped"


def _failure(outcome: StepOutcome) -> str:
    label = outcome.step_id.split(".")[-1].replace("_", " ")
    return f"{label} {outcome.state.value}: {outcome.error or 'no detail'}"
