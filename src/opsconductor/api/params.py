"""The shapes of what the API takes in path, query, header and body, checked once where it
enters: identifiers and names hold no control character and have a bounded length, free text
may keep tab and line breaks, event ids fit the store's 64-bit column. Routes and schemas use
these types instead of a bare `str` or `int`, so hostile input is a 422 naming the field, never
a database error."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

from opsconductor.schemas.text import Line, Prose

# Longest of the names the store keeps (asset names, requesters, actors: 255 characters).
MAX_NAME_CHARS = 255
MAX_COMMENT_CHARS = 4000
MAX_EVENT_ID = 2**63 - 1  # BIGINT on PostgreSQL, INTEGER on SQLite: both signed 64-bit

# An id, a name or a filter value from a path or a query string.
Name = Annotated[str, Line(MAX_NAME_CHARS)]
# A comment or a reason a person writes: tab and line breaks allowed, other controls not.
FreeText = Annotated[str, Prose(MAX_COMMENT_CHARS)]
# An event row id to resume after (SSE `after`, `Last-Event-ID`, WebSocket `after`).
EventId = Annotated[int, Interval(ge=0, le=MAX_EVENT_ID)]
