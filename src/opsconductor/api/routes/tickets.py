"""Stream tickets: what a browser sends instead of its token to open an execution's
WebSocket or Server-Sent Events stream (see `identity.tickets`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Response, status
from pydantic import BaseModel, ConfigDict, Field

from opsconductor.api.deps import ConductorDep, Reader
from opsconductor.api.errors import error_responses
from opsconductor.execution.queries import get_execution
from opsconductor.identity.tickets import issue_ticket
from opsconductor.schemas.text import Line

router = APIRouter(tags=["executions"])


class StreamTicketCreate(BaseModel):
    """What a ticket is for: one execution's stream, or (no id) the first one it opens."""

    model_config = ConfigDict(extra="forbid")

    execution_id: Annotated[str, Line(255)] | None = Field(default=None, min_length=1)


class StreamTicketPublic(BaseModel):
    """A one-use ticket: `?ticket=` on `/executions/{id}/ws` or `/executions/{id}/events`."""

    ticket: str
    expires_at: datetime
    execution_id: str | None


@router.post(
    "/stream-tickets",
    status_code=status.HTTP_201_CREATED,
    response_model=StreamTicketPublic,
    responses=error_responses(404, 422),
)
async def create_stream_ticket(
    conductor: ConductorDep,
    principal: Reader,
    response: Response,
    body: Annotated[StreamTicketCreate | None, Body()] = None,
) -> StreamTicketPublic:
    """A ticket that opens ONE event stream, once, within 30 seconds, as the caller (whose
    role is checked again when it is used). For browsers, which cannot set headers on a
    WebSocket or an EventSource; other clients send `Authorization: Bearer` to the stream."""
    execution_id = body.execution_id if body is not None else None
    async with conductor.db.session() as session:
        if execution_id is not None:
            await get_execution(session, execution_id)  # NotFound → 404
        issued = await issue_ticket(session, principal, execution_id)
    response.headers["Cache-Control"] = "no-store"
    return StreamTicketPublic(
        ticket=issued.ticket, expires_at=issued.expires_at, execution_id=issued.execution_id
    )
