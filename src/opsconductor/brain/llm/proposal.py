"""What a model may answer: the arguments of `propose_plan`, as a pydantic model and as the
JSON schema the model is given."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsconductor.schemas.common import RiskLevel

TOOL_NAME = "propose_plan"
MAX_STEPS = 10
MAX_TARGETS = 200  # a model naming more is asked to name a group instead, by failing here


class ProposedStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1, max_length=100)
    targets: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)
    inputs: dict[str, str | int] = Field(default_factory=dict)


class Proposal(BaseModel):
    """A model's proposal: steps of catalog tools on asset names, or a question."""

    model_config = ConfigDict(extra="forbid")

    steps: list[ProposedStep] = Field(default_factory=list, max_length=MAX_STEPS)
    risk: RiskLevel
    question: str | None = Field(default=None, max_length=500)
    reason: str = Field(default="", max_length=500)


class InvalidProposal(ValueError):
    """The model's output is not a valid `propose_plan` call; the message says why, briefly,
    so it can be handed back to the model once."""


def parse_proposal(raw: str) -> Proposal:
    """The proposal in `raw` (the call's JSON arguments), or InvalidProposal."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidProposal(f"the arguments are not JSON: {exc}") from None
    try:
        proposal = Proposal.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidProposal(problems[:600]) from None
    if not proposal.steps and not proposal.question:
        raise InvalidProposal("give at least one step, or a question")
    return proposal


def parameters_schema() -> dict[str, Any]:
    """The JSON schema of `propose_plan`'s arguments, written out plainly: small models and
    servers that turn a schema into a grammar cope better with it than with `$ref`s."""
    step = {
        "type": "object",
        "properties": {
            "tool": {"type": "string", "description": "A tool name from the catalog."},
            "targets": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Asset names from the inventory; empty for inventory questions.",
            },
            "inputs": {
                "type": "object",
                "additionalProperties": {"type": ["string", "integer"]},
                "description": "Values for the tool's parameters.",
            },
        },
        "required": ["tool", "targets", "inputs"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "steps": {"type": "array", "items": step, "maxItems": MAX_STEPS},
            "risk": {"type": "string", "enum": [level.value for level in RiskLevel]},
            "question": {
                "type": ["string", "null"],
                "description": "A clarifying question when the request cannot be planned.",
            },
            "reason": {"type": "string", "description": "One sentence: why this plan."},
        },
        "required": ["steps", "risk", "question", "reason"],
        "additionalProperties": False,
    }


ProposalMode = Literal["tools", "json_schema", "json"]
