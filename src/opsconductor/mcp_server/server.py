"""The `mcp` SDK's server around `AgentTools`: four tools over stdio or streamable HTTP.

Only `opsconductor mcp` imports this module (the SDK is a few hundred milliseconds of imports
that no other command needs). Standard output is the protocol channel over stdio: nothing else
may print there, so whatever this module says goes to standard error."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from sqlalchemy.exc import InterfaceError, OperationalError

from opsconductor.errors import OpsConductorError
from opsconductor.mcp_server.tools import AgentTools, Reply

INSTRUCTIONS = (
    "OpsConductor answers questions about an IT inventory and plans operations on it. `ask` "
    "takes a request in plain words. A plan that changes something waits for a person's "
    "approval; this server cannot approve, so report the approval id to the user and follow "
    "the execution with `execution_status`."
)
READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# `ask` may run a level-0 (read-only) plan at once and record a plan awaiting approval; it
# never changes anything unapproved, but it does write to the store.
ASKS = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)


def build_server(tools: AgentTools) -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer(
        "opsconductor", instructions=INSTRUCTIONS, log_level="WARNING"
    )

    async def ask(
        text: Annotated[str, Field(description="The request, in plain words.")],
        dry_run: Annotated[
            bool, Field(description="Plan and preview only; record and run nothing.")
        ] = False,
        session: Annotated[
            str | None,
            Field(
                description="Read the request in the context of your earlier requests of this "
                "session ('restart it', 'and on web-02?'); any name of your choosing."
            ),
        ] = None,
    ) -> CallToolResult:
        """Ask a question or request an action. Questions are answered at once; a plan that
        changes something is recorded and waits for a person's approval (the answer gives the
        approval ids and the execution id to follow)."""
        return await _call(lambda: tools.ask(text, dry_run, session))

    async def execution_status(
        execution_id: Annotated[str, Field(description="An execution id from ask.")],
    ) -> CallToolResult:
        """An execution's status and result: its steps per target and their output."""
        return await _call(lambda: tools.execution_status(execution_id))

    async def list_executions(
        state: Annotated[
            str | None, Field(description="Only this state, e.g. pending_approval.")
        ] = None,
        limit: Annotated[int, Field(description="At most this many (1-200).")] = 20,
    ) -> CallToolResult:
        """The newest executions, newest first."""
        return await _call(lambda: tools.list_executions(state, limit))

    async def list_approvals(
        status: Annotated[
            str | None, Field(description="Only this status; pending unless given.")
        ] = "pending",
        limit: Annotated[int, Field(description="At most this many (1-200).")] = 20,
    ) -> CallToolResult:
        """Approvals waiting for a person's decision (or of another status). Deciding them is
        for a person, through the CLI, the API or the web page."""
        return await _call(lambda: tools.list_approvals(status, limit))

    server.add_tool(ask, annotations=ASKS)
    for read in (execution_status, list_executions, list_approvals):
        server.add_tool(read, annotations=READS)
    return server


async def _call(work: Callable[[], Awaitable[Reply]]) -> CallToolResult:
    """The reply as a summary and its JSON; an expected refusal as a tool error with its
    message (the SDK then logs one line, no traceback)."""
    try:
        reply = await work()
    except OpsConductorError as exc:
        raise ToolError(str(exc)) from None
    except (OperationalError, InterfaceError):
        raise ToolError("the database cannot be reached; nothing was done") from None
    document = json.dumps(reply.document, default=str, ensure_ascii=False)
    return CallToolResult(
        content=[
            TextContent(type="text", text=reply.summary),
            TextContent(type="text", text=document),
        ],
        structured_content=reply.document,
    )


async def serve_stdio(tools: AgentTools) -> None:
    await build_server(tools).run_stdio_async()


async def serve_http(tools: AgentTools, host: str, port: int) -> None:
    await build_server(tools).run_streamable_http_async(host=host, port=port)
