"""Stage A's output: what the request asks, about which assets, at what risk."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from opsconductor.schemas.common import Contract, RiskLevel


class EntityType(StrEnum):
    ASSET = "asset"  # one inventory asset named by name, hostname or IP
    GROUP = "group"  # a filter over the inventory: "all production linux servers"
    SERVICE = "service"
    PATH = "path"
    VERSION = "version"
    APPLICATION = "application"
    NUMBER = "number"
    PROCESS = "process"
    DESTINATION = "destination"  # a host or URL that is the object of a check, not a target
    UNKNOWN_HOST = "unknown_host"  # shaped like a host, absent from the inventory


class Intent(Contract):
    category: str
    action: str


class Entity(Contract):
    type: EntityType
    value: str
    assets: list[str] = Field(default_factory=list, description="Asset names it resolves to.")
    matched: str = Field(default="", description="The words of the request that named it.")
    filter: dict[str, str] | None = Field(
        default=None, description="For a group: the inventory filter it stands for."
    )


ClarificationReason = Literal[
    "unknown_host", "ambiguous", "out_of_scope", "missing_input", "no_target", "not_understood"
]


class Clarification(Contract):
    # not_understood: words that narrow the request (a qualifier, a filter word) map to
    # nothing the brain can apply; the question names them.
    reason: ClarificationReason
    question: str
    options: list[str] = Field(default_factory=list)
    about: str | None = Field(
        default=None, description="The request's word the options stand for ('web' → web-01)."
    )


class Clause(Contract):
    """One action of a request that asks for several ("stop postgres on db-01 and start it
    again"), in the request's order: each becomes steps that wait for the clause before it."""

    intent: Intent
    entities: list[Entity] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list, description="Resolved asset names.")
    inputs: dict[str, str] = Field(default_factory=dict)
    text: str = Field(default="", description="The words of the request this clause stands for.")


class ModelProposal(Contract):
    """What a model proposed for a decision (LLM brain), kept for the audit trail."""

    model: str
    prompt_version: str
    proposal: str = Field(description="The model's raw propose_plan arguments, capped.")
    used: bool = Field(description="False when the proposal was set aside for the rules.")


class DecisionV1(Contract):
    version: Literal[1] = 1
    request_id: str
    text: str
    kind: Literal["information", "action", "clarification"]
    intent: Intent | None
    entities: list[Entity] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list, description="Resolved asset names.")
    inputs: dict[str, str] = Field(
        default_factory=dict, description="Values the request gives for tool parameters."
    )
    risk_level: RiskLevel = RiskLevel.LOW
    confidence: float = Field(ge=0.0, le=1.0)
    clarification: Clarification | None = None
    reasons: list[str] = Field(default_factory=list, description="Which words matched what.")
    clauses: list[Clause] = Field(
        default_factory=list,
        description="Set when the request asks for several actions, in order; the intent, "
        "targets and inputs above are then the first clause's.",
    )
    read_as: str | None = Field(
        default=None,
        description="How the request was read when earlier turns of the conversation filled "
        "in what it left out ('restart nginx on web-prod-02').",
    )
    proposed_by: ModelProposal | None = Field(
        default=None, description="Set when a model proposed the plan (or was asked and failed)."
    )

    def all_clauses(self) -> list[Clause]:
        """The actions asked for, in order: one for a request that asks for one thing."""
        if self.clauses:
            return self.clauses
        if self.intent is None:
            return []
        return [
            Clause(
                intent=self.intent,
                entities=self.entities,
                targets=self.targets,
                inputs=self.inputs,
                text=self.text,
            )
        ]
