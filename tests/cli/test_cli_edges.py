"""The CLI's edges in real processes: what a person typed or a file holds prints as written
(never read as Rich markup), settings in their documented form, and one line, not a
traceback, when the database cannot be reached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.clirun import make_store

PASSWORD = "pw-never-shown-9c1f"


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    variables = {**os.environ, "OPSCONDUCTOR_HOME": str(home)}
    for name in ("OPSCONDUCTOR_DATABASE_URL", "OPSCONDUCTOR_CATALOG_DIRS", "OPSCONDUCTOR_USER"):
        variables.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "opsconductor", *args],
        capture_output=True,
        text=True,
        env={**variables, **env},
        timeout=100,
        check=False,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["executions", "show", "[/x]"], "error: no execution with id '[/x]'\n"),
        (["assets", "show", "[bold]web[/bold]"], "error: no asset named '[bold]web[/bold]'\n"),
        (["approvals", "approve", "[red]x"], "error: no approval with id '[red]x'\n"),
    ],
)
def test_typed_brackets_print_as_typed(tmp_path: Path, args: list[str], expected: str) -> None:
    done = cli(tmp_path / "home", *args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", expected)


def test_an_ansible_error_keeps_its_group(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[web:vars]\nnovalue\n", encoding="utf-8")

    done = cli(tmp_path / "home", "assets", "import", str(inventory))

    assert done.returncode == 2
    assert done.stderr == f"error: {inventory}: line 2: expected key=value in [web:vars]\n"


def test_table_cells_from_data_print_as_stored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli(home, "users", "add", "olivia", "--role", "viewer").returncode == 0
    made = cli(home, "tokens", "create", "olivia", "--label", "[/oops] [bold]ci[/bold]")
    assert made.returncode == 0, made.stderr

    listed = cli(home, "tokens", "list", COLUMNS="200")

    assert listed.returncode == 0, listed.stderr
    assert "[/oops] [bold]ci[/bold]" in listed.stdout


def test_catalog_dirs_in_the_documented_colon_form(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    empty = tmp_path / "empty"
    empty.mkdir()
    dirs = f"{empty}:{store.root / 'catalog'}"

    planned = store.json(
        "ask", "delete file /tmp/x on ops-console", "--dry-run", OPSCONDUCTOR_CATALOG_DIRS=dirs
    )
    missing = store.cli("assets", "list", OPSCONDUCTOR_CATALOG_DIRS="/a:/b")

    assert planned["plan"]["steps"][0]["tool"] == "tests.write_marker"
    assert missing.returncode == 2
    assert missing.stderr == "error: catalog folder /a does not exist\n"


def test_a_bad_setting_is_one_line(tmp_path: Path) -> None:
    done = cli(tmp_path / "home", "assets", "list", OPSCONDUCTOR_GLOBAL_CONCURRENCY="many")

    assert done.returncode == 2
    assert done.stderr.startswith("error: setting OPSCONDUCTOR_GLOBAL_CONCURRENCY: ")
    assert done.stderr.count("\n") == 1


def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://ops:{PASSWORD}@127.0.0.1:1/none"

    done = cli(tmp_path / "home", "assets", "list", OPSCONDUCTOR_DATABASE_URL=url)

    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: the database at 127.0.0.1:1/none is not reachable: ")
    assert done.stderr.count("\n") == 1
    assert PASSWORD not in done.stderr


@pytest.mark.parametrize(
    "home",
    [
        Path("/proc/opsconductor-test"),  # a folder that cannot be made, even by root
        Path("/proc"),  # a folder where no file can be made, even by root
    ],
)
def test_an_unwritable_sqlite_folder_is_one_line(home: Path) -> None:
    done = cli(home, "assets", "list")

    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: cannot open the SQLite file {home}/opsconductor.db: ")
    assert done.stderr.count("\n") == 1


def test_a_sqlite_home_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("", encoding="utf-8")

    done = cli(home, "ask", "how many assets do we have")

    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot open the SQLite file {home}/opsconductor.db: ")
    assert done.stderr.count("\n") == 1
