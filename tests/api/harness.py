"""An API under test: the real application with its lifespan, a client that speaks to it in
process, and four users (one per role) with tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from opsconductor.api import create_app
from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.execution.states import TERMINAL_STATES
from opsconductor.identity import repository as identity
from opsconductor.identity.models import Role
from opsconductor.store.tables import AuditEventRow

USERS: dict[Role, str] = {
    Role.OPERATOR: "alice",
    Role.APPROVER: "bob",
    Role.VIEWER: "victor",
    Role.ADMIN: "root",
}


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    conductor: OpsConductor
    tokens: dict[str, str]  # user name -> plaintext token

    def token(self, role: Role | str) -> str:
        return self.tokens[USERS[Role(role)]]

    def headers(self, role: Role | str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role)}"}

    async def ask(self, role: Role | str, text: str, **options: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/requests", json={"text": text, **options}, headers=self.headers(role)
        )
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    async def wait_for_end(self, execution_id: str, timeout_s: float = 60) -> dict[str, Any]:
        """Poll GET /executions/{id} until the execution reaches a terminal state."""
        return await self.wait_for_state(execution_id, *TERMINAL_STATES, timeout_s=timeout_s)

    async def wait_for_state(
        self, execution_id: str, *states: str, timeout_s: float = 60
    ) -> dict[str, Any]:
        """Poll GET /executions/{id} until the execution is in one of `states`."""
        async with asyncio.timeout(timeout_s):
            while True:
                response = await self.client.get(
                    f"/executions/{execution_id}", headers=self.headers(Role.VIEWER)
                )
                assert response.status_code == 200, response.text
                result: dict[str, Any] = response.json()
                if result["status"] in states:
                    return result
                await asyncio.sleep(0.1)

    async def audit(self, **where: str) -> list[AuditEventRow]:
        """Audit rows whose columns equal `where`, oldest first."""
        query = select(AuditEventRow).order_by(AuditEventRow.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEventRow, column) == value)
        async with self.conductor.db.session() as session:
            return list(await session.scalars(query))


@asynccontextmanager
async def serve_api(settings: Settings) -> AsyncIterator[Api]:
    """Run the application's lifespan (OpsConductor, and the worker if the settings ask for it)
    around an in-process client; users alice, bob, victor and root exist with tokens."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        conductor: OpsConductor = app.state.conductor
        tokens: dict[str, str] = {}
        async with conductor.db.session() as session:
            for role, name in USERS.items():
                await identity.create_user(session, name, role, actor="test")
                _, tokens[name] = await identity.create_token(session, name, actor="test")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver/api/v1"
        ) as client:
            yield Api(app, client, conductor, tokens)
