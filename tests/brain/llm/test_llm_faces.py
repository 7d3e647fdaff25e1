"""The LLM brain behind the real faces, on SQLite and PostgreSQL: `opsconductor serve` and
`opsconductor ask` as processes with OPSCONDUCTOR_BRAIN=llm, pointed at the scripted FAKE model
server (tests/brain/llm/fake_model.py). What the model proposes is gated like any plan, its
proposal is in the audit trail of the store, and neither its key nor a traceback ever shows."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.brain.llm.fake_model import (
    FakeModelServer,
    fake_model_server,
    proposal,
    status,
    tool_call,
)
from tests.conftest import FLEET, seed, users_with_tokens
from tests.trust.processes import BIN, process_env, running, serve

from opsconductor.app import OpsConductor
from opsconductor.config import load_settings
from opsconductor.identity.models import Role
from opsconductor.store.tables import AuditEventRow

API_KEY = "sk-fake-faces-5550123-never-shown"


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    with fake_model_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_database_url")
    return url


class Store:
    def __init__(self, home: Path, database_url: str | None, fake: FakeModelServer) -> None:
        self.home, self.database_url = home, database_url
        self.env = process_env(
            home,
            database_url,
            OPSCONDUCTOR_BRAIN="llm",
            OPSCONDUCTOR_LLM_BASE_URL=fake.url,
            OPSCONDUCTOR_LLM_MODEL="fake-model",
            OPSCONDUCTOR_LLM_API_KEY=API_KEY,
            OPSCONDUCTOR_LLM_TIMEOUT_S="5",
        )
        self.tokens: dict[str, str] = {}

    async def conductor(self) -> OpsConductor:
        overrides = {"database_url": self.database_url} if self.database_url else {}
        return await OpsConductor.open(load_settings(home=self.home, **overrides))


@pytest.fixture
async def store(tmp_path: Path, database_url: str | None, fake: FakeModelServer) -> Store:
    made = Store(tmp_path / "home", database_url, fake)
    conductor = await made.conductor()
    try:
        made.tokens = await users_with_tokens(
            conductor, {"alice": Role.OPERATOR, "bob": Role.APPROVER}
        )
        await seed(conductor, FLEET)
    finally:
        await conductor.close()
    return made


async def test_the_api_gates_what_the_model_proposes(
    store: Store, fake: FakeModelServer, tmp_path: Path
) -> None:
    linux = [str(a["name"]) for a in FLEET if a["os_type"] == "linux"]
    fake.script(
        tool_call(proposal("linux.reboot", linux, risk="low")),
        status(500),
    )
    api = serve(store.env, tmp_path / "serve.log")
    with running(api):
        alice = {"Authorization": f"Bearer {store.tokens['alice']}"}
        asked = httpx.post(
            f"{api.url}/requests",
            headers=alice,
            json={"text": "the runbook says: reboot every linux box now", "confirm": True},
            timeout=60,
        )
        # The model is down: with the fallback to the rules, still a reading, never a 5xx.
        read = httpx.post(
            f"{api.url}/requests",
            headers=alice,
            json={"text": "how many assets do we have?", "dry_run": True},
            timeout=60,
        )
    assert asked.status_code == 200, asked.text
    document = asked.json()
    assert document["approval"]["level"] >= 2 and document["approval"]["status"] == "pending"
    assert document["execution"]["status"] == "pending_approval"
    assert read.status_code == 200 and "assets" in read.json()["response"]["message"], read.text
    conductor = await store.conductor()
    try:
        async with conductor.db.reader() as session:
            created = await session.scalar(
                select(AuditEventRow).where(
                    AuditEventRow.action == "created",
                    AuditEventRow.entity_id == document["execution"]["id"],
                )
            )
    finally:
        await conductor.close()
    assert created is not None
    assert created.details["model_proposal"]["model"] == "fake-model"
    assert "linux.reboot" in created.details["model_proposal"]["proposal"]
    log = (tmp_path / "serve.log").read_text()
    assert API_KEY not in log and API_KEY not in asked.text and "Traceback" not in log
    assert all(API_KEY not in r.raw for r in fake.received)


def ask(store: Store, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "opsconductor"), "ask", *args],
        env={**store.env, "OPSCONDUCTOR_TOKEN": store.tokens["alice"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


async def test_the_cli_plans_by_the_model_and_fails_closed_clearly(
    store: Store, fake: FakeModelServer
) -> None:
    fake.script(
        tool_call(proposal("linux.service_restart", ["web-prod-01"], {"service": "nginx"})),
        status(500),
    )
    planned = ask(store, "could you give nginx a kick on the first web box", "--dry-run",
                  "--format", "json")  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    [step] = json.loads(planned.stdout)["plan"]["steps"]
    assert (step["tool"], step["targets"], step["inputs"]) == (
        "linux.service_restart",
        ["web-prod-01"],
        {"service": "nginx"},
    )
    refused = ask(store, "restart nginx on web-prod-01", "--dry-run",
                  OPSCONDUCTOR_LLM_FALLBACK="fail")  # fmt: skip
    assert refused.returncode == 2, refused
    assert "OPSCONDUCTOR_LLM_FALLBACK is 'fail'" in refused.stderr
    assert "HTTP 500" in refused.stderr and "Traceback" not in refused.stderr
    for done in (planned, refused):
        assert API_KEY not in done.stdout + done.stderr
