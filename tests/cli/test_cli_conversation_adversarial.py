"""Hostile input to `ask --session` and `assets discover` in a real CLI process: one clear
line and exit 2 (bad option) or 1 (nothing to do), never a traceback, and nothing runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.clirun import make_store

HOSTILE_SESSIONS = ["", "a" * 10_240, "ünïcode", "../../etc/passwd", "' OR 1=1 --", "-x"]


def test_hostile_session_names_are_one_clear_line(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    for name in HOSTILE_SESSIONS:
        done = store.cli("ask", "check disk space on ops-console", "--yes", f"--session={name}")
        assert done.returncode == 2, (name[:20], done.stdout, done.stderr)
        assert "--session" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr) < 2_000, done.stderr[:200]
    listed = store.json("executions", "list")
    assert listed == [] or listed.get("data") == [], listed


@pytest.mark.parametrize(
    "filters",
    [
        ["--name", "' OR 1=1 --"],
        ["--name", "%"],
        ["--name", "no-such-host"],
        ["--location", "%"],
        ["--tag", "../x"],
    ],
)
def test_discover_with_a_filter_that_matches_nothing_says_so(
    tmp_path: Path, filters: list[str]
) -> None:
    store = make_store(tmp_path)
    done = store.cli("assets", "discover", *filters, "--yes")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "No assets match: nothing to discover." in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_discover_with_a_malformed_filter_is_a_bad_option(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    for filters in (
        ["--os", "bsd"],
        ["--name", "x" * 10_000],
        ["--environment", "a\tb"],
        ["--tag", "x\u0001"],
    ):
        done = store.cli("assets", "discover", *filters, "--yes")
        # Held to the API's rule for a filter word: one line of at most 255 characters.
        assert done.returncode == 2, (filters[0], done.stdout, done.stderr)
        assert "bad filter" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == ""
