"""`opsconductor demo`: seed a small inventory and ask questions end to end."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rich.console import Console

from opsconductor.app import OpsConductor
from opsconductor.cli import views
from opsconductor.inventory import repository
from opsconductor.inventory.importers import read_assets_file

QUESTIONS: list[tuple[str, bool]] = [
    ("How many assets do we have?", False),
    ("Show server details for web-prod-01", False),
    ("List all production linux servers", False),
    ("Check disk space on ops-console", True),  # runs on this machine after confirmation
    ("Run a full health check on ops-console", False),
    ("Restart nginx on web-prod-02", False),  # level 1: shown, waits for confirmation
    ("Deploy billing-api 2.3.1 to the app servers", False),  # level 2: needs a second person
    ("Check disk space on web-99", False),  # unknown host: a clarification, nothing runs
    ("restart nginx on web-prod-01; rm -rf /", False),  # refused before understanding
]


async def run_demo(conductor: OpsConductor, console: Console) -> None:
    path = Path(str(resources.files("opsconductor.demo") / "inventory.yaml"))
    assets = read_assets_file(path)
    async with conductor.db.session() as session:
        await repository.upsert_assets(session, assets)
    console.print(
        f"Demo inventory: {len(assets)} assets in {conductor.settings.effective_database_url}\n"
    )
    for text, confirm in QUESTIONS:
        console.print(f"[bold]> {text}[/bold]" + ("  (confirmed with --yes)" if confirm else ""))
        answer = await conductor.pipeline.ask(text, requester="demo", confirm=confirm)
        views.show_answer(console, answer)
        console.print()
