"""`opsconductor users` and `opsconductor tokens` as a person runs them: a token is printed once,
when it is made, and no listing, error or stored row shows it again."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from opsconductor.config import load_settings
from opsconductor.identity.models import Principal
from opsconductor.identity.repository import authenticate
from opsconductor.store.database import Database


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # As the login (no users are set up): a typed name would prove nothing.
    env = {**os.environ, "OPSCONDUCTOR_HOME": str(home)}
    for name in ("OPSCONDUCTOR_USER", "OPSCONDUCTOR_TOKEN", "OPSCONDUCTOR_TOKEN_FILE"):
        env.pop(name, None)
    env.pop("OPSCONDUCTOR_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "opsconductor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr
    return done


def check(home: Path, token: str) -> Principal | None:
    async def main() -> Principal | None:
        db = await Database.connect(load_settings(home=home))
        try:
            async with db.session() as session:
                return await authenticate(session, token)
        finally:
            await db.close()

    return asyncio.run(main())


def stored(home: Path) -> str:
    async def main() -> str:
        db = await Database.connect(load_settings(home=home))
        try:
            async with db.session() as session:
                tokens = (await session.execute(text("SELECT * FROM api_tokens"))).all()
                audit = (await session.execute(text("SELECT * FROM audit_events"))).all()
            return repr([tuple(row) for row in [*tokens, *audit]])
        finally:
            await db.close()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("identity") / "home"
    added = cli(home, "users", "add", "olivia", "--role", "operator")
    assert added.returncode == 0, added.stderr
    assert added.stdout == "Added user olivia (operator).\n"
    return home


def test_create_prints_the_token_once_and_nothing_else_shows_it(home: Path) -> None:
    created = cli(home, "tokens", "create", "olivia", "--label", "laptop", "--expires-days", "7")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    tokens = [line for line in lines if line.startswith("oct_")]
    assert len(tokens) == 1 and created.stdout.count(tokens[0]) == 1
    assert "will not be shown again" in created.stdout
    token = tokens[0]
    principal = check(home, token)
    assert principal is not None and principal.name == "olivia"
    secret = token.split("_", 2)[2]

    listed = cli(home, "tokens", "list", "--format", "json")
    text_listing = cli(home, "tokens", "list")
    users = cli(home, "users", "list", "--format", "json")

    assert listed.returncode == text_listing.returncode == users.returncode == 0
    (entry,) = [t for t in json.loads(listed.stdout) if t["label"] == "laptop"]
    assert set(entry) == {
        "id",
        "user",
        "label",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    }
    assert entry["id"] == principal.token_id and entry["expires_at"] is not None
    assert "active" in text_listing.stdout and entry["id"] in text_listing.stdout
    for output in (listed, text_listing, users):
        assert secret not in output.stdout + output.stderr and "oct_" not in output.stdout
    assert secret not in stored(home)
    assert {"name": "olivia", "role": "operator", "disabled": False}.items() <= json.loads(
        users.stdout
    )[0].items()


def test_json_create_gives_the_token_and_warns_on_stderr(home: Path) -> None:
    created = cli(home, "tokens", "create", "olivia", "--format", "json")
    assert created.returncode == 0, created.stderr
    document = json.loads(created.stdout)
    assert document["token"].startswith(f"oct_{document['id']}_")
    assert document["user"] == "olivia" and document["expires_at"] is None
    assert "will not be shown again" in created.stderr
    assert check(home, document["token"]) is not None


def test_a_revoked_token_stops_working(home: Path) -> None:
    document = json.loads(cli(home, "tokens", "create", "olivia", "-f", "json").stdout)

    revoked = cli(home, "tokens", "revoke", document["id"])

    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith(f"Token {document['id']} of olivia is revoked")
    assert check(home, document["token"]) is None
    listed = json.loads(cli(home, "tokens", "list", "--user", "olivia", "-f", "json").stdout)
    (entry,) = [t for t in listed if t["id"] == document["id"]]
    assert entry["revoked_at"] is not None
    audit = json.loads(
        cli(home, "audit", "list", "--entity", document["id"], "--format", "json").stdout
    )
    assert [e["action"] for e in audit] == ["created", "revoked"]
    assert document["token"] not in json.dumps(audit)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "olivia", "--role", "viewer"], "exists already"),
        (["users", "add", "bad name", "--role", "viewer"], "user name"),
        (["tokens", "create", "nobody"], "no user named 'nobody'"),
        (["tokens", "create", "olivia", "--label", ""], "label"),
        (["tokens", "revoke", "AAAAAAAAAAAA"], "no token with id"),
        (["tokens", "list", "--user", "nobody"], "no user named 'nobody'"),
    ],
)
def test_mistakes_are_one_clear_line_and_exit_2(home: Path, args: list[str], message: str) -> None:
    done = cli(home, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert done.stdout == ""
