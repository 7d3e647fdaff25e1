"""The audit trail, and the check of its HMAC chain (against an anchor, if given)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from opsconductor.api.deps import ConductorDep, Reader
from opsconductor.api.errors import error_responses
from opsconductor.api.pagination import WindowDep
from opsconductor.api.params import Name
from opsconductor.api.schemas import AuditEventPublic, AuditEventsPublic, AuditVerifyPublic
from opsconductor.execution.queries import AuditFilter, page_audit
from opsconductor.store.audit_verify import Anchor, verify_chain

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=AuditEventsPublic, responses=error_responses(401, 403, 422))
async def list_audit(
    conductor: ConductorDep,
    _: Reader,
    page: WindowDep,
    entity: Annotated[Name | None, Query(description="Entity id, or the start of one.")] = None,
    entity_type: Name | None = None,
    actor: Name | None = None,
) -> AuditEventsPublic:
    """Audit events, newest first."""
    flt = AuditFilter(entity_id=entity, entity_type=entity_type, actor=actor)
    async with conductor.db.reader() as session:
        found = await page_audit(session, flt, offset=page.offset, limit=page.limit)
        data = [AuditEventPublic.model_validate(row) for row in found.rows]
    return AuditEventsPublic(data=data, count=found.total, offset=page.offset, limit=page.limit)


@router.get(
    "/audit/verify", response_model=AuditVerifyPublic, responses=error_responses(401, 403, 422)
)
async def verify_audit(
    conductor: ConductorDep,
    _: Reader,
    anchor: Annotated[
        str | None,
        Query(
            max_length=80,
            description="A head printed by `opsconductor audit anchor`: also detect events "
            "removed after it and history rewritten before it.",
        ),
    ] = None,
) -> AuditVerifyPublic:
    """Re-walk the HMAC chain; `first_bad_id` names the first altered, inserted, reordered or
    removed event (none when what fails is the anchor)."""
    expected = Anchor.parse(anchor) if anchor is not None else None
    async with conductor.db.reader() as session:
        report = await verify_chain(session, anchor=expected)
    return AuditVerifyPublic(
        ok=report.ok,
        checked=report.checked,
        first_bad_id=report.first_bad_id,
        problem=report.problem,
        legacy=report.legacy,
    )
