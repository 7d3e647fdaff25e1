"""What `ask` and `assets discover` share once the pipeline answered: the interactive offer to
run one's own level-1 plan, and printing the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from opsconductor.cli import views
from opsconductor.cli.caller import Caller
from opsconductor.cli.common import Format, emit, out

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor
    from opsconductor.pipeline.answer import Answer


async def offer_to_run(
    conductor: OpsConductor, answer: Answer, caller: Caller, *, interactive: bool, detach: bool
) -> Answer:
    """At a terminal, a level-1 plan waiting for its requester is shown and may be run now."""
    level = answer.plan.approval_level if answer.plan else 0
    if not (interactive and answer.approval_status == "pending" and level == 1):
        return answer
    views.show_answer(out, answer)
    if not typer.confirm("Run it?", default=False):
        return answer
    return await conductor.pipeline.approve(
        answer.approval_ids[0], caller.name, wait=not detach, role=caller.role
    )


def print_answer(answer: Answer, fmt: Format) -> None:
    """The answer as text or JSON; an error answer exits 1."""
    emit(answer.to_document(), fmt, lambda: views.show_answer(out, answer))
    if answer.response.type == "error":
        raise typer.Exit(1)
