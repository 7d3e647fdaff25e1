"""`opsconductor assets …`: the inventory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from opsconductor.cli import views
from opsconductor.cli.answers import offer_to_run, print_answer
from opsconductor.cli.caller import check_may_request_level, claimed_name, explained, prove
from opsconductor.cli.common import (
    Actor,
    Format,
    emit,
    guard,
    out,
    run,
)
from opsconductor.errors import OpsConductorError
from opsconductor.inventory import repository
from opsconductor.inventory.facts import facts_for
from opsconductor.inventory.importers import read_assets_file
from opsconductor.inventory.models import AssetFilter
from opsconductor.pipeline import discovery
from opsconductor.pipeline.answer import Answer
from opsconductor.schemas.text import Line

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor

app = typer.Typer(no_args_is_help=True)  # its help: cli/main.py, _Root.lazy


@app.command("import")
def assets_import(
    file: Annotated[Path, typer.Argument(help="YAML or CSV file of assets.")], fmt: Format = "text"
) -> None:
    """Import assets, all or nothing; re-importing updates in place."""
    assets = guard(lambda: read_assets_file(file))

    async def work(conductor: OpsConductor) -> repository.ImportSummary:
        async with conductor.db.session() as session:
            return await repository.upsert_assets(session, assets)

    summary = run(work)
    document = {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
    }
    emit(
        document,
        fmt,
        lambda: out.print(
            f"Imported {len(assets)} assets: {len(summary.created)} created, "
            f"{len(summary.updated)} updated, {len(summary.unchanged)} unchanged."
        ),
    )


@app.command("list")
def assets_list(
    os_type: Annotated[str | None, typer.Option("--os")] = None,
    device_type: Annotated[str | None, typer.Option("--type")] = None,
    environment: Annotated[str | None, typer.Option("--env")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
    search: Annotated[str | None, typer.Option("--search")] = None,
    location: Annotated[str | None, typer.Option("--location", help="Ignoring case.")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Declared to run it.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 200,
    fmt: Format = "text",
) -> None:
    """List assets, filtered."""
    values = {"os_type": os_type, "device_type": device_type, "environment": environment}
    values |= {"text": search, "location": location, "service": service}
    flt = guard(lambda: _filter({**values, "tags": tuple(tag or [])}))

    async def work(conductor: OpsConductor) -> list[dict[str, Any]]:
        async with conductor.db.reader() as session:
            found = await repository.list_assets(session, flt, limit=limit)
        return [a.model_dump(mode="json") for a in found]

    rows = run(work)
    emit(rows, fmt, lambda: views.show_assets(out, rows))


# What the API accepts for a filter word (`api.params.Name`): one line, no control character,
# so that a filter given on the command line is held to the same rule as one sent over HTTP.
_FILTER_WORD = TypeAdapter(Annotated[str, Line(255)])
_WORD_FIELDS = ("environment", "text", "location", "service", "tags")


def _check_word(field: str, word: object) -> None:
    try:
        _FILTER_WORD.validate_python(word)
    except ValidationError as exc:
        raise OpsConductorError(f"bad filter: {field}: {exc.errors()[0]['msg']}") from None


def _filter(values: dict[str, object]) -> AssetFilter:
    for field, value in values.items():
        for word in value if isinstance(value, tuple) else (value,):
            if field in _WORD_FIELDS and word is not None:
                _check_word(field, word)
    try:
        return AssetFilter.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise OpsConductorError(f"bad filter: {where}: {error['msg']}") from None


@app.command("show")
def assets_show(name: str, fmt: Format = "text") -> None:
    """Show one asset."""

    async def work(conductor: OpsConductor) -> dict[str, Any]:
        async with conductor.db.reader() as session:
            row = (await repository.get_asset(session, name)).model_dump(mode="json")
            found = (await facts_for(session, [name])).get(name)
        # No facts is unknown (never asked, or never answered), not an empty set.
        row["facts"] = found.values if found else None
        row["facts_collected_at"] = found.collected_at.isoformat() if found else None
        return row

    row = run(work)
    emit(row, fmt, lambda: _show_asset(dict(row)))


def _show_asset(row: dict[str, Any]) -> None:
    facts = dict(row.pop("facts", None) or {})
    at = row.pop("facts_collected_at", None)
    views.show_record(out, row)
    if not facts:
        out.print("         facts: none collected (opsconductor assets discover --name NAME)")
        return
    out.print(f"         facts: collected at {at}", markup=False, highlight=False)
    disks = facts.get("disks")
    if isinstance(disks, list):
        facts["disks"] = [
            f"{d.get('mount')} {d.get('size_mb')} MB {d.get('used_pct')}% used"
            for d in disks
            if isinstance(d, dict)
        ]
    views.show_record(out, facts)


@app.command("discover")
def assets_discover(
    os_type: Annotated[str | None, typer.Option("--os")] = None,
    environment: Annotated[str | None, typer.Option("--environment", "--env")] = None,
    name: Annotated[str | None, typer.Option("--name", help="In name or hostname.")] = None,
    location: Annotated[str | None, typer.Option("--location", help="Ignoring case.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm the level-1 plan.")] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Queue background work; don't wait.")
    ] = False,
    fmt: Format = "text",
    actor: Actor = None,
) -> None:
    """Ask the assets the filter selects for their facts (OS, kernel, CPUs, memory, disks,
    running services), as an execution recorded as requested by who you are proven to be."""
    values = {"os_type": os_type, "environment": environment, "text": name, "location": location}
    flt = guard(lambda: _filter({**values, "tags": tuple(tag or [])}))
    claimed = claimed_name(actor)
    interactive = fmt == "text" and sys.stdin.isatty() and not yes

    async def work(conductor: OpsConductor) -> Answer:
        caller = await prove(conductor, claimed)
        level = discovery.approval_level(conductor.pipeline)
        await check_may_request_level(conductor, caller, level)
        async with explained(caller):
            answer = await discovery.discover(
                conductor.pipeline,
                flt,
                requester=caller.name,
                confirm=yes,
                wait=not detach,
                role=caller.role,
            )
            return await offer_to_run(
                conductor, answer, caller, interactive=interactive, detach=detach
            )

    print_answer(run(work), fmt)
