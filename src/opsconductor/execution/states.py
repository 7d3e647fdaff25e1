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
    TIMED_OUT = "timed_out"  # every step that ran was killed at its timeout
    REJECTED = "rejected"  # an approver said no, or the plan changed before it was approved
    EXPIRED = "expired"  # nobody approved in time
    # Its worker stopped while a change was in flight: waits for a person to resolve it
    # (retry, skip or abort); a mutating step is never re-run blindly.
    INTERRUPTED = "interrupted"


TERMINAL_STATES = frozenset(
    {
        ExecutionState.SUCCEEDED,
        ExecutionState.FAILED,
        ExecutionState.PARTIALLY_SUCCEEDED,
        ExecutionState.CANCELLED,
        ExecutionState.TIMED_OUT,
        ExecutionState.REJECTED,
        ExecutionState.EXPIRED,
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
            _S.QUEUED,  # its lease was taken over with no change in flight: it runs on
            _S.SUCCEEDED,
            _S.FAILED,
            _S.PARTIALLY_SUCCEEDED,
            _S.CANCELLED,
            _S.TIMED_OUT,
            _S.INTERRUPTED,
        }
    ),
    _S.INTERRUPTED: frozenset({_S.QUEUED, _S.CANCELLED}),  # resolved: retry or skip; abort
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
    INTERRUPTED = "interrupted"  # a change was in flight when its worker stopped


# Settled for this run; an interrupted step may still be resolved (retried or skipped).
STEP_TERMINAL_STATES = frozenset(set(StepState) - {StepState.PENDING, StepState.RUNNING})
STEP_TRANSITIONS: dict[StepState, frozenset[StepState]] = {
    StepState.PENDING: frozenset({StepState.RUNNING, StepState.SKIPPED, StepState.CANCELLED}),
    # Back to pending only when a read-only step's worker stopped: it is safe to run again.
    StepState.RUNNING: (STEP_TERMINAL_STATES - {StepState.SKIPPED}) | {StepState.PENDING},
    # Resolved: retried, skipped, or given up with its execution (aborted, cancelled).
    StepState.INTERRUPTED: frozenset({StepState.PENDING, StepState.SKIPPED, StepState.CANCELLED}),
    **{state: frozenset() for state in STEP_TERMINAL_STATES - {StepState.INTERRUPTED}},
}


def check_transition(current: str, to: str) -> None:
    """Raise InvalidTransition unless the table allows `current` → `to`."""
    if ExecutionState(to) not in ALLOWED_TRANSITIONS[ExecutionState(current)]:
        raise InvalidTransition(f"execution cannot go from {current} to {to}")


def check_step_transition(current: str, to: str) -> None:
    if StepState(to) not in STEP_TRANSITIONS[StepState(current)]:
        raise InvalidTransition(f"step cannot go from {current} to {to}")
