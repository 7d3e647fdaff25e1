"""The offset/limit window of the list endpoints (the query modules fetch the page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

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
