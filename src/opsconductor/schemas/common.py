"""Vocabulary shared by the stage contracts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """Base of every stage contract: strict about unknown fields, frozen once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RiskLevel(StrEnum):
    LOW = "low"  # read-only, nothing leaves the inventory or the answer is harmless
    MEDIUM = "medium"  # touches one host, reversible
    HIGH = "high"  # changes production or many hosts, or cannot be undone easily
    CRITICAL = "critical"  # destroys data or opens security boundaries

    @property
    def approval_level(self) -> int:
        """0 none, 1 confirmation, 2 four-eyes plan review, 3 step-by-step approval."""
        return _APPROVAL_LEVELS[self]

    @classmethod
    def highest(cls, *levels: RiskLevel) -> RiskLevel:
        return max(levels, key=lambda level: level.approval_level, default=cls.LOW)


_APPROVAL_LEVELS = {
    RiskLevel.LOW: 0,
    RiskLevel.MEDIUM: 1,
    RiskLevel.HIGH: 2,
    RiskLevel.CRITICAL: 3,
}


class Mode(StrEnum):
    IMMEDIATE = "immediate"  # the caller waits for the answer
    BACKGROUND = "background"  # the caller gets a job reference and follows progress
