"""POST /requests: a request in plain words, through the whole pipeline."""

from __future__ import annotations

from fastapi import APIRouter

from opsconductor.api.deps import Asker, ConductorDep
from opsconductor.api.errors import error_responses
from opsconductor.api.schemas import RequestIn
from opsconductor.schemas.answer import AnswerV1

router = APIRouter(tags=["requests"])


@router.post(
    "/requests",
    response_model=AnswerV1,
    responses=error_responses(400, 401, 403, 422),
    summary="Ask for something in plain words",
)
async def ask(body: RequestIn, conductor: ConductorDep, principal: Asker) -> AnswerV1:
    """Understand, plan and preview the request; record it as an execution unless `dry_run`.

    Level 0 runs at once; level 1 runs when `confirm` is set (the requester's own plan only);
    levels 2 and 3 wait for an approver (`approval.ids`). Immediate plans are answered with
    their result; background plans come back at once, queued for the worker."""
    answer = await conductor.pipeline.ask(
        body.text,
        requester=principal.name,
        dry_run=body.dry_run,
        confirm=body.confirm,
        # Immediate plans run inline whatever `wait` says; background ones only get queued.
        wait=False,
        role=principal.role,
        conversation_id=body.conversation_id,
    )
    return answer.to_answer()
