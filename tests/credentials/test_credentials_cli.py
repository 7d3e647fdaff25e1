"""`opsconductor credentials` as a person runs it: secrets go in by stdin and never come out,
not in any output, not in the database outside the sealed column."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "cli-Pa55word-never-shown"
LOGIN = pwd.getpwuid(os.geteuid()).pw_name  # who the CLI acts as here: no users are set up
INVENTORY = """
assets:
  - name: db-01
    os_type: linux
    device_type: server
    connection: {protocol: ssh, credential: db-login}
"""


def cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # As the login (no users are set up): a typed name would prove nothing.
    env = {**os.environ, "OPSCONDUCTOR_HOME": str(home)}
    for name in ("OPSCONDUCTOR_USER", "OPSCONDUCTOR_TOKEN", "OPSCONDUCTOR_TOKEN_FILE"):
        env.pop(name, None)
    for name in ("OPSCONDUCTOR_DATABASE_URL", "OPSCONDUCTOR_SECRET_KEY"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "opsconductor", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )
    assert PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("credentials") / "home"
    added = cli(
        home,
        "credentials",
        "add",
        "db-login",
        "--username",
        "dbadmin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("Added credential db-login")
    inventory = home.parent / "fleet.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    assert cli(home, "assets", "import", str(inventory)).returncode == 0
    return home


def test_key_file_is_private(home: Path) -> None:
    assert stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600


def test_list_json_shows_everything_but_the_secret(home: Path) -> None:
    done = cli(home, "credentials", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    (listed,) = json.loads(done.stdout)
    assert set(listed) == {
        "name",
        "kind",
        "username",
        "has_passphrase",
        "description",
        "created_at",
        "updated_at",
        "assets",
    }
    assert (listed["name"], listed["kind"], listed["username"]) == (
        "db-login",
        "password",
        "dbadmin",
    )
    assert listed["assets"] == ["db-01"] and listed["has_passphrase"] is False
    assert cli(home, "credentials", "list").returncode == 0


def test_re_adding_says_it_replaced(home: Path) -> None:
    done = cli(
        home,
        "credentials",
        "add",
        "db-login",
        "-u",
        "dbadmin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Replaced the existing credential db-login")


def test_removal_in_use_is_refused_naming_the_asset(home: Path) -> None:
    done = cli(home, "credentials", "remove", "db-login")
    assert done.returncode == 2
    assert "used by 1 asset(s): db-01" in " ".join(done.stderr.split())


def test_bad_invocations_are_messages(home: Path) -> None:
    neither = cli(home, "credentials", "add", "x", "-u", "u")
    assert neither.returncode == 2 and "exactly one of --password-stdin" in neither.stderr
    empty = cli(home, "credentials", "add", "x", "-u", "u", "--password-stdin", stdin="")
    assert empty.returncode == 2 and "held no secret" in empty.stderr
    missing = cli(home, "credentials", "remove", "nope")
    assert missing.returncode == 2 and "no credential named 'nope'" in missing.stderr


def test_added_and_removed_are_audited_without_the_secret(home: Path) -> None:
    added = cli(home, "credentials", "add", "spare", "-u", "u", "--password-stdin", stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert cli(home, "credentials", "remove", "spare").returncode == 0
    audit = json.loads(cli(home, "audit", "list", "--format", "json").stdout)
    actions = [
        (a["entity"], a["action"], a["actor"])
        for a in audit
        if a["entity"].startswith("credential:")
    ]
    assert ("credential:spare", "added", LOGIN) in actions
    assert ("credential:spare", "removed", LOGIN) in actions
    # Nothing on disk outside the sealed column holds the password: not the audit details, not
    # a log, not the write-ahead log.
    for path in home.iterdir():
        assert PASSWORD.encode() not in path.read_bytes(), path.name
