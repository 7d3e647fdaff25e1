"""GET /executions/{id}/plan: what a reviewer needs to decide, in one document (the web page's
plan card): the steps in order with their exact commands, the targets by environment, the
blast radius (hosts, and their share of each environment), risk and why, reversible or not,
rollback, estimate and mode, and the execution's approvals with their states."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor import kinds
from opsconductor.api.deps import ConductorDep, Reader
from opsconductor.api.errors import error_responses
from opsconductor.api.params import Name
from opsconductor.api.schemas import ApprovalPublic
from opsconductor.catalog.loader import Catalog
from opsconductor.execution.queries import approvals_of, get_execution
from opsconductor.inventory import repository
from opsconductor.inventory.models import AssetFilter
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.plan import PlanStep, PlanV1, RollbackAction

router = APIRouter(tags=["executions"])

UNKNOWN_ENVIRONMENT = "unknown"


class PlanStepCard(BaseModel):
    id: str
    tool: str
    description: str
    targets: list[str]
    depends_on: list[str]
    read_only: bool
    risk_level: RiskLevel
    estimate_s: float
    timeout_s: float
    commands: list[str]


class EnvironmentShare(BaseModel):
    """How many of an environment's assets the plan touches."""

    environment: str
    hosts: list[str]
    of: int | None  # the environment's assets in the inventory now; None when unknown


class PlanCardPublic(BaseModel):
    execution_id: str
    state: str
    requested_by: str
    request_text: str
    summary: str
    approval_level: int
    approval_points: list[str]
    risk_level: RiskLevel
    risk_reasons: list[str]
    reversible: bool
    rollback: list[RollbackAction]
    estimate_s: float
    mode: str
    on_failure: str
    host_count: int
    environments: list[EnvironmentShare]
    steps: list[PlanStepCard]
    approvals: list[ApprovalPublic]


@router.get(
    "/executions/{execution_id}/plan",
    response_model=PlanCardPublic,
    responses=error_responses(401, 403, 404, 422),
)
async def show_plan(execution_id: Name, conductor: ConductorDep, _: Reader) -> PlanCardPublic:
    """The execution's plan as a reviewer reads it, with its approvals (oldest first)."""
    async with conductor.db.reader() as session:
        execution = await get_execution(session, execution_id)
        plan = PlanV1.model_validate(execution.plan)
        environments = await _environments(session, plan)
        rows = await approvals_of(session, execution_id)
        approvals = [ApprovalPublic.model_validate(row) for row in rows]
    return PlanCardPublic(
        execution_id=execution.id,
        state=execution.state,
        requested_by=execution.requested_by,
        request_text=execution.request_text,
        summary=plan.summary,
        approval_level=plan.approval_level,
        approval_points=plan.approval_points,
        risk_level=plan.risk_level,
        risk_reasons=plan.risk_reasons,
        reversible=plan.reversible,
        rollback=plan.rollback,
        estimate_s=plan.estimate_s,
        mode=plan.mode.value,
        on_failure=plan.on_failure,
        host_count=sum(len(e.hosts) for e in environments),
        environments=environments,
        steps=[_step_card(step, conductor.catalog) for step in plan.steps],
        approvals=approvals,
    )


async def _environments(session: AsyncSession, plan: PlanV1) -> list[EnvironmentShare]:
    """The plan's targets grouped by their environment now, each with its environment's size."""
    targets = sorted({t for step in plan.steps for t in step.targets})
    assets = await repository.get_assets(session, targets)
    grouped: dict[str, list[str]] = {}
    for name in targets:
        asset = assets.get(name)
        environment = (asset.environment if asset else None) or UNKNOWN_ENVIRONMENT
        grouped.setdefault(environment, []).append(name)
    shares = []
    for environment, hosts in sorted(grouped.items()):
        of = None
        if environment != UNKNOWN_ENVIRONMENT:
            counted = await repository.count_assets(session, AssetFilter(environment=environment))
            of = counted.total
        shares.append(EnvironmentShare(environment=environment, hosts=hosts, of=of))
    return shares


def _step_card(step: PlanStep, catalog: Catalog) -> PlanStepCard:
    tool = catalog.tools.get(step.tool)
    commands = (
        kinds.kind_of(tool).preview(tool, step.inputs, step.targets)
        if tool is not None
        else [f"(the tool {step.tool} is no longer in the catalog)"]
    )
    return PlanStepCard(
        id=step.id,
        tool=step.tool,
        description=step.description,
        targets=step.targets,
        depends_on=step.depends_on,
        read_only=step.read_only,
        risk_level=step.risk_level,
        estimate_s=step.estimate_s,
        timeout_s=step.timeout_s,
        commands=commands,
    )
