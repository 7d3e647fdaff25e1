"""`opsconductor audit list|verify|anchor`: what was done, and whether the record still holds.

Exit codes: 0 the trail (and the anchor, if given) holds; 1 it does not; 2 the command could
not be carried out (a malformed anchor, an unreadable key, no database)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from opsconductor.app import OpsConductor
from opsconductor.cli import views
from opsconductor.cli.caller import acting_name
from opsconductor.cli.common import Actor, Format, emit, errors, fail, out, run
from opsconductor.errors import ValidationFailed
from opsconductor.execution import queries
from opsconductor.store.audit_verify import Anchor, ChainReport, make_anchor, verify_chain

audit_app = typer.Typer(no_args_is_help=True)  # help: cli/main.py, _Root.lazy


@audit_app.command("list")
def audit_list(
    entity: Annotated[str | None, typer.Option("--entity", help="Entity id prefix.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    fmt: Format = "text",
) -> None:
    """The newest audit events, oldest first."""

    async def work(conductor: OpsConductor) -> list[dict[str, Any]]:
        async with conductor.db.reader() as session:
            rows = await queries.list_audit(session, entity_id=entity, limit=limit)
            return [views.audit_row(r) for r in rows]

    rows = run(work)
    emit(rows, fmt, lambda: views.show_table(out, "Audit", rows))


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor", help="A head printed by `audit anchor`: also detect what was cut after it."
        ),
    ] = None,
) -> None:
    """Re-walk the HMAC chain and name the first altered, inserted, reordered or removed event;
    with --anchor, also rows removed from the end and any history rewritten before it."""
    try:
        expected = Anchor.parse(anchor) if anchor is not None else None
    except ValidationFailed as exc:
        fail(str(exc))

    async def work(conductor: OpsConductor) -> ChainReport:
        async with conductor.db.reader() as session:
            return await verify_chain(session, anchor=expected)

    report = run(work)
    if not report.ok:
        where = f" at event {report.first_bad_id}" if report.first_bad_id is not None else ""
        errors.print(f"Audit trail broken{where}: {report.problem}")
        raise typer.Exit(1)
    out.print(f"Audit trail intact: {report.checked} events verified{_legacy(report)}.")
    if expected is not None:
        out.print(f"Anchor {expected.last_id} holds: none of its {expected.count} events is gone.")


@audit_app.command("anchor")
def audit_anchor(actor: Actor = None) -> None:
    """Verify the trail and print its head (a short token) to keep somewhere the database's
    administrators cannot write; `audit verify --anchor` then detects truncation after it."""

    async def work(conductor: OpsConductor) -> ChainReport:
        return await make_anchor(conductor.db, await acting_name(conductor, actor))

    report = run(work)
    if not report.ok or report.anchor is None:
        where = f" at event {report.first_bad_id}" if report.first_bad_id is not None else ""
        errors.print(f"Not anchored: the audit trail is broken{where}: {report.problem}")
        raise typer.Exit(1)
    out.print(str(report.anchor))
    errors.print(
        f"Anchored {report.anchor.count} events up to event {report.anchor.last_id}"
        f"{_legacy(report)}: keep this line where the database's administrators cannot write."
    )


def _legacy(report: ChainReport) -> str:
    if not report.legacy:
        return ""
    return f" ({report.legacy} of them from before the keyed chain, checked by plain SHA-256)"
