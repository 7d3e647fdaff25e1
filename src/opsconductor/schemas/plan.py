"""Stage C's output: grounded steps over concrete assets, ready for approval and execution."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field

from opsconductor.schemas.common import Contract, Mode, RiskLevel


class PlanStep(Contract):
    id: str
    tool: str
    description: str
    targets: list[str] = Field(
        default_factory=list, description="Asset names; empty for inventory."
    )
    inputs: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    estimate_s: float = Field(ge=0)
    timeout_s: float = Field(gt=0)
    read_only: bool
    risk_level: RiskLevel


class RollbackAction(Contract):
    step_id: str
    tool: str
    inputs: dict[str, Any] = Field(default_factory=dict)


class Endpoint(Contract):
    """Where a target's commands go, as resolved when the plan was made. An approval covers it:
    a target re-pointed, or deleted and made again, is a different plan."""

    asset_id: int
    protocol: str
    hostname: str | None = None
    ip_address: str | None = None
    port: int | None = None
    username: str | None = None
    credential: str | None = None
    host_keys: list[str] = Field(
        default_factory=list, description="SHA-256 fingerprints trusted for it when planned."
    )


class PlanV1(Contract):
    version: Literal[1] = 1
    id: str
    request_id: str
    summary: str
    steps: list[PlanStep]
    safety_checks: list[str] = Field(default_factory=list)
    rollback: list[RollbackAction] = Field(default_factory=list)
    approval_level: int = Field(ge=0, le=3)
    approval_points: list[str] = Field(
        default_factory=list, description="Step ids that each need their own approval (level 3)."
    )
    risk_level: RiskLevel
    risk_reasons: list[str] = Field(default_factory=list)
    reversible: bool
    estimate_s: float = Field(ge=0)
    mode: Mode
    on_failure: Literal["abort", "continue"] = Field(
        default="abort", description="After a failed step: start nothing new, or go on."
    )
    endpoints: dict[str, Endpoint] = Field(
        default_factory=dict, description="Each host target's resolved endpoint, by asset name."
    )

    def content_hash(self) -> str:
        """SHA-256 over everything that decides what runs where; an approval binds to it."""
        material = self.model_dump(mode="json", exclude={"id", "request_id", "summary"})
        canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
