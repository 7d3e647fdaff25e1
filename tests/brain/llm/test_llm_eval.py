"""`opsconductor eval --brain …`: the corpus read by the LLM brain against the scripted FAKE
model server (tests/brain/llm/fake_model.py), alone and compared with the rules brain, run as
the real command. A model failure is the model's error in the report, never a reading by the
rules counted to its credit."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.brain.llm.fake_model import (
    FakeModelServer,
    content,
    fake_model_server,
    proposal,
    status,
    tool_call,
)

REQUESTS = [
    ("q-1", "How many assets do we have?", "inventory"),
    ("q-2", "Check disk usage on web-01", "commands"),
    ("q-3", "Restart nginx on web-01", "commands"),
]


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    with fake_model_server() as server:
        yield server


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    rows = [{"id": i, "text": t, "group": g} for i, t, g in REQUESTS]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    rows = [
        {"name": name, "os_type": "linux", "device_type": "server", "service_type": "ssh"}
        for name in ("web-01", "db-01")
    ]
    path = tmp_path / "assets.json"
    path.write_text(json.dumps({"assets": rows}), encoding="utf-8")
    return path


def run_eval(
    fake: FakeModelServer | None, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": ":".join(sys.path)}
    if fake is not None:
        env |= {"OPSCONDUCTOR_LLM_BASE_URL": fake.url, "OPSCONDUCTOR_LLM_MODEL": "fake-model"}
        env |= {"OPSCONDUCTOR_LLM_TIMEOUT_S": "5"}
    return subprocess.run(
        [sys.executable, "-m", "opsconductor", "eval", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def script_three(fake: FakeModelServer) -> None:
    """q-1 right; q-2 malformed twice (the model's error); q-3 a 500 (the model's error)."""
    fake.script(
        tool_call(proposal("inventory.count_assets", [], risk="low")),
        content("not json"),
        tool_call('{"steps": "nope"}'),
        status(500),
    )


def test_the_llm_brain_alone(
    fake: FakeModelServer, corpus: Path, inventory: Path, tmp_path: Path
) -> None:
    script_three(fake)
    output = tmp_path / "docs" / "eval-llm.md"
    done = run_eval(fake, tmp_path, str(corpus), str(inventory), "--brain", "llm",
                    "--output", str(output))  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = output.read_text(encoding="utf-8")
    assert "# Understanding evaluation of the LLM brain" in report
    assert "with the model `fake-model`" in report
    # One understood, two errors the model caused: no fallback to the rules.
    assert "| **total** | 3 | 1 | 0 | 2 | 0 |" in report, report
    assert report.count("OPSCONDUCTOR_LLM_FALLBACK is 'fail'") == 2
    assert len(fake.received) == 4  # q-2 asked once more with its validation error
    assert "Traceback" not in done.stderr


def test_both_brains_compared(
    fake: FakeModelServer, corpus: Path, inventory: Path, tmp_path: Path
) -> None:
    script_three(fake)
    output = tmp_path / "compare.md"
    done = run_eval(fake, tmp_path, str(corpus), str(inventory), "--brain", "rules",
                    "--brain", "llm", "--output", str(output))  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = output.read_text(encoding="utf-8")
    assert "# Understanding evaluation: the brains compared" in report
    rules_row = next(line for line in report.splitlines() if line.startswith("| rules |"))
    llm_row = next(line for line in report.splitlines() if line.startswith("| llm |"))
    # requests, understood, clarification, error, crash, …
    assert rules_row.split(" | ")[1:6] == ["3", "3", "0", "0", "0"], rules_row
    assert llm_row.split(" | ")[1:6] == ["3", "1", "0", "2", "0"], llm_row
    # q-1 planned alike; q-2 and q-3 differ.
    assert "## Where they differ (2 requests)" in report
    differ = report.split("## Where they differ")[1]
    assert "| q-2 |" in differ and "| q-3 |" in differ and "| q-1 |" not in differ


def test_a_sample_is_spread_over_the_corpus(
    fake: FakeModelServer, corpus: Path, inventory: Path, tmp_path: Path
) -> None:
    fake.script(tool_call(proposal("inventory.count_assets", [])))
    output = tmp_path / "sample.md"
    done = run_eval(fake, tmp_path, str(corpus), str(inventory), "--brain", "llm",
                    "--sample", "1", "--output", str(output))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 requests of" in output.read_text(encoding="utf-8")
    assert len(fake.received) == 1


def test_a_bad_brain_or_a_missing_model_is_a_clear_error(
    corpus: Path, inventory: Path, tmp_path: Path
) -> None:
    wrong = run_eval(None, tmp_path, str(corpus), str(inventory), "--brain", "gpt")
    assert wrong.returncode == 2 and "'gpt' is not one of" in wrong.stderr, wrong.stderr
    unset = run_eval(None, tmp_path, str(corpus), str(inventory), "--brain", "llm")
    assert unset.returncode == 2, unset.stderr
    assert "needs OPSCONDUCTOR_LLM_BASE_URL" in unset.stderr and "Traceback" not in unset.stderr
