"""`opsconductor executions|approvals …`: what ran and what waits (the audit trail: `cli.audit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsconductor.cli import views
from opsconductor.cli.caller import (
    check_may_cancel,
    claimed_name,
    explained,
    prove,
    require_proven,
)
from opsconductor.cli.common import Actor, Format, emit, fail, out, run
from opsconductor.execution import queries
from opsconductor.execution.recovery import Resolution
from opsconductor.pipeline.answer import Answer
from opsconductor.schemas.execution import ExecutionResultV1

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor

executions_app = typer.Typer(no_args_is_help=True)  # help: cli/main.py, _Root.lazy
approvals_app = typer.Typer(no_args_is_help=True)  # help: cli/main.py, _Root.lazy


@executions_app.command("list")
def executions_list(
    state: Annotated[str | None, typer.Option("--state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    fmt: Format = "text",
) -> None:
    """Recent executions, newest first."""

    async def work(conductor: OpsConductor) -> list[dict[str, Any]]:
        async with conductor.db.reader() as session:
            rows = await queries.list_executions(session, state=state, limit=limit)
            return [views.execution_row(r) for r in rows]

    rows = run(work)
    emit(rows, fmt, lambda: views.show_table(out, "Executions", rows))


@executions_app.command("show")
def executions_show(execution_id: str, fmt: Format = "text") -> None:
    """One execution, with its steps and answer."""
    result = run(lambda c: c.executions.result(execution_id))
    emit(result.model_dump(mode="json"), fmt, lambda: views.show_result(out, result))


@executions_app.command("cancel")
def executions_cancel(
    execution_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")] = (
        "cancelled from the command line"
    ),
    fmt: Format = "text",
    actor: Actor = None,
) -> None:
    """Stop an execution: running commands are killed on their hosts and nothing new starts.
    Your own, or (as an approver or admin) anyone's."""
    claimed = claimed_name(actor)

    async def work(conductor: OpsConductor) -> ExecutionResultV1:
        caller = await prove(conductor, claimed)
        async with conductor.db.reader() as session:
            requester = (await queries.get_execution(session, execution_id)).requested_by
        await check_may_cancel(conductor, caller, execution_id, requester)
        return await conductor.executions.cancel(execution_id, caller.name, reason)

    result = run(work)
    emit(result.model_dump(mode="json"), fmt, lambda: views.show_result(out, result))


@executions_app.command("resolve")
def executions_resolve(
    execution_id: str,
    retry: Annotated[
        bool, typer.Option("--retry", help="Run the interrupted change again.")
    ] = False,
    skip: Annotated[
        bool, typer.Option("--skip", help="Give it up; what depends on it is skipped too.")
    ] = False,
    abort: Annotated[bool, typer.Option("--abort", help="End the execution here.")] = False,
    fmt: Format = "text",
    actor: Actor = None,
) -> None:
    """Decide how an interrupted execution goes on (its worker stopped while a change ran):
    an approver, or for a level-1 plan its requester; never the requester of level 2 or 3.
    Retry and skip run the rest here and now."""
    chosen = [
        d
        for d, on in ((Resolution.RETRY, retry), (Resolution.SKIP, skip), (Resolution.ABORT, abort))
        if on
    ]
    if len(chosen) != 1:
        fail("say exactly one of --retry, --skip or --abort")
    claimed = claimed_name(actor)

    async def work(conductor: OpsConductor) -> ExecutionResultV1:
        caller = await prove(conductor, claimed)
        await require_proven(conductor, caller, execution_id, "resolving")
        async with explained(caller):
            return await conductor.pipeline.resolve(
                execution_id, chosen[0], caller.name, role=caller.role
            )

    result = run(work)
    emit(result.model_dump(mode="json"), fmt, lambda: views.show_result(out, result))


@approvals_app.command("list")
def approvals_list(
    status: Annotated[str | None, typer.Option("--status")] = "pending",
    fmt: Format = "text",
) -> None:
    """Approvals, pending ones by default."""

    async def work(conductor: OpsConductor) -> list[dict[str, Any]]:
        async with conductor.db.reader() as session:
            rows = await queries.list_approvals(session, status=status)
            return [views.approval_row(r) for r in rows]

    rows = run(work)
    emit(rows, fmt, lambda: views.show_table(out, "Approvals", rows))


@approvals_app.command("approve")
def approvals_approve(
    approval_id: str,
    comment: Annotated[str | None, typer.Option("--comment")] = None,
    detach: Annotated[bool, typer.Option("--detach")] = False,
    fmt: Format = "text",
    actor: Actor = None,
) -> None:
    """Approve as who you are proven to be; the execution starts once it has every approval
    it needs."""
    claimed = claimed_name(actor)

    async def work(conductor: OpsConductor) -> Answer:
        caller = await prove(conductor, claimed)
        await require_proven(conductor, caller, approval_id, "approving")
        async with explained(caller):
            return await conductor.pipeline.approve(
                approval_id, caller.name, comment=comment, wait=not detach, role=caller.role
            )

    answer = run(work)
    emit(answer.to_document(), fmt, lambda: views.show_answer(out, answer))


@approvals_app.command("deny")
def approvals_deny(
    approval_id: str,
    comment: Annotated[str, typer.Option("--comment", help="Why (required).")],
    actor: Actor = None,
) -> None:
    """Deny; the execution is rejected and nothing runs."""
    if not comment.strip():
        fail("a denial needs a comment saying why")
    claimed = claimed_name(actor)

    async def work(conductor: OpsConductor) -> tuple[str, str]:
        caller = await prove(conductor, claimed)
        await require_proven(conductor, caller, approval_id, "denying")
        async with explained(caller):
            execution = await conductor.executions.deny(
                approval_id, caller.name, comment, role=caller.role
            )
        return execution.id, execution.state

    execution_id, state = run(work)
    out.print(f"Denied; execution {execution_id} is {state}.")
