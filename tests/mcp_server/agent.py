"""An MCP agent for the tests: the `mcp` SDK's own client, talking to `opsconductor mcp` run
as a real subprocess (over stdio, or over streamable HTTP on a loopback port)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from mcp import Client, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent
from tests.trust.processes import BIN, free_port

OPSCONDUCTOR = str(BIN / "opsconductor")


def agent_env(env: dict[str, str], token: str | None) -> dict[str, str]:
    """The store's process environment, acting with `token` (none: as the OS login)."""
    chosen = {k: v for k, v in env.items() if k not in ("OPSCONDUCTOR_TOKEN", "OPSCONDUCTOR_USER")}
    if token is not None:
        chosen["OPSCONDUCTOR_TOKEN"] = token
    return chosen


@asynccontextmanager
async def stdio_agent(
    env: dict[str, str], token: str | None, errlog: Path, *args: str
) -> AsyncIterator[Client]:
    """A client connected to `opsconductor mcp` over its stdin and stdout; the server's
    standard error goes to `errlog`."""
    params = StdioServerParameters(
        command=OPSCONDUCTOR, args=["mcp", *args], env=agent_env(env, token)
    )
    with errlog.open("a", encoding="utf-8") as err:
        async with Client(stdio_client(params, errlog=err), read_timeout_seconds=60) as client:
            yield client


@asynccontextmanager
async def http_agent(env: dict[str, str], token: str, log: Path) -> AsyncIterator[Client]:
    """A client of `opsconductor mcp --http` on a free loopback port."""
    port = free_port()
    argv = [OPSCONDUCTOR, "mcp", "--http", "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, env=agent_env(env, token), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_listening(process, port, log)
        async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=60) as client:
            yield client
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"opsconductor mcp --http exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            return  # any answer means it listens (a GET without a session is refused)
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"opsconductor mcp --http did not listen: {log.read_text()[-2000:]}")


def text_of(result: CallToolResult) -> str:
    """The result's first text block: the summary, or the error message."""
    block = result.content[0]
    assert isinstance(block, TextContent), result
    return block.text


def document_of(result: CallToolResult) -> dict[str, Any]:
    """The structured result, which the JSON text block repeats."""
    assert not result.is_error, text_of(result)
    document = result.structured_content
    assert isinstance(document, dict), result
    json_block = result.content[1]
    assert isinstance(json_block, TextContent) and json.loads(json_block.text) == document
    return document


def run_cli(env: dict[str, str], token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`opsconductor ARGS…` acting with `token`."""
    return subprocess.run(
        [OPSCONDUCTOR, *args],
        env=agent_env(env, token),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
