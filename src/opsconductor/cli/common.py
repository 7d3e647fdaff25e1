"""Shared pieces of the command line: consoles, options, and the one place where errors
become messages and exit codes."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from opsconductor.config import load_settings
from opsconductor.errors import OpsConductorError
from opsconductor.pipeline.orchestrator import Conductor

# soft_wrap: long answers and errors stay whole lines, whatever the terminal width.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

Format = Annotated[str, typer.Option("--format", "-f", help="text or json")]
Actor = Annotated[
    str | None, typer.Option("--as", help="Who is acting (default: $OPSCONDUCTOR_USER or login).")
]


def actor_name(explicit: str | None) -> str:
    return explicit or os.environ.get("OPSCONDUCTOR_USER") or getpass.getuser()


def run(work: Callable[[Conductor], Awaitable[T]]) -> T:
    """Open the conductor, do the work, close it; errors become a message and exit code 2."""

    async def main() -> T:
        conductor = await Conductor.open(load_settings())
        try:
            return await work(conductor)
        finally:
            await conductor.close()

    try:
        return asyncio.run(main())
    except OpsConductorError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        raise typer.Exit(2) from None


def emit(document: Any, fmt: str, render: Callable[[], None]) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(document, default=str, indent=2) + "\n")
    else:
        render()


def guard(work: Callable[[], T]) -> T:
    try:
        return work()
    except OpsConductorError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
