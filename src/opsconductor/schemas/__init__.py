"""The typed, versioned contracts between the stages, the API and the CLI's JSON output."""

from opsconductor.schemas.common import Mode, RiskLevel
from opsconductor.schemas.decision import Clarification, DecisionV1, Entity, EntityType, Intent
from opsconductor.schemas.execution import ExecutionResultV1, StepResultV1
from opsconductor.schemas.plan import PlanStep, PlanV1, RollbackAction
from opsconductor.schemas.response import Preview, ResponseV1, StepPreview
from opsconductor.schemas.selection import ExecutionPolicy, SelectedTool, SelectionV1

__all__ = [
    "Clarification",
    "DecisionV1",
    "Entity",
    "EntityType",
    "ExecutionPolicy",
    "ExecutionResultV1",
    "Intent",
    "Mode",
    "PlanStep",
    "PlanV1",
    "Preview",
    "ResponseV1",
    "RiskLevel",
    "RollbackAction",
    "SelectedTool",
    "SelectionV1",
    "StepPreview",
    "StepResultV1",
]
