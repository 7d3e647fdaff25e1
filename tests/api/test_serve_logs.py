"""A real `opsconductor serve` process: no line it writes holds a token or a stream ticket,
whether a client sent them as intended or put them in a URL anyway."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from tests.conftest import FLEET, seed
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from opsconductor.app import OpsConductor
from opsconductor.config import load_settings
from opsconductor.identity import repository as identity
from opsconductor.identity.models import Role
from opsconductor.identity.tokens import parse_token


async def prepare(home: Path) -> str:
    """A store with the fleet and user vera (so that serve makes and prints no first token);
    vera's token."""
    conductor = await OpsConductor.open(load_settings(home=home))
    try:
        await seed(conductor, FLEET)
        async with conductor.db.session() as session:
            await identity.create_user(session, "vera", Role.OPERATOR, actor="test")
            _, token = await identity.create_token(session, "vera", actor="test")
    finally:
        await conductor.close()
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    async with asyncio.timeout(60), httpx.AsyncClient() as client:
        while True:
            assert server.poll() is None, "serve exited"
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def use_the_api(base: str, token: str) -> list[str]:
    """Stream one execution with tickets and with a token in URLs; the tickets made."""
    header = {"Authorization": f"Bearer {token}"}
    api = f"{base}/api/v1"
    async with httpx.AsyncClient(timeout=30) as client:
        asked = await client.post(
            f"{api}/requests", json={"text": "how many assets do we have"}, headers=header
        )
        execution = asked.json()["execution"]["id"]
        tickets = []
        for _ in range(2):
            made = await client.post(f"{api}/stream-tickets", headers=header)
            tickets.append(made.json()["ticket"])
        events = f"{api}/executions/{execution}/events"
        assert (await client.get(f"{events}?ticket={tickets[0]}")).status_code == 200
        assert (await client.get(f"{events}?ticket={tickets[0]}")).status_code == 401
        assert (await client.get(f"{events}?token={token}")).status_code == 401
        assert (await client.get(f"{api}/executions?access_token={token}")).status_code == 401
    ws = api.replace("http://", "ws://") + f"/executions/{execution}/ws"
    for url, code in ((f"{ws}?ticket={tickets[1]}", 1000), (f"{ws}?token={token}", 1008)):
        async with connect(url) as socket_:
            with contextlib.suppress(ConnectionClosed):
                async for _ in socket_:
                    pass
        assert socket_.close_code == code
    return tickets


async def test_no_log_line_of_serve_holds_a_token_or_a_ticket(tmp_path: Path) -> None:
    home = tmp_path / "home"
    token = await prepare(home)
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "OPSCONDUCTOR_HOME": str(home)}
    env.pop("OPSCONDUCTOR_DATABASE_URL", None)
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "opsconductor", "serve", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            await until_up(base, server)
            tickets = await use_the_api(base, token)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    text = log.read_text()
    parsed = parse_token(token)  # the secret part may itself hold "_": split as the server does
    assert parsed is not None
    secret = parsed[1]
    assert "GET /api/v1/executions/" in text and "WebSocket /api/v1/executions/" in text
    for hidden in (token, secret, *tickets, *(t.removeprefix("ost_") for t in tickets)):
        assert hidden not in text
    assert "ticket=***" in text and "?token=***" in text and "access_token=***" in text
