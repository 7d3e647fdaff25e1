"""`opsconductor mcp`: the Model Context Protocol face, for AI agents (opsconductor.mcp_server).

It acts as one user, proven as every CLI command proves its caller (the token in
OPSCONDUCTOR_TOKEN or OPSCONDUCTOR_TOKEN_FILE, else the OS login); `--as` may only name that
user. The SDK is imported here, inside the command, so that other commands never load it."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated

import typer

from opsconductor.cli.caller import claimed_name, prove
from opsconductor.cli.common import Actor, errors, fail, run

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor


def mcp(
    http: Annotated[
        bool,
        typer.Option("--http", help="Serve streamable HTTP at http://HOST:PORT/mcp, not stdio."),
    ] = False,
    host: Annotated[str, typer.Option(help="With --http: the address to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="With --http: the port.")] = 8765,
    actor: Actor = None,
) -> None:
    """Serve the Model Context Protocol (stdio by default) as one user: tools ask,
    execution_status, list_executions, list_approvals. No tool approves: a person does."""
    try:
        from opsconductor.mcp_server import server
        from opsconductor.mcp_server.tools import AgentTools
    except ImportError as exc:
        fail(f"the mcp SDK is not installed ({exc.name}): pip install 'opsconductor[mcp]'")
    claimed = claimed_name(actor)

    async def work(conductor: OpsConductor) -> None:
        caller = await prove(conductor, claimed)  # refuse a bad token or --as before serving
        tools = AgentTools(conductor, caller.name)
        where = f"http://{host}:{port}/mcp" if http else "stdio"
        # Standard error: over stdio, standard output carries the protocol.
        errors.print(f"opsconductor mcp on {where}, acting as {caller.describe()}")
        if http and not _loopback(host):
            errors.print(
                f"warning: {host} is not a loopback address; whoever reaches it acts as "
                f"{caller.name}"
            )
        if http:
            await server.serve_http(tools, host, port)
        else:
            await server.serve_stdio(tools)

    run(work)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
