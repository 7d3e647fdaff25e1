"""What one request produced, stage by stage, and its public form: the reply contract
`AnswerV1` every face returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsconductor.schemas.answer import (
    AnswerApproval,
    AnswerApprovalStatus,
    AnswerDecision,
    AnswerEntity,
    AnswerExecution,
    AnswerPlan,
    AnswerResponse,
    AnswerStep,
    AnswerV1,
    NoResult,
)
from opsconductor.schemas.common import Mode
from opsconductor.schemas.decision import DecisionV1
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanV1
from opsconductor.schemas.response import ResponseV1


@dataclass
class Answer:
    """Everything one request produced, stage by stage, as the pipeline holds it;
    :meth:`to_answer` is the reply contract (`AnswerV1`)."""

    request: str
    response: ResponseV1
    decision: DecisionV1 | None = None
    plan: PlanV1 | None = None
    execution_id: str | None = None
    execution_state: str | None = None
    result: ExecutionResultV1 | None = None
    approval_ids: list[str] = field(default_factory=list)
    approval_status: AnswerApprovalStatus = AnswerApprovalStatus.NOT_REQUIRED
    conversation_id: str | None = None

    def to_answer(self) -> AnswerV1:
        """The reply contract every face returns."""
        level = self.plan.approval_level if self.plan else 0
        execution = None
        if self.execution_id:
            result = self.result if self.result is not None else NoResult()
            execution = AnswerExecution(
                id=self.execution_id, status=self.execution_state, result=result
            )
        return AnswerV1(
            request=self.request,
            decision=_answer_decision(self.decision) if self.decision else None,
            plan=_answer_plan(self.plan) if self.plan else None,
            approval=AnswerApproval(
                level=level,
                required=level > 0,
                status=self.approval_status,
                ids=self.approval_ids,
            ),
            mode=self.plan.mode if self.plan else Mode.IMMEDIATE,
            execution=execution,
            response=AnswerResponse(type=self.response.type, message=self.response.message),
            conversation_id=self.conversation_id,
        )

    def to_document(self) -> dict[str, Any]:
        """`to_answer()` as JSON-ready data."""
        return self.to_answer().model_dump(mode="json")


def _answer_decision(decision: DecisionV1) -> AnswerDecision:
    return AnswerDecision(
        intent=decision.intent,
        entities=[
            AnswerEntity(type=e.type, value=e.value, filter=e.filter) for e in decision.entities
        ],
        risk_level=decision.risk_level,
        confidence=decision.confidence,
        kind=decision.kind,
        clarification=decision.clarification,
        reasons=decision.reasons,
        read_as=decision.read_as,
        clauses=[c.text for c in decision.clauses],
    )


def _answer_plan(plan: PlanV1) -> AnswerPlan:
    steps = [
        AnswerStep(
            id=s.id, tool=s.tool, targets=s.targets, inputs=s.inputs, depends_on=s.depends_on
        )
        for s in plan.steps
    ]
    return AnswerPlan(id=plan.id, hash=plan.content_hash(), steps=steps, estimate_s=plan.estimate_s)
