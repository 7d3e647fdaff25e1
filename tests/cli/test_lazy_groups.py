"""The command groups the root imports only when named (cli/lazy.py): their listing says what
the group itself says, and a command that does not need the store does not import it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer

from opsconductor.cli.main import _Root, app


@pytest.mark.parametrize("name", sorted(_Root.lazy))
def test_each_lazy_group_loads_as_the_group_it_names(name: str) -> None:
    entry = _Root.lazy[name]
    group = entry.load(name)
    assert isinstance(group, typer.core.TyperGroup)
    assert group.name == name
    assert group.help == entry.help
    assert group.list_commands(typer.Context(group)), f"{name} has no commands"


def test_the_root_lists_every_group_once_after_its_own_commands() -> None:
    root = typer.main.get_command(app)
    names = root.list_commands(typer.Context(root))
    assert len(names) == len(set(names))
    assert names[-len(_Root.lazy) :] == list(_Root.lazy)
    assert {"ask", "serve", "mcp", "worker", "demo", "eval"} <= set(names)


# In a fresh interpreter: what a command imported by the time it finished.
PROBE = """
import json, sys
sys.argv = ["opsconductor", *json.loads(sys.argv[1])]
from opsconductor.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {top}
                        or m == "opsconductor.app" or m.startswith("opsconductor.cli."))))
"""
HEAVY = {
    "sqlalchemy",
    "asyncio",
    "httpx",
    "cryptography",
    "yaml",
    "fastapi",
    "asyncssh",
}


def imported_by(*argv: str) -> set[str]:
    probe = PROBE.replace("{top}", repr(sorted(HEAVY | {"pydantic"})))
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv", [("--help",), ("ask", "--help"), ("serve", "--help"), ("mcp", "--help")]
)
def test_help_imports_neither_the_store_nor_the_app(argv: tuple[str, ...]) -> None:
    loaded = imported_by(*argv)
    assert {m.split(".")[0] for m in loaded} & HEAVY == set()
    assert "opsconductor.app" not in loaded
    # and no group module it was not asked about
    assert not loaded & {"opsconductor.cli.assets", "opsconductor.cli.records"}


def test_the_root_help_imports_no_pydantic() -> None:
    # Any command typer parses imports pydantic (typer's own parameter coercion); the root's
    # listing does not, and neither should we.
    assert "pydantic" not in {m.split(".")[0] for m in imported_by("--help")}


def test_a_group_s_help_imports_that_group_only() -> None:
    loaded = imported_by("users", "--help")
    assert "opsconductor.cli.identity" in loaded
    assert not loaded & {"opsconductor.cli.assets", "opsconductor.cli.records"}
