"""Approvals: what waits for a decision, and the decisions. The service applies the role,
four-eyes, expiry and plan-hash rules; this module only passes the caller's role on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from opsconductor.api.deps import ConductorDep, PrincipalDep, Reader
from opsconductor.api.errors import error_responses
from opsconductor.api.pagination import WindowDep
from opsconductor.api.params import Name
from opsconductor.api.schemas import (
    ApprovalPublic,
    ApprovalsPublic,
    DecisionIn,
    DenyIn,
    ExecutionPublic,
)
from opsconductor.execution.approvals import ApprovalStatus
from opsconductor.execution.queries import ApprovalFilter, page_approvals
from opsconductor.schemas.answer import AnswerV1

router = APIRouter(tags=["approvals"])

DECISION_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.get("/approvals", response_model=ApprovalsPublic, responses=error_responses(401, 403, 422))
async def list_approvals(
    conductor: ConductorDep,
    _: Reader,
    page: WindowDep,
    status: Annotated[ApprovalStatus | None, Query(description="Only this status.")] = None,
    execution_id: Name | None = None,
) -> ApprovalsPublic:
    """Approvals, newest first; `status=pending` for those waiting for a decision."""
    flt = ApprovalFilter(
        status=status.value if status is not None else None, execution_id=execution_id
    )
    async with conductor.db.reader() as session:
        found = await page_approvals(session, flt, offset=page.offset, limit=page.limit)
        data = [ApprovalPublic.model_validate(row) for row in found.rows]
    return ApprovalsPublic(data=data, count=found.total, offset=page.offset, limit=page.limit)


@router.post("/approvals/{approval_id}/approve", response_model=AnswerV1, responses=DECISION_ERRORS)
async def approve(
    approval_id: Name,
    conductor: ConductorDep,
    principal: PrincipalDep,
    body: DecisionIn | None = None,
) -> AnswerV1:
    """Approve. After the last approval an execution needs, it starts: an immediate plan is
    answered with its result, a background one is queued for the worker."""
    answer = await conductor.pipeline.approve(
        approval_id,
        principal.name,
        comment=body.comment if body else None,
        wait=False,
        role=principal.role,
    )
    return answer.to_answer()


@router.post(
    "/approvals/{approval_id}/deny", response_model=ExecutionPublic, responses=DECISION_ERRORS
)
async def deny(
    approval_id: Name, body: DenyIn, conductor: ConductorDep, principal: PrincipalDep
) -> ExecutionPublic:
    """Deny, saying why; the execution is rejected and nothing runs."""
    execution = await conductor.executions.deny(
        approval_id, principal.name, body.comment, role=principal.role
    )
    return ExecutionPublic.model_validate(execution)
