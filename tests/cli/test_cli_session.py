"""`ask --session NAME`: follow-ups in a real CLI process, the context kept in the store."""

from __future__ import annotations

from pathlib import Path

from tests.cli.clirun import make_store


def test_a_session_carries_the_last_targets_between_cli_calls(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    first = store.json("ask", "check disk space on ops-console", "--dry-run", "--session", "s")
    assert first["plan"]["steps"][0]["targets"] == ["ops-console"]
    assert first["conversation_id"] == "s"
    second = store.json("ask", "what about memory?", "--dry-run", "--session", "s")
    assert second["plan"]["steps"][0]["tool"] == "linux.memory"
    assert second["plan"]["steps"][0]["targets"] == ["ops-console"]
    assert second["decision"]["read_as"] == "memory on ops-console."
    assert second["response"]["message"].startswith("I read this as: memory on ops-console.")
    alone = store.json("ask", "what about memory?", "--dry-run")
    assert alone["plan"] is None and alone["conversation_id"] is None


def test_a_bad_session_name_is_one_clear_line(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    done = store.cli("ask", "check disk space on ops-console", "--session", "../etc;rm")
    assert done.returncode == 2
    assert "--session" in done.stderr and done.stdout == ""
