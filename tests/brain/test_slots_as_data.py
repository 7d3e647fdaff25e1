"""A parameter's slot is data: a tool added in YAML alone is understood, its numbers filled by
the cue words its parameter declares, its missing value asked with its own question."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.catalog.loader import load_catalog
from opsconductor.config import Settings
from opsconductor.errors import CatalogError

TOOLSET = """
toolset: extra-security
tools:
  - name: extra.sudo_failures
    summary: Show the latest failed sudo attempts
    category: security
    action: sudo_failures
    platforms: [linux]
    connector: shell
    command: [journalctl, --no-pager, -q, _COMM=sudo, -n, '{entries}']
    parameters:
      entries:
        type: integer
        minimum: 1
        maximum: 500
        default: 25
        slot:
          numbers_after: [sudo, escalations]
    risk: medium
    read_only: true
    reversible: true
    estimate_s: 2
    timeout_s: 30
    examples:
      - show failed sudo attempts on {host}
      - who failed to sudo on {host}
  - name: extra.audit_user
    summary: Show what one account did
    category: security
    action: audit_user
    platforms: [linux]
    connector: shell
    command: [last, -w, '{account}']
    parameters:
      account:
        pattern: '^[a-z_][a-z0-9_-]{0,31}$'
        slot: {words_before: [user, account], question: Which account should I audit?}
    risk: medium
    read_only: true
    reversible: true
    estimate_s: 2
    timeout_s: 30
    examples:
      - audit the user {account} on {host}
      - what did user {account} do on {host}
"""


@pytest.fixture
async def extended(tmp_path: Path, sqlite_settings: Settings) -> AsyncIterator[OpsConductor]:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "security.yaml").write_text(TOOLSET, encoding="utf-8")
    conductor = await OpsConductor.open(
        sqlite_settings.model_copy(update={"catalog_dirs": [folder]})
    )
    try:
        await seed(conductor, FLEET)
        yield conductor
    finally:
        await conductor.close()


async def inputs_of(conductor: OpsConductor, text: str) -> tuple[str, dict[str, object]]:
    answer = await conductor.pipeline.plan(text)
    assert answer.plan is not None, answer.response.message
    [step] = answer.plan.steps
    return step.tool, dict(step.inputs)


async def test_the_shipped_failed_logins_tool_reads_its_count(extended: OpsConductor) -> None:
    assert await inputs_of(extended, "show failed logins on web-prod-01") == (
        "linux.failed_logins",
        {"lines": 20},
    )
    assert await inputs_of(extended, "show the last 50 failed logins on web-prod-01") == (
        "linux.failed_logins",
        {"lines": 50},
    )


async def test_a_yaml_only_tool_fills_its_number_from_its_own_cues(extended: OpsConductor) -> None:
    assert await inputs_of(extended, "show failed sudo attempts on web-prod-02") == (
        "extra.sudo_failures",
        {"entries": 25},
    )
    tool, inputs = await inputs_of(extended, "show the last 7 failed sudo attempts on web-prod-02")
    assert (tool, inputs) == ("extra.sudo_failures", {"entries": 7})


async def test_a_missing_value_is_asked_with_the_parameters_question(
    extended: OpsConductor,
) -> None:
    answer = await extended.pipeline.plan("audit a user on web-prod-01")
    assert answer.response.type == "clarification"
    assert answer.response.message == "Which account should I audit?"


async def test_a_yaml_only_tool_fills_a_name_from_its_own_cues(extended: OpsConductor) -> None:
    assert await inputs_of(extended, "audit the user deploy-bot on web-prod-01") == (
        "extra.audit_user",
        {"account": "deploy-bot"},
    )
    answer = await extended.pipeline.plan("audit the user 'x;rm' on web-prod-01")
    assert answer.plan is None  # the value still passes its parameter's pattern, or nothing


def test_slot_cues_are_single_words(tmp_path: Path) -> None:
    bad = TOOLSET.replace("numbers_after: [sudo, escalations]", "numbers_after: ['Sudo Calls']")
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(CatalogError, match="slot cue"):
        load_catalog([tmp_path])
