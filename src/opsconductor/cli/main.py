"""The command line: a thin face over the service functions. Errors become messages and exit
codes here, and only here."""

from __future__ import annotations

import os
import re
import socket
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsconductor.cli.answers import offer_to_run, print_answer
from opsconductor.cli.caller import check_may_request, claimed_name, explained, prove
from opsconductor.cli.common import Actor, Format, console, fail, out, run
from opsconductor.cli.lazy import LazyGroup, RootGroup
from opsconductor.cli.mcp import mcp
from opsconductor.cli.serve import serve
from opsconductor.errors import OpsConductorError

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor
    from opsconductor.pipeline.answer import Answer


class _Root(RootGroup):
    # Imported when named (see cli/lazy.py); the help is what `opsconductor --help` lists.
    lazy = {
        "assets": LazyGroup("opsconductor.cli.assets", "app", "The asset inventory."),
        "executions": LazyGroup(
            "opsconductor.cli.records", "executions_app", "Executions and their results."
        ),
        "approvals": LazyGroup(
            "opsconductor.cli.records", "approvals_app", "Approvals waiting for a decision."
        ),
        "audit": LazyGroup("opsconductor.cli.audit", "audit_app", "The audit trail."),
        "credentials": LazyGroup(
            "opsconductor.cli.credentials",
            "credentials_app",
            "Logins for assets, encrypted at rest; secrets are never shown.",
        ),
        "users": LazyGroup("opsconductor.cli.identity", "users_app", "API users and their roles."),
        "tokens": LazyGroup(
            "opsconductor.cli.identity",
            "tokens_app",
            "API tokens: shown once when made, only a hash is kept.",
        ),
        "db": LazyGroup("opsconductor.cli.main", "db_app", "The database schema."),
    }


app = typer.Typer(
    cls=_Root,
    no_args_is_help=True,
    add_completion=False,
    help="OpsConductor: ask, approve, run.",
)
db_app = typer.Typer(no_args_is_help=True)  # help: _Root.lazy
app.command("serve")(serve)
app.command("mcp")(mcp)


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="The request, in plain words.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and preview; run nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm a level-1 plan.")] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Queue background work; don't wait.")
    ] = False,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            help="Read the request in the context of your earlier requests of this session "
            "('restart it', 'and on web-02?'); any name.",
        ),
    ] = None,
    fmt: Format = "text",
    actor: Actor = None,
) -> None:
    """Ask a question or request an action, recorded as asked by who you are proven to be."""
    from opsconductor.pipeline import conversations

    if session is not None and not re.fullmatch(conversations.ID_PATTERN, session):
        fail("--session: use letters, digits, '.', '_' or '-' (at most 64), starting with one")
    claimed = claimed_name(actor)
    interactive = fmt == "text" and sys.stdin.isatty() and not yes and not dry_run

    async def work(conductor: OpsConductor) -> Answer:
        caller = await prove(conductor, claimed)
        if not dry_run:
            await check_may_request(conductor, caller, text)
        async with explained(caller):
            answer = await conductor.pipeline.ask(
                text,
                requester=caller.name,
                dry_run=dry_run,
                confirm=yes,
                wait=not detach,
                role=caller.role,
                conversation_id=session,
            )
            return await offer_to_run(
                conductor, answer, caller, interactive=interactive, detach=detach
            )

    print_answer(run(work), fmt)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest revision."""
    import asyncio

    run(lambda c: asyncio.sleep(0))  # OpsConductor.open migrates
    out.print("Database schema is up to date.")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run what is queued, then stop.")] = False,
    poll_s: Annotated[
        float, typer.Option(min=0.1, help="How often to sweep (and, without Redis, to poll).")
    ] = 1.0,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            max=1000,
            help="With OPSCONDUCTOR_REDIS_URL: how many executions this worker runs at once.",
        ),
    ] = 1,
) -> None:
    """Run queued background executions: with OPSCONDUCTOR_REDIS_URL as they arrive through
    Redis (on any machine that reaches the database and Redis), else by polling the store."""
    from opsconductor.config import load_settings

    redis = load_settings().redis_url is not None
    if concurrency > 1 and not redis:
        fail("--concurrency needs OPSCONDUCTOR_REDIS_URL: the polling worker runs one at a time")
    name = f"worker:{socket.gethostname()}:{os.getpid()}"
    if redis and not once:
        from opsconductor.queue.redis import RedisWorker

        run(lambda c: RedisWorker(c, name=name, concurrency=concurrency).serve(poll_s=poll_s))
        return
    from opsconductor.queue.inprocess import Worker

    run(
        lambda c: Worker(c.executions, name=name).serve(
            once=once, poll_s=poll_s, handle_signals=True
        )
    )


@app.command()
def demo() -> None:
    """Seed the demo inventory and ask a few questions end to end."""
    from opsconductor.demo.run import run_demo

    # The demo's own lines carry Rich tags; its questions and inventory are fixed text.
    run(lambda c: run_demo(c, console))


class EvalBrain(StrEnum):
    RULES = "rules"
    LLM = "llm"


@app.command("eval")
def evaluate(
    corpus: Path,
    inventory: Path,
    output: Annotated[Path, typer.Option("--output")] = Path("docs/eval.md"),
    brain: Annotated[
        list[EvalBrain] | None,
        typer.Option(
            "--brain",
            help="rules (default) or llm (the model OPSCONDUCTOR_LLM_* name); given twice, "
            "--brain rules --brain llm, it writes a comparison of the two.",
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option("--sample", min=1, help="Only this many requests, spread over the corpus."),
    ] = None,
) -> None:
    """Dry-run a request corpus against an inventory and write per-group results."""
    from opsconductor.evaluation import main_eval
    from opsconductor.evaluation_compare import main_compare

    brains = set(brain or [EvalBrain.RULES])
    try:
        if len(brains) == 2:
            main_compare(corpus, inventory, output, sample=sample)
        else:
            main_eval(corpus, inventory, output, brain=brains.pop().value, sample=sample)
    except OpsConductorError as exc:
        fail(str(exc))
    out.print(f"Wrote {output}", markup=False)


def main() -> None:
    app()
