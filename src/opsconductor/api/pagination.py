"""Offset/limit pages over SQL queries, for the list endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

MAX_LIMIT = 500


@dataclass(frozen=True)
class Window:
    offset: int
    limit: int


def window(
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
) -> Window:
    return Window(offset, limit)


WindowDep = Annotated[Window, Depends(window)]


async def fetch_page(session: AsyncSession, query: Select[T], page: Window) -> tuple[list[T], int]:
    """The rows of one page of an ordered query, and how many rows match in all."""
    total_query: Select[Any] = select(func.count()).select_from(query.order_by(None).subquery())
    total = int(await session.scalar(total_query) or 0)
    rows = await session.scalars(query.offset(page.offset).limit(page.limit))
    return list(rows), total
