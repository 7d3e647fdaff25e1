"""The CLI as a person runs it: a real process, a real SQLite file, no traceback ever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FLEET_YAML = """
assets:
  - {name: ops-console, hostname: localhost, ip_address: 127.0.0.1, os_type: linux, device_type: server, environment: lab, connection: {protocol: local}}
  - {name: ws-01, os_type: windows, device_type: workstation, connection: {protocol: winrm}}
  - {name: ws-02, os_type: windows, device_type: workstation, connection: {protocol: winrm}}
"""


def cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # As the login (no users are set up): a typed name would prove nothing.
    env = {**os.environ, "OPSCONDUCTOR_HOME": str(home)}
    for name in ("OPSCONDUCTOR_USER", "OPSCONDUCTOR_TOKEN", "OPSCONDUCTOR_TOKEN_FILE"):
        env.pop(name, None)
    env.pop("OPSCONDUCTOR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "opsconductor", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    inventory = home.parent / "fleet.yaml"
    inventory.write_text(FLEET_YAML, encoding="utf-8")
    done = cli(home, "assets", "import", str(inventory))
    assert done.returncode == 0, done.stderr
    assert "3 created" in done.stdout
    return home


def test_ask_json_prints_exactly_one_document(home: Path) -> None:
    done = cli(home, "ask", "How many assets do we have?", "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert set(document) == {
        "version",
        "request",
        "decision",
        "plan",
        "approval",
        "mode",
        "execution",
        "response",
        "conversation_id",
    }
    assert document["response"] == {
        "type": "information",
        "message": "You have 3 assets in the system: 2 Windows workstations and 1 Linux server.",
    }
    assert document["execution"]["status"] == "succeeded"
    assert document["plan"]["steps"][0]["tool"] == "inventory.count_assets"


def test_confirmed_disk_check_runs_and_is_audited(home: Path) -> None:
    done = cli(home, "ask", "check disk space on ops-console", "--yes", "--format", "json")
    document = json.loads(done.stdout)
    assert document["approval"] == {
        "level": 1,
        "required": True,
        "status": "approved",
        "ids": document["approval"]["ids"],
    }
    assert document["response"]["message"].startswith("ops-console: / is ")
    execution_id = document["execution"]["id"]
    audit = json.loads(
        cli(home, "audit", "list", "--entity", execution_id, "--format", "json").stdout
    )
    assert [row["change"] for row in audit][-1] == "running→succeeded"
    assert cli(home, "audit", "verify").returncode == 0


def test_pending_approval_is_listed_then_approved(home: Path) -> None:
    asked = json.loads(
        cli(home, "ask", "restart service cron on ops-console", "--format", "json").stdout
    )
    assert (
        asked["response"]["type"] == "approval_request"
        and asked["execution"]["status"] == "pending_approval"
    )
    pending = json.loads(cli(home, "approvals", "list", "--format", "json").stdout)
    assert asked["approval"]["ids"][0] in [p["id"] for p in pending]
    denied = cli(home, "approvals", "deny", asked["approval"]["ids"][0], "--comment", "not now")
    assert denied.returncode == 0 and "rejected" in denied.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ask", ""], "The request is empty"),
        (["ask", "x" * 10_000], "10,000 characters"),
        (["ask", "reboot ops-console; rm -rf /"], "shell syntax"),
        (["executions", "show", "nope"], "no execution with id 'nope'"),
        (["assets", "show", "nope"], "no asset named 'nope'"),
        (["approvals", "approve", "nope"], "no approval with id 'nope'"),
        (["assets", "import", "/nonexistent.yaml"], "no such file"),
    ],
)
def test_bad_input_gets_a_message_not_a_traceback(
    home: Path, args: list[str], expected: str
) -> None:
    done = cli(home, *args)
    assert done.returncode != 0
    assert expected in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_cancel_before_approval_runs_nothing(home: Path) -> None:
    asked = json.loads(
        cli(home, "ask", "restart service cron on ops-console", "--format", "json").stdout
    )
    execution_id = asked["execution"]["id"]
    done = cli(home, "executions", "cancel", execution_id, "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "cancelled" and result["step_results"] == []
    again = cli(home, "executions", "cancel", execution_id)
    assert again.returncode == 2 and "has already ended: cancelled" in again.stderr
    approve = cli(home, "approvals", "approve", asked["approval"]["ids"][0])
    assert approve.returncode == 2 and "Traceback" not in approve.stderr
