"""GET /healthz: whether this process and its database answer. Needs no token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from opsconductor.api.deps import ConductorDep
from opsconductor.api.errors import ErrorPublic
from opsconductor.api.schemas import HealthPublic

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthPublic,
    responses={503: {"model": ErrorPublic, "description": "The database does not answer"}},
)
async def healthz(conductor: ConductorDep) -> HealthPublic:
    try:
        async with conductor.db.session() as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("health check: database does not answer: %s", exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "The database does not answer."
        ) from None
    return HealthPublic(status="ok", database="ok")
