"""A request as it was finally read, and how readings become the one decision it answers
with: one clause, several merged in order, or the clarification of the whole request."""

from __future__ import annotations

from dataclasses import dataclass

from opsconductor.brain.base import BrainRequest
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.decision import (
    Clarification,
    ClarificationReason,
    Clause,
    DecisionV1,
)


@dataclass(frozen=True)
class Said:
    """A clause or turn as it was finally read: its text and what it resolved."""

    text: str
    decision: DecisionV1


def understood(said: Said) -> bool:
    return said.decision.intent is not None and said.decision.clarification is None


def asking(
    request: BrainRequest, decision: DecisionV1, reason: ClarificationReason, question: str
) -> DecisionV1:
    """The decision, for the whole request, as the clarification `question`."""
    asked = questioned(decision, reason, question)
    return asked.model_copy(update={"request_id": request.request_id, "text": request.text})


def questioned(decision: DecisionV1, reason: ClarificationReason, question: str) -> DecisionV1:
    """The decision (of a clause or a turn) as the clarification `question`."""
    clarification = Clarification(reason=reason, question=question)
    return decision.model_copy(update={"kind": "clarification", "clarification": clarification})


def one(request: BrainRequest, said: Said) -> DecisionV1:
    decision = said.decision.model_copy(update={"request_id": request.request_id})
    if said.text != request.text:
        decision = decision.model_copy(update={"read_as": sentence(said.text)})
    return decision.model_copy(update={"text": request.text})


def merged(request: BrainRequest, said: list[Said]) -> DecisionV1:
    decisions = [s.decision for s in said]
    first = decisions[0]
    clauses = [
        Clause(
            intent=d.intent,
            entities=d.entities,
            targets=d.targets,
            inputs=d.inputs,
            text=s.text,
        )
        for s, d in zip(said, decisions, strict=True)
        if d.intent is not None
    ]
    reasons = [f"clause {n}: {r}" for n, d in enumerate(decisions, 1) for r in d.reasons]
    used = " then ".join(s.text for s in said)
    kinds = {d.kind for d in decisions}
    return first.model_copy(
        update={
            "request_id": request.request_id,
            "text": request.text,
            "kind": "action" if "action" in kinds else "information",
            "risk_level": RiskLevel.highest(*(d.risk_level for d in decisions)),
            "confidence": min(d.confidence for d in decisions),
            "reasons": reasons,
            "clauses": clauses,
            "read_as": sentence(used) if used != request.text else None,
        }
    )


def whole_request_clarified(
    request: BrainRequest, reading: Said, understood: list[Said], count: int
) -> DecisionV1:
    decision = reading.decision.model_copy(
        update={"request_id": request.request_id, "text": request.text}
    )
    if count == 1 or decision.clarification is None:
        return decision
    done = "; ".join(f"'{s.text}'" for s in understood)
    prefix = f"I read {done}, but not all of it: " if understood else ""
    question = f"{prefix}'{reading.text}': {decision.clarification.question}"
    clarification = Clarification(
        reason=decision.clarification.reason,
        question=question,
        options=decision.clarification.options,
    )
    return decision.model_copy(update={"clarification": clarification, "kind": "clarification"})


def sentence(text: str) -> str:
    return text.strip().rstrip(".?!") + "."
