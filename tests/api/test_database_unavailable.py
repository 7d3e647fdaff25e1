"""When the database goes away under a running API, requests are answered 503 with a clear
detail and the log has one line per request, no traceback. PostgreSQL is reached through a
TCP relay on the loopback that the test cuts, as a network partition or a stopped server
would; SQLite has no connection to lose."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tests.api.harness import serve_api

from opsconductor.api.errors import DATABASE_UNAVAILABLE, status_for
from opsconductor.config import load_settings
from opsconductor.errors import DatabaseUnavailable
from opsconductor.identity.models import Role


class Relay:
    """Forwards loopback connections to one host and port until `cut`."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()


@pytest.fixture
async def relay_url(pg_database_url: str) -> AsyncIterator[tuple[Relay, str]]:
    url = make_url(pg_database_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    port = await relay.start()
    try:
        yield relay, url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(AssertionError):
            await relay.cut()


async def test_requests_answer_503_when_postgresql_goes_away(
    relay_url: tuple[Relay, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    relay, url = relay_url
    settings = load_settings(home=tmp_path / "home", database_url=url)
    async with serve_api(settings.model_copy(update={"embedded_worker": False})) as api:
        viewer = api.headers(Role.VIEWER)
        assert (await api.client.get("/assets", headers=viewer)).status_code == 200
        await relay.cut()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            answers = [
                await api.client.get("/assets", headers=viewer),
                await api.client.get("/executions", headers=viewer),
                await api.client.post(
                    "/requests", json={"text": "how many assets"}, headers=api.headers("operator")
                ),
                await api.client.get("/assets"),  # no token: the refusal cannot be audited
            ]
        for response in answers:
            assert response.status_code == 503, response.text
            assert response.json() == {"detail": DATABASE_UNAVAILABLE}
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        unavailable = [r for r in caplog.records if "database unavailable" in r.getMessage()]
        assert len(unavailable) == len(answers)
        assert all("password" not in r.getMessage() for r in caplog.records)


def test_database_unavailable_is_503() -> None:
    assert status_for(DatabaseUnavailable("postgresql at db:5432 does not answer")) == 503
