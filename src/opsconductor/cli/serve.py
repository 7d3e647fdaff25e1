"""`opsconductor serve`: the HTTP API (and, by default, the embedded worker) in one process."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from opsconductor.cli.common import console, run

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor


async def _first_admin(conductor: OpsConductor) -> str | None:
    from opsconductor.identity import repository as identity

    async with conductor.db.session() as session:
        return await identity.ensure_admin(session)


def show_first_token(token: str) -> None:
    """Print the first admin's token, the one time it exists in plain text."""
    console.print(
        "[bold yellow]No users existed, so user 'admin' (role admin) was created.[/bold yellow]\n"
        "Its API token is shown ONCE — save it now; it cannot be shown again:\n"
    )
    console.print(f"    {token}\n", markup=False, highlight=False)
    console.print(
        "Send it as `Authorization: Bearer <token>`; make users and tokens of their own with "
        "`opsconductor users` and `opsconductor tokens`."
    )


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="An API replica only: queued background work is left to `opsconductor "
            "worker` processes (sets OPSCONDUCTOR_EMBEDDED_WORKER=false).",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and, unless --no-worker, run queued background
    work."""
    import uvicorn

    from opsconductor.api import create_app
    from opsconductor.api.redaction import install_log_redaction
    from opsconductor.config import load_settings

    if no_worker:
        os.environ["OPSCONDUCTOR_EMBEDDED_WORKER"] = "false"  # read by every load_settings below
    token = run(_first_admin)  # opening the store also migrates it
    if token:
        show_first_token(token)
    settings = load_settings()
    # On SIGTERM, requests still running a step get the grace period; then they are cancelled
    # and their runs handed over through their leases (see Runner).
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
    )
    # After the Config, which configures logging: paths with `?token=…` are logged redacted.
    install_log_redaction()
    uvicorn.Server(config).run()
