"""An application served by uvicorn on a free loopback port, for tests over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from tests.api.harness import Api


@asynccontextmanager
async def serve_live(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` (its lifespan already running elsewhere); the base URL of /api/v1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def stream_ticket(api: Api, role: str, execution_id: str | None = None) -> dict[str, Any]:
    """A stream ticket made through the API for the user of `role`."""
    body = {"execution_id": execution_id} if execution_id else None
    response = await api.client.post("/stream-tickets", json=body, headers=api.headers(role))
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document
