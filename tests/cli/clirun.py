"""Running the CLI as a person does, in a real process, for the tests under tests/cli."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Who the CLI runs as in these tests: the account of the test process's user id.
LOGIN = pwd.getpwuid(os.geteuid()).pw_name

FLEET_YAML = """
assets:
  - {name: ops-console, hostname: localhost, ip_address: 127.0.0.1, os_type: linux,
     device_type: server, environment: lab, connection: {protocol: local}}
"""

# A level-2 change that is harmless to run here: `touch` of a file under the test's folder,
# so that "it ran" is a file that exists and "nothing ran" one that does not.
MARKER_TOOLSET = """
toolset: cli-tests
description: A stand-in change that needs a four-eyes review.
tools:
  - name: tests.write_marker
    summary: Write a marker file
    category: files
    action: delete_file
    platforms: [linux]
    connector: shell
    command: [touch, '{path}']
    parameters:
      path: {pattern: '^/[A-Za-z0-9._/-]{1,200}$'}
    risk: high
    read_only: false
    reversible: false
    estimate_s: 1
    timeout_s: 30
    examples:
      - delete file {path} on {host}
"""

_IDENTITY_VARIABLES = ("OPSCONDUCTOR_USER", "OPSCONDUCTOR_TOKEN", "OPSCONDUCTOR_TOKEN_FILE")


@dataclass
class Store:
    """One store (a SQLite home, or PostgreSQL) with the marker toolset and the fleet."""

    root: Path
    database_url: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "home"

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "OPSCONDUCTOR_HOME": str(self.home)}
        env["OPSCONDUCTOR_CATALOG_DIRS"] = str(self.root / "catalog")
        for name in (*_IDENTITY_VARIABLES, "OPSCONDUCTOR_DATABASE_URL"):
            env.pop(name, None)
        if self.database_url:
            env["OPSCONDUCTOR_DATABASE_URL"] = self.database_url
        return {**env, **extra}

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "opsconductor", *args],
            capture_output=True,
            text=True,
            env=self.env(**env),
            timeout=100,
            check=False,
        )
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        for token in self.tokens.values():
            assert token not in done.stdout + done.stderr
        return done

    def json(self, *args: str, **env: str) -> Any:
        done = self.cli(*args, "--format", "json", **env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def as_user(self, name: str) -> dict[str, str]:
        """The environment that proves `name`: their token."""
        return {"OPSCONDUCTOR_TOKEN": self.tokens[name]}

    def marker(self, name: str) -> Path:
        return self.root / "markers" / name

    def ask_marker(self, name: str, **env: str) -> str:
        """Ask for the level-2 marker change; the id of the approval it waits for."""
        asked = self.json("ask", f"delete file {self.marker(name)} on ops-console", **env)
        assert asked["approval"]["level"] == 2, asked["response"]
        assert asked["execution"]["status"] == "pending_approval"
        [approval_id] = asked["approval"]["ids"]
        return str(approval_id)

    def approval(self, approval_id: str) -> dict[str, Any]:
        rows = self.json("approvals", "list", "--status", "")
        [row] = [r for r in rows if r["id"] == approval_id]
        return dict(row)

    def add_user(self, name: str, role: str) -> None:
        added = self.cli("users", "add", name, "--role", role)
        assert added.returncode == 0, added.stderr
        made = self.json("tokens", "create", name)
        self.tokens[name] = made["token"]


def make_store(root: Path, database_url: str | None = None) -> Store:
    store = Store(root, database_url)
    (root / "catalog").mkdir(parents=True)
    (root / "catalog" / "marker.yaml").write_text(MARKER_TOOLSET, encoding="utf-8")
    (root / "markers").mkdir()
    (root / "fleet.yaml").write_text(FLEET_YAML, encoding="utf-8")
    imported = store.cli("assets", "import", str(root / "fleet.yaml"))
    assert imported.returncode == 0, imported.stderr
    return store
