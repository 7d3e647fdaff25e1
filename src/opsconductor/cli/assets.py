"""`opsconductor assets …`: the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from opsconductor.app import OpsConductor
from opsconductor.cli import views
from opsconductor.cli.common import (
    Format,
    emit,
    guard,
    out,
    run,
)
from opsconductor.errors import OpsConductorError
from opsconductor.inventory import repository
from opsconductor.inventory.importers import read_assets_file
from opsconductor.inventory.models import AssetFilter

app = typer.Typer(no_args_is_help=True, help="The asset inventory.")


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


def _filter(values: dict[str, object]) -> AssetFilter:
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
            return (await repository.get_asset(session, name)).model_dump(mode="json")

    row = run(work)
    emit(row, fmt, lambda: views.show_record(out, row))
