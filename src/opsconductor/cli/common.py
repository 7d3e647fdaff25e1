"""Shared pieces of the command line: consoles, options, and the one place where errors
become messages and exit codes."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from opsconductor.errors import DatabaseUnavailable, OpsConductorError

# What opens the store (the app, SQLAlchemy, the settings) is imported by the functions that
# open it: `--help` and a command's own checks of its arguments should not pay for it.
if TYPE_CHECKING:
    from opsconductor.app import OpsConductor
    from opsconductor.config import Settings

# soft_wrap: long answers and errors stay whole lines, whatever the terminal width.
# markup=False: what `out` and `errors` print comes from users and data (names, ids, file
# contents, command output), and `[` in any of it must print as `[`, not be read as a Rich tag;
# table cells inherit this. `console` reads Rich tags, for fixed text that carries them (the
# `serve` banner, the demo) and nothing else.
out = Console(soft_wrap=True, markup=False)
errors = Console(stderr=True, soft_wrap=True, markup=False)
console = Console(soft_wrap=True)
T = TypeVar("T")

Format = Annotated[str, typer.Option("--format", "-f", help="text or json")]
Actor = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Who you are acting as: only a name you can prove (your token's user, or your "
        "login's). Default: $OPSCONDUCTOR_USER, else who you are proven to be.",
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print the message after `error:` (never read as markup) and exit with `code`."""
    errors.print(Text.assemble(("error:", "red"), " ", message), highlight=False)
    raise typer.Exit(code)


def run(work: Callable[[OpsConductor], Awaitable[T]]) -> T:
    """Open the conductor, do the work, close it; errors become a message and exit code 2."""
    import asyncio  # here, not at the top: `--help` needs no event loop

    from sqlalchemy.exc import InterfaceError, OperationalError

    settings = _settings()

    async def main() -> T:
        conductor = await _open(settings)
        try:
            return await work(conductor)
        finally:
            await conductor.close()

    try:
        return asyncio.run(main())
    except OpsConductorError as exc:
        fail(str(exc))
    except (OperationalError, InterfaceError) as exc:
        # The database went away during the command (or refused its work).
        fail(f"cannot reach {describe_database(settings)}: {_first_line(exc)}")


async def _open(settings: Settings) -> OpsConductor:
    from sqlalchemy.exc import DBAPIError

    from opsconductor.app import OpsConductor
    from opsconductor.brain.index_file import IndexFile

    try:
        conductor = await OpsConductor.open(settings)
    except (DBAPIError, OSError) as exc:
        # Before the store raises DatabaseUnavailable itself for every way a connection can
        # fail, and for those it does not know: a refused port, an unknown host or database, a
        # SQLite folder that cannot be made or written.
        message = f"cannot open {describe_database(settings)}: {_first_line(exc)}"
    else:
        # Each command is a fresh process: the index of an inventory it has seen before is
        # read from the home, not built again from every asset in the store.
        conductor.pipeline.index_file = IndexFile.in_home(settings.home)
        return conductor
    await _let_sqlite_threads_stop()
    raise DatabaseUnavailable(message)


async def _let_sqlite_threads_stop(limit_s: float = 2.0) -> None:
    import asyncio

    # aiosqlite stops the thread of a connection that failed to open by queueing a stop it does
    # not wait for; were the event loop closed first, that thread would die printing a
    # traceback under our one line. So let it finish, briefly, while the loop still runs.
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, limit_s)


def describe_database(settings: Settings) -> str:
    """Where the store is, in words: the SQLite file, or host, port and database; never a
    user name's password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(settings.effective_database_url)
    except ArgumentError:
        return "the database (its URL is not valid)"
    backend = url.get_backend_name()
    if backend == "sqlite":
        return f"the SQLite file {url.database or ':memory:'}"
    kind = "PostgreSQL" if backend == "postgresql" else backend
    port = f":{url.port}" if url.port else ""
    return f"the {kind} database {url.database or ''!r} at {url.host or 'localhost'}{port}"


def _first_line(exc: BaseException) -> str:
    from sqlalchemy.exc import DBAPIError

    # A DBAPIError's own text adds the SQL and a link; the driver's message is the news.
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, OSError) and cause.strerror:
        text = cause.strerror
    else:
        text = str(cause) or type(cause).__name__
    return text.strip().splitlines()[0] if text.strip() else type(cause).__name__


def _settings() -> Settings:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from opsconductor.config import load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"a setting cannot be read: {exc}")
    except ValidationError as exc:
        error = exc.errors()[0]
        field = "_".join(str(part) for part in error["loc"]).upper()
        fail(f"setting OPSCONDUCTOR_{field}: {error['msg']}")


def emit(document: Any, fmt: str, render: Callable[[], None]) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(document, default=str, indent=2) + "\n")
    else:
        render()


def guard(work: Callable[[], T]) -> T:
    try:
        return work()
    except OpsConductorError as exc:
        fail(str(exc))
