"""`opsconductor audit verify|anchor` in a real process, on SQLite and PostgreSQL: exit codes,
messages, and the audit key never printed."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.cli.clirun import Store, make_store

from opsconductor.store.database import create_engine

ANCHOR = re.compile(r"oca1-\d+-\d+-[0-9a-f]{32}")
OTHER_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    url = request.getfixturevalue("pg_database_url") if request.param == "postgresql" else None
    made = make_store(tmp_path, url)
    done = made.cli("ask", "check disk space on ops-console", "--yes")
    assert done.returncode == 0, done.stderr
    return made


def url_of(store: Store) -> str:
    return store.database_url or f"sqlite+aiosqlite:///{store.home / 'opsconductor.db'}"


async def tamper(store: Store, sql: str) -> None:
    """Straight SQL, as a database administrator without the key would write."""
    engine = create_engine(url_of(store))
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


def key_free(store: Store, *done: subprocess.CompletedProcess[str], key: str) -> None:
    for one in done:
        assert key not in one.stdout + one.stderr


async def test_anchor_then_verify_and_truncation_after_it(store: Store) -> None:
    intact = store.cli("audit", "verify")
    anchored = store.cli("audit", "anchor")
    more = store.cli("ask", "check disk space on ops-console", "--yes")
    against = store.cli("audit", "verify", "--anchor", anchored.stdout.strip())

    assert intact.returncode == 0 and intact.stderr == ""
    assert re.fullmatch(r"Audit trail intact: \d+ events verified\.\n", intact.stdout)
    assert anchored.returncode == 0 and ANCHOR.fullmatch(anchored.stdout.strip())
    assert "keep this line where the database's administrators cannot write" in anchored.stderr
    assert more.returncode == 0
    assert against.returncode == 0 and "holds: none of its" in against.stdout
    key = store.home.joinpath("audit.key").read_text().strip()
    assert oct(store.home.joinpath("audit.key").stat().st_mode & 0o777) == "0o600"
    key_free(store, intact, anchored, more, against, key=key)

    # The newest anchored events go (and everything after): only the anchor can tell.
    last_id = int(anchored.stdout.split("-")[1])
    await tamper(store, f"DELETE FROM audit_events WHERE id > {last_id - 2}")
    unanchored = store.cli("audit", "verify")
    cut = store.cli("audit", "verify", "--anchor", anchored.stdout.strip())
    assert unanchored.returncode == 0  # admitted: a truncated end shows only against an anchor
    assert cut.returncode == 1 and cut.stdout == ""
    assert cut.stderr.startswith("Audit trail broken: truncated: the anchor covers ")
    key_free(store, unanchored, cut, key=key)


async def test_an_edit_a_wrong_key_and_a_bad_anchor(store: Store) -> None:
    malformed = store.cli("audit", "verify", "--anchor", "oca1-12-not-an-anchor")
    wrong_key = store.cli("audit", "verify", OPSCONDUCTOR_AUDIT_KEY=OTHER_KEY)
    await tamper(store, "UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
    edited = store.cli("audit", "verify")
    not_anchored = store.cli("audit", "anchor")

    assert malformed.returncode == 2 and malformed.stdout == ""
    assert malformed.stderr.startswith("error: not an audit anchor: expected oca1-")
    assert wrong_key.returncode == 1
    assert "chained under audit key " in wrong_key.stderr
    assert "set OPSCONDUCTOR_AUDIT_KEY or restore the audit.key file" in wrong_key.stderr
    assert edited.returncode == 1
    assert edited.stderr == (
        "Audit trail broken at event 2: content altered (its HMAC does not match)\n"
    )
    assert not_anchored.returncode == 1 and not_anchored.stdout == ""
    assert not_anchored.stderr.startswith("Not anchored: the audit trail is broken at event 2")
    key = store.home.joinpath("audit.key").read_text().strip()
    key_free(store, malformed, wrong_key, edited, not_anchored, key=key)
    key_free(store, wrong_key, key=OTHER_KEY)


def test_a_key_from_the_environment_is_used_and_never_shown(tmp_path: Path) -> None:
    store = Store(tmp_path)
    env = {"OPSCONDUCTOR_AUDIT_KEY": OTHER_KEY}
    (tmp_path / "catalog").mkdir()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "assets:\n  - {name: a-01, hostname: localhost, os_type: linux, "
        "device_type: server, environment: lab, connection: {protocol: local}}\n"
    )
    imported = store.cli("assets", "import", str(fleet), **env)
    anchored = store.cli("audit", "anchor", **env)
    checked = store.cli("audit", "verify", "--anchor", anchored.stdout.strip(), **env)
    assert imported.returncode == 0 and anchored.returncode == 0, anchored.stderr
    assert checked.returncode == 0, checked.stderr
    assert not (store.home / "audit.key").exists()
    key_free(store, imported, anchored, checked, key=OTHER_KEY)
