"""Read-only listings of executions, approvals and the audit trail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import NotFound
from opsconductor.store.tables import ApprovalRow, AuditEventRow, ExecutionRow


async def get_execution(
    session: AsyncSession, execution_id: str, *, for_update: bool = False
) -> ExecutionRow:
    execution = await session.get(ExecutionRow, execution_id, with_for_update=for_update)
    if execution is None:
        raise NotFound(f"no execution with id {execution_id!r}")
    return execution


async def list_executions(
    session: AsyncSession, *, state: str | None = None, limit: int = 50
) -> list[ExecutionRow]:
    query = select(ExecutionRow).order_by(ExecutionRow.created_at.desc()).limit(limit)
    if state:
        query = query.where(ExecutionRow.state == state)
    return list(await session.scalars(query))


async def list_approvals(
    session: AsyncSession, *, status: str | None = None, limit: int = 50
) -> list[ApprovalRow]:
    query = select(ApprovalRow).order_by(ApprovalRow.created_at.desc()).limit(limit)
    if status:
        query = query.where(ApprovalRow.status == status)
    return list(await session.scalars(query))


async def list_audit(
    session: AsyncSession, *, entity_id: str | None = None, limit: int = 100
) -> list[AuditEventRow]:
    query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
    if entity_id:
        query = query.where(AuditEventRow.entity_id.startswith(entity_id, autoescape=True))
    return list(reversed(list(await session.scalars(query))))
