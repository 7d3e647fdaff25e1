"""`AnswerV1`: the one document a request answers with. `ask --format json` prints it, `POST
/requests` and the approval routes return it (their OpenAPI response schema is this model's),
and every other face renders it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from opsconductor.schemas.common import Contract, Mode, RiskLevel
from opsconductor.schemas.decision import Clarification, EntityType, Intent
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.response import ResponseType


class AnswerApprovalStatus(StrEnum):
    """Where the request stands on approval, as a whole (an approval row's own status is
    `ApprovalStatus`; this one also needs `not_required`)."""

    NOT_REQUIRED = "not_required"  # level 0, or nothing was recorded (dry run, clarification)
    PENDING = "pending"  # waiting for a decision (at level 3: for the next step's)
    APPROVED = "approved"  # every approval it needed so far was given


class AnswerEntity(Contract):
    type: EntityType
    value: str
    filter: dict[str, str] | None = Field(
        default=None, description="For a group: the inventory filter that was applied."
    )


class AnswerDecision(Contract):
    intent: Intent | None
    entities: list[AnswerEntity]
    risk_level: RiskLevel
    confidence: float
    kind: Literal["information", "action", "clarification"]
    clarification: Clarification | None
    reasons: list[str]
    read_as: str | None = Field(
        default=None, description="How the request was read when context filled in a part."
    )
    clauses: list[str] = Field(
        default_factory=list, description="The actions of a request of several, in order."
    )


class AnswerStep(Contract):
    id: str
    tool: str
    targets: list[str]
    inputs: dict[str, Any]
    depends_on: list[str]


class AnswerPlan(Contract):
    id: str
    hash: str = Field(description="The plan's content hash; approvals bind to it.")
    steps: list[AnswerStep]
    estimate_s: float


class AnswerApproval(Contract):
    level: int = Field(description="0 none, 1 confirmation, 2 four-eyes review, 3 per step.")
    required: bool
    status: AnswerApprovalStatus
    ids: list[str] = Field(description="Approval ids to decide now (level 3: the next step's).")


class NoResult(Contract):
    """An empty object: the execution has not produced a result yet."""


class AnswerExecution(Contract):
    id: str
    status: str | None
    result: ExecutionResultV1 | NoResult


class AnswerResponse(Contract):
    type: ResponseType
    message: str


class AnswerV1(Contract):
    """Everything one request produced: decision, plan, approval, execution and the answer."""

    version: Literal[1] = 1
    request: str
    decision: AnswerDecision | None
    plan: AnswerPlan | None
    approval: AnswerApproval
    mode: Mode
    execution: AnswerExecution | None
    response: AnswerResponse
    conversation_id: str | None = Field(
        default=None, description="The conversation this turn belongs to, when one was given."
    )
