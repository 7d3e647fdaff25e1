"""The one transition table every execution and step moves through."""

from __future__ import annotations

from enum import StrEnum

from opsconductor.errors import InvalidTransition


class ExecutionState(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # waiting for a person to approve the plan
    APPROVED = "approved"  # approved, not yet handed to a worker
    QUEUED = "queued"  # waiting for a worker to claim it
    RUNNING = "running"  # claimed by a worker; steps are running
    SUCCEEDED = "succeeded"  # every step succeeded on every target
    FAILED = "failed"  # nothing succeeded, or a step failed and the plan aborted
    PARTIALLY_SUCCEEDED = "partially_succeeded"  # some targets or steps succeeded, some failed
    CANCELLED = "cancelled"  # stopped by a person; nothing new started after that
    TIMED_OUT = "timed_out"  # the whole execution ran past its limit
    REJECTED = "rejected"  # an approver said no
    EXPIRED = "expired"  # nobody approved in time
    INTERRUPTED = "interrupted"  # its worker died mid-run; mutating steps are not re-run


TERMINAL_STATES = frozenset(
    {
        ExecutionState.SUCCEEDED,
        ExecutionState.FAILED,
        ExecutionState.PARTIALLY_SUCCEEDED,
        ExecutionState.CANCELLED,
        ExecutionState.TIMED_OUT,
        ExecutionState.REJECTED,
        ExecutionState.EXPIRED,
        ExecutionState.INTERRUPTED,
    }
)

_S = ExecutionState
ALLOWED_TRANSITIONS: dict[ExecutionState, frozenset[ExecutionState]] = {
    _S.PENDING_APPROVAL: frozenset({_S.APPROVED, _S.REJECTED, _S.EXPIRED, _S.CANCELLED}),
    _S.APPROVED: frozenset({_S.QUEUED, _S.RUNNING, _S.CANCELLED, _S.EXPIRED}),
    _S.QUEUED: frozenset({_S.RUNNING, _S.CANCELLED}),
    _S.RUNNING: frozenset(
        {
            _S.PENDING_APPROVAL,  # level 3: the next step waits for its own approval
            _S.SUCCEEDED,
            _S.FAILED,
            _S.PARTIALLY_SUCCEEDED,
            _S.CANCELLED,
            _S.TIMED_OUT,
            _S.INTERRUPTED,
        }
    ),
    **{state: frozenset() for state in TERMINAL_STATES},
}


class StepState(StrEnum):
    PENDING = "pending"  # not started
    RUNNING = "running"  # the command is running on its target
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # ran and failed (non-zero exit, unreachable host, …)
    SKIPPED = "skipped"  # not run: a dependency failed and the plan aborts on failure
    CANCELLED = "cancelled"  # stopped, or never started, because the execution was cancelled
    TIMED_OUT = "timed_out"  # ran past its timeout and was killed
    INTERRUPTED = "interrupted"  # its worker died while it ran


STEP_TERMINAL_STATES = frozenset(set(StepState) - {StepState.PENDING, StepState.RUNNING})
STEP_TRANSITIONS: dict[StepState, frozenset[StepState]] = {
    StepState.PENDING: frozenset({StepState.RUNNING, StepState.SKIPPED, StepState.CANCELLED}),
    StepState.RUNNING: STEP_TERMINAL_STATES - {StepState.SKIPPED},
    **{state: frozenset() for state in STEP_TERMINAL_STATES},
}


def check_transition(current: str, to: str) -> None:
    """Raise InvalidTransition unless the table allows `current` → `to`."""
    if ExecutionState(to) not in ALLOWED_TRANSITIONS[ExecutionState(current)]:
        raise InvalidTransition(f"execution cannot go from {current} to {to}")


def check_step_transition(current: str, to: str) -> None:
    if StepState(to) not in STEP_TRANSITIONS[StepState(current)]:
        raise InvalidTransition(f"step cannot go from {current} to {to}")
