"""What the MCP tools do, without the SDK: each one proves the acting user the way the CLI does
(a token, or the OS login, checked again on every call so a revoked token stops working at
once), calls the same service functions as the CLI and the API, and returns a `Reply`: the
document a program reads (the API's own shapes) and a summary a person or a model reads (the
CLI's own rendering).

There is deliberately no decision here: no approve, no deny, no confirm. An agent may ask and
wait; a person decides through the CLI, the API or the web page."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from opsconductor.api.schemas import MAX_REQUEST_BODY_CHARS, ApprovalPublic, ExecutionPublic
from opsconductor.app import OpsConductor
from opsconductor.cli import views
from opsconductor.cli.caller import Caller, check_may_request, explained, prove
from opsconductor.errors import OpsConductorError
from opsconductor.execution import queries
from opsconductor.execution.approvals import ApprovalStatus
from opsconductor.execution.states import ExecutionState
from opsconductor.pipeline import conversations
from opsconductor.schemas.text import control_character_problem

MAX_ID_CHARS = 255  # the longest id or name the store keeps, as the API's `Name`
MAX_LISTED = 200
SUMMARY_WIDTH = 100


class ToolRefused(OpsConductorError):
    """A tool call that cannot be done as asked; the message says why, and nothing was done."""


@dataclass(frozen=True)
class Reply:
    summary: str  # for the model or the person reading the conversation
    document: dict[str, Any]  # for a program: the same shapes the API returns


class AgentTools:
    """The tools of one MCP server, acting as the user `claimed` names (or, unnamed, the
    user the token or the OS login proves)."""

    def __init__(self, conductor: OpsConductor, claimed: str | None) -> None:
        self.conductor = conductor
        self.claimed = claimed

    async def caller(self) -> Caller:
        return await prove(self.conductor, self.claimed)

    async def ask(self, text: str, dry_run: bool = False, session: str | None = None) -> Reply:
        """The whole pipeline, as `opsconductor ask` without `--yes`: level 0 runs at once;
        level 1 waits for its requester's confirmation and levels 2 and 3 for an approver,
        neither of which this face can give."""
        if not isinstance(text, str) or not text.strip():
            raise ToolRefused("text is empty: ask a question such as 'how many assets do we have?'")
        if len(text) > MAX_REQUEST_BODY_CHARS:
            raise ToolRefused(
                f"text is {len(text):,} characters long; send at most "
                f"{self.conductor.settings.max_request_chars:,}"
            )
        if session is not None and not re.fullmatch(conversations.ID_PATTERN, session):
            raise ToolRefused(
                "session: use letters, digits, '.', '_' or '-' (at most 64), starting with one"
            )
        caller = await self.caller()
        if not dry_run:
            await check_may_request(self.conductor, caller, text)
        async with explained(caller):
            answer = await self.conductor.pipeline.ask(
                text,
                requester=caller.name,
                dry_run=dry_run,
                confirm=False,
                # As the API: immediate plans run inline; background ones are queued for a
                # worker, and the agent follows them with `execution_status`.
                wait=False,
                role=caller.role,
                conversation_id=session,
            )
        document = answer.to_document()
        if answer.response.type == "error":
            # Input the pipeline refuses (too long, binary data, …) is a tool error, so that
            # an agent sees a failure and not an answer.
            raise ToolRefused(answer.response.message)
        return Reply(_rendered(lambda c: views.show_answer(c, answer)), document)

    async def execution_status(self, execution_id: str) -> Reply:
        """One execution's result: its status, its steps per target, their output."""
        checked = _id("execution_id", execution_id)
        await self.caller()
        result = await self.conductor.executions.result(checked)
        return Reply(
            _rendered(lambda c: views.show_result(c, result)), result.model_dump(mode="json")
        )

    async def list_executions(self, state: str | None = None, limit: int = 20) -> Reply:
        """The newest executions, newest first."""
        if state is not None and state not in set(ExecutionState):
            raise ToolRefused(f"state: one of {', '.join(ExecutionState)}")
        await self.caller()
        async with self.conductor.db.reader() as session:
            rows = await queries.list_executions(session, state=state, limit=_limit(limit))
            data = [ExecutionPublic.model_validate(r).model_dump(mode="json") for r in rows]
            shown = [views.execution_row(r) for r in rows]
        summary = _rendered(lambda c: views.show_table(c, "Executions", shown))
        return Reply(summary, {"data": data, "count": len(data)})

    async def list_approvals(self, status: str | None = "pending", limit: int = 20) -> Reply:
        """Approvals, newest first; pending ones unless another status is asked for."""
        if status is not None and status not in set(ApprovalStatus):
            raise ToolRefused(f"status: one of {', '.join(ApprovalStatus)}")
        await self.caller()
        async with self.conductor.db.reader() as session:
            rows = await queries.list_approvals(session, status=status, limit=_limit(limit))
            data = [ApprovalPublic.model_validate(r).model_dump(mode="json") for r in rows]
            shown = [views.approval_row(r) for r in rows]
        summary = _rendered(lambda c: views.show_table(c, "Approvals", shown))
        summary += (
            "\nApprovals are decided by a person (opsconductor approvals approve ID, the API or "
            "the web page), never through this server."
        )
        return Reply(summary, {"data": data, "count": len(data)})


def _id(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ToolRefused(f"{field} is empty: give an id from ask or list_executions")
    if len(value) > MAX_ID_CHARS:
        raise ToolRefused(f"{field} is {len(value):,} characters long; ids are shorter")
    problem = control_character_problem(value)
    if problem is not None:
        raise ToolRefused(f"{field} {problem}")
    return value


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LISTED:
        raise ToolRefused(f"limit: between 1 and {MAX_LISTED}")
    return limit


def _rendered(show: Any) -> str:
    """What the CLI would print, as plain text (no colour, no terminal)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=SUMMARY_WIDTH, color_system=None, soft_wrap=True, markup=False
    )
    show(console)
    return buffer.getvalue().rstrip()
