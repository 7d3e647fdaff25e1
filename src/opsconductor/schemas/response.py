"""Stage D's output: what the person is told before (or instead of) execution."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from opsconductor.schemas.common import Contract, RiskLevel
from opsconductor.schemas.decision import Clarification


class ResponseType(StrEnum):
    INFORMATION = "information"  # an answer (or, for a level-0 plan, what is running)
    EXECUTION_RESULT = "execution_result"  # what ran on hosts, and how it ended
    APPROVAL_REQUEST = "approval_request"  # a preview of what would run, waiting for approval
    CLARIFICATION = "clarification"  # a question back: something was missing or not understood
    ERROR = "error"  # the request cannot be done as asked (refused, invalid)


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
