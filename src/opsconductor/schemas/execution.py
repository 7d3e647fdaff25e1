"""Stage E's output: what ran, where, with what result."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from opsconductor.schemas.common import Contract


class StepResultV1(Contract):
    step_id: str
    target: str | None
    tool: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    duration_seconds: float | None
    exit_code: int | None = None
    output: str = ""
    error: str | None = None
    error_kind: str | None = None
    data: Any = None


class ExecutionResultV1(Contract):
    version: Literal[1] = 1
    execution_id: str
    plan_id: str
    status: str
    requested_by: str
    started_at: datetime | None
    completed_at: datetime | None
    total_duration_seconds: float | None
    step_results: list[StepResultV1] = Field(default_factory=list)
    success_count: int = 0
    failure_count: int = 0
    output: str = ""
    error_message: str | None = None
    approved_by: list[str] = Field(default_factory=list)
    approval_timestamp: datetime | None = None
    worker: str | None = Field(
        default=None,
        description="The process that ran it (its last claim): `worker:<host>:<pid>` for "
        "`opsconductor worker`, `api:<host>:<pid>` for a server's embedded worker, `inline:<user>` "
        "for a run its requester waited for.",
    )
