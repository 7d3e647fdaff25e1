"""Stage B's output: the catalog tools that serve the decision, and how they may run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from opsconductor.schemas.common import Contract, RiskLevel


class SelectedTool(Contract):
    tool: str
    targets: list[str] = Field(default_factory=list, description="Asset names it runs on.")
    why: str
    score: float = Field(ge=0.0)
    clause: int = Field(default=0, ge=0, description="Which of the decision's clauses it serves.")


class ExecutionPolicy(Contract):
    approval_level: int = Field(ge=0, le=3)
    requires_approval: bool
    risk_level: RiskLevel
    risk_reasons: list[str] = Field(default_factory=list)
    production: bool


class SelectionV1(Contract):
    version: Literal[1] = 1
    request_id: str
    tools: list[SelectedTool]
    policy: ExecutionPolicy
    skipped_targets: dict[str, str] = Field(
        default_factory=dict, description="Asset name → why no selected tool can run on it."
    )
