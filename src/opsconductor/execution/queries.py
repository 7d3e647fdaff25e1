"""Read-only listings of executions, approvals and the audit trail, for every face.

The API pages through them (`page_*`: one window and the number that match in all); the CLI
takes the newest few (`list_*`). Both build the same filtered, ordered query here, so that the
faces never touch the store's tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import NotFound
from opsconductor.store.tables import ApprovalRow, AuditEventRow, ExecutionEventRow, ExecutionRow

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One window of an ordered listing, and how many rows match in all."""

    rows: list[T]
    total: int


@dataclass(frozen=True)
class ExecutionFilter:
    state: str | None = None
    requester: str | None = None
    since: datetime | None = None  # created at or after; UTC when it has no zone
    text: str | None = None  # in the request's words, ignoring case


@dataclass(frozen=True)
class ApprovalFilter:
    status: str | None = None
    execution_id: str | None = None


@dataclass(frozen=True)
class AuditFilter:
    entity_id: str | None = None  # an entity id, or the start of one
    entity_type: str | None = None
    actor: str | None = None


async def get_execution(
    session: AsyncSession, execution_id: str, *, for_update: bool = False
) -> ExecutionRow:
    """One execution; NotFound when there is none of that id."""
    execution = await session.get(ExecutionRow, execution_id, with_for_update=for_update)
    if execution is None:
        raise NotFound(f"no execution with id {execution_id!r}")
    return execution


async def execution_exists(session: AsyncSession, execution_id: str) -> bool:
    return await session.get(ExecutionRow, execution_id) is not None


def _executions(flt: ExecutionFilter) -> Select[ExecutionRow]:
    query = select(ExecutionRow).order_by(ExecutionRow.created_at.desc(), ExecutionRow.id)
    if flt.state:
        query = query.where(ExecutionRow.state == flt.state)
    if flt.requester is not None:
        query = query.where(ExecutionRow.requested_by == flt.requester)
    if flt.since is not None:
        since = flt.since if flt.since.tzinfo else flt.since.replace(tzinfo=UTC)
        query = query.where(ExecutionRow.created_at >= since)
    if flt.text:
        query = query.where(
            func.lower(ExecutionRow.request_text).contains(flt.text.lower(), autoescape=True)
        )
    return query


def _approvals(flt: ApprovalFilter) -> Select[ApprovalRow]:
    query = select(ApprovalRow).order_by(ApprovalRow.created_at.desc(), ApprovalRow.id)
    if flt.status:
        query = query.where(ApprovalRow.status == flt.status)
    if flt.execution_id is not None:
        query = query.where(ApprovalRow.execution_id == flt.execution_id)
    return query


def _audit(flt: AuditFilter) -> Select[AuditEventRow]:
    query = select(AuditEventRow).order_by(AuditEventRow.id.desc())
    if flt.entity_id:
        query = query.where(AuditEventRow.entity_id.startswith(flt.entity_id, autoescape=True))
    if flt.entity_type:
        query = query.where(AuditEventRow.entity_type == flt.entity_type)
    if flt.actor:
        query = query.where(AuditEventRow.actor == flt.actor)
    return query


async def _page(session: AsyncSession, query: Select[T], offset: int, limit: int) -> Page[T]:
    total_query: Select[Any] = select(func.count()).select_from(query.order_by(None).subquery())
    total = int(await session.scalar(total_query) or 0)
    rows = await session.scalars(query.offset(offset).limit(limit))
    return Page(list(rows), total)


async def page_executions(
    session: AsyncSession, flt: ExecutionFilter, *, offset: int, limit: int
) -> Page[ExecutionRow]:
    """Executions, newest first."""
    return await _page(session, _executions(flt), offset, limit)


async def page_approvals(
    session: AsyncSession, flt: ApprovalFilter, *, offset: int, limit: int
) -> Page[ApprovalRow]:
    """Approvals, newest first."""
    return await _page(session, _approvals(flt), offset, limit)


async def page_audit(
    session: AsyncSession, flt: AuditFilter, *, offset: int, limit: int
) -> Page[AuditEventRow]:
    """Audit events, newest first."""
    return await _page(session, _audit(flt), offset, limit)


async def list_executions(
    session: AsyncSession, *, state: str | None = None, limit: int = 50
) -> list[ExecutionRow]:
    """The newest `limit` executions, newest first."""
    query = _executions(ExecutionFilter(state=state)).limit(limit)
    return list(await session.scalars(query))


async def list_approvals(
    session: AsyncSession, *, status: str | None = None, limit: int = 50
) -> list[ApprovalRow]:
    """The newest `limit` approvals, newest first."""
    query = _approvals(ApprovalFilter(status=status)).limit(limit)
    return list(await session.scalars(query))


async def list_audit(
    session: AsyncSession, *, entity_id: str | None = None, limit: int = 100
) -> list[AuditEventRow]:
    """The newest `limit` audit events, oldest first."""
    query = _audit(AuditFilter(entity_id=entity_id)).limit(limit)
    return list(reversed(list(await session.scalars(query))))


@dataclass(frozen=True)
class StoredEvent:
    """One stored progress event of an execution."""

    id: int
    type: str
    data: dict[str, Any]
    at: datetime


async def execution_state(session: AsyncSession, execution_id: str) -> str | None:
    """The execution's state, None when there is no such execution."""
    return await session.scalar(select(ExecutionRow.state).where(ExecutionRow.id == execution_id))


async def event_ids_between(
    session: AsyncSession, execution_id: str, *, above: int, up_to: int
) -> list[int]:
    """The ids of the execution's stored events in (above, up_to]."""
    ids = await session.scalars(
        select(ExecutionEventRow.id).where(
            ExecutionEventRow.execution_id == execution_id,
            ExecutionEventRow.id > above,
            ExecutionEventRow.id <= up_to,
        )
    )
    return list(ids)


async def events_after(
    session: AsyncSession, execution_id: str, *, after: int, also: list[int], limit: int
) -> list[StoredEvent]:
    """Up to `limit` of the execution's stored events with an id above `after` or in `also`,
    in id order."""
    newer = ExecutionEventRow.id > after
    rows = await session.scalars(
        select(ExecutionEventRow)
        .where(
            ExecutionEventRow.execution_id == execution_id,
            or_(newer, ExecutionEventRow.id.in_(also)) if also else newer,
        )
        .order_by(ExecutionEventRow.id)
        .limit(limit)
    )
    return [StoredEvent(row.id, row.type, row.data or {}, row.at) for row in rows]


# --- across executions: what the feed of all executions reads (see api/routes/feed.py) ---


@dataclass(frozen=True)
class FeedEvent:
    """One stored event of any execution."""

    id: int
    execution_id: str
    type: str
    data: dict[str, Any]
    at: datetime


async def newest_event_id(session: AsyncSession) -> int:
    """The id of the newest stored event of any execution (0 when there is none)."""
    return int(await session.scalar(select(func.max(ExecutionEventRow.id))) or 0)


async def feed_ids_between(
    session: AsyncSession, types: Sequence[str], *, above: int, up_to: int
) -> list[int]:
    """The ids of stored events of the given types, of any execution, in (above, up_to]."""
    ids = await session.scalars(
        select(ExecutionEventRow.id).where(
            ExecutionEventRow.id > above,
            ExecutionEventRow.id <= up_to,
            ExecutionEventRow.type.in_(types),
        )
    )
    return list(ids)


async def feed_events_after(
    session: AsyncSession, types: Sequence[str], *, after: int, also: list[int], limit: int
) -> list[FeedEvent]:
    """Up to `limit` stored events of the given types, of any execution, with an id above
    `after` or in `also`, in id order."""
    newer = ExecutionEventRow.id > after
    rows = await session.scalars(
        select(ExecutionEventRow)
        .where(
            ExecutionEventRow.type.in_(types),
            or_(newer, ExecutionEventRow.id.in_(also)) if also else newer,
        )
        .order_by(ExecutionEventRow.id)
        .limit(limit)
    )
    return [FeedEvent(r.id, r.execution_id, r.type, r.data or {}, r.at) for r in rows]


async def approvals_of(session: AsyncSession, execution_id: str) -> list[ApprovalRow]:
    """Every approval of one execution, oldest first."""
    rows = await session.scalars(
        select(ApprovalRow)
        .where(ApprovalRow.execution_id == execution_id)
        .order_by(ApprovalRow.created_at, ApprovalRow.id)
    )
    return list(rows)
