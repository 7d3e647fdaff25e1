"""Stage D's output: what the person is told before (or instead of) execution."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from opsconductor.schemas.common import Contract, RiskLevel
from opsconductor.schemas.decision import Clarification

ResponseType = Literal[
    "information", "execution_result", "approval_request", "clarification", "error"
]


class StepPreview(Contract):
    step_id: str
    tool: str
    summary: str
    targets: list[str]
    read_only: bool
    commands: list[str] = Field(description="The exact command per target, as it would run.")


class Preview(Contract):
    summary: str
    host_count: int
    environments: list[str]
    risk_level: RiskLevel
    risk_reasons: list[str]
    reversible: bool
    approval_level: int
    steps: list[StepPreview]


class ResponseV1(Contract):
    version: Literal[1] = 1
    type: ResponseType
    message: str
    preview: Preview | None = None
    clarification: Clarification | None = None
    data: dict[str, Any] | None = None
