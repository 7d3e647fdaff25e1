"""Executions: list, show, cancel, resolve."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BeforeValidator
from starlette.requests import HTTPConnection

from opsconductor.api.deps import ConductorDep, PrincipalDep, Reader, audit_refusal, forbidden
from opsconductor.api.errors import error_responses
from opsconductor.api.pagination import WindowDep
from opsconductor.api.params import Name
from opsconductor.api.schemas import CancelIn, ExecutionPublic, ExecutionsPublic, ResolveIn
from opsconductor.execution.queries import ExecutionFilter, get_execution, page_executions
from opsconductor.execution.states import ExecutionState
from opsconductor.identity.models import Permission, Principal
from opsconductor.schemas.execution import ExecutionResultV1

router = APIRouter(tags=["executions"])
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def iso_only(value: object) -> object:
    """Refuse what pydantic would otherwise read as a Unix time ("0.5")."""
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value


@router.get(
    "/executions", response_model=ExecutionsPublic, responses=error_responses(401, 403, 422)
)
async def list_executions(
    conductor: ConductorDep,
    _: Reader,
    page: WindowDep,
    status: Annotated[ExecutionState | None, Query(description="Only this state.")] = None,
    requester: Name | None = None,
    since: Annotated[
        datetime | None,
        BeforeValidator(iso_only),
        Query(description="Created at or after (ISO 8601; UTC if no zone)."),
    ] = None,
    q: Annotated[Name | None, Query(description="In the request's words, ignoring case.")] = None,
) -> ExecutionsPublic:
    """Executions, newest first."""
    flt = ExecutionFilter(
        state=status.value if status is not None else None,
        requester=requester,
        since=since,
        text=q,
    )
    async with conductor.db.reader() as session:
        found = await page_executions(session, flt, offset=page.offset, limit=page.limit)
        data = [ExecutionPublic.model_validate(row) for row in found.rows]
    return ExecutionsPublic(data=data, count=found.total, offset=page.offset, limit=page.limit)


@router.get(
    "/executions/{execution_id}",
    response_model=ExecutionResultV1,
    responses=error_responses(401, 403, 404, 422),
)
async def show_execution(
    execution_id: Name, conductor: ConductorDep, _: Reader
) -> ExecutionResultV1:
    """One execution's result: status, steps per target, output and who approved it."""
    return await conductor.executions.result(execution_id)


@router.post(
    "/executions/{execution_id}/cancel",
    response_model=ExecutionResultV1,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def cancel_execution(
    execution_id: Name,
    connection: HTTPConnection,
    conductor: ConductorDep,
    principal: PrincipalDep,
    body: Annotated[CancelIn | None, Body()] = None,
) -> ExecutionResultV1:
    """Stop an execution: operators their own, approvers and admins any. Waits until it ends."""
    async with conductor.db.reader() as session:
        execution = await get_execution(session, execution_id)
    if not _may_cancel(principal, execution.requested_by):
        reason = f"{principal.name} ({principal.role}) may not cancel {execution.requested_by}'s"
        await audit_refusal(
            conductor,
            actor=principal.name,
            entity_id=execution_id,
            action="cancel_refused",
            reason=reason + " execution",
            details={"path": connection.url.path},
        )
        raise forbidden(
            f"Not permitted: your role ({principal.role}) may cancel only your own executions."
            if principal.can(Permission.CANCEL_OWN)
            else f"Not permitted: your role ({principal.role}) may not cancel executions."
        )
    reason = (body.reason if body else None) or "cancelled through the API"
    return await conductor.executions.cancel(execution_id, principal.name, reason)


@router.post(
    "/executions/{execution_id}/resolve",
    response_model=ExecutionResultV1,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def resolve_execution(
    execution_id: Name,
    conductor: ConductorDep,
    principal: PrincipalDep,
    body: ResolveIn,
) -> ExecutionResultV1:
    """Decide how an interrupted execution goes on (audited with who decided): an approver, or
    for a level-1 plan its requester; never the requester of a level 2 or 3 plan. Retry and
    skip queue it for a worker."""
    return await conductor.pipeline.resolve(
        execution_id, body.decision, principal.name, role=principal.role, wait=False
    )


def _may_cancel(principal: Principal, requester: str) -> bool:
    if principal.can(Permission.CANCEL_ANY):
        return True
    return principal.can(Permission.CANCEL_OWN) and principal.name == requester
