"""Tool kinds: a new kind of tool is one module (spec model + behaviour) plus YAML, and the
pipeline plans, previews, runs and records it without knowing it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from opsconductor import kinds
from opsconductor.app import OpsConductor
from opsconductor.catalog.loader import load_catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.catalog.parsers import Parsed
from opsconductor.config import Settings
from opsconductor.connectors.base import CommandResult
from opsconductor.errors import CatalogError


class BulletinTool(ToolSpec):
    """A kind of our own for this test: reads out a fixed bulletin, on no host."""

    runs_on_hosts: ClassVar[bool] = False

    connector: Literal["bulletin"]
    bulletin: str


class BulletinKind(kinds.ToolKind):
    name = "bulletin"
    spec = BulletinTool
    runs: ClassVar[int] = 0

    def preview(
        self, tool: ToolSpec, inputs: dict[str, str | int], targets: list[str]
    ) -> list[str]:
        return ["read out the bulletin"]

    def display(self, tool: ToolSpec, inputs: dict[str, str | int]) -> str | None:
        return None

    async def run(self, call: kinds.StepCall) -> kinds.StepRun:
        assert isinstance(call.tool, BulletinTool)
        BulletinKind.runs += 1
        text = call.tool.bulletin
        return kinds.StepRun(CommandResult(exit_code=0), Parsed({"bulletin": text}, text))


kinds.register(BulletinKind())

TOOLSET = """
toolset: notices
tools:
  - name: notices.read_bulletin
    summary: Read the operations bulletin
    category: notices
    action: read_bulletin
    platforms: [inventory]
    connector: bulletin
    bulletin: Change freeze until Friday.
    risk: low
    read_only: true
    reversible: true
    estimate_s: 0.1
    timeout_s: 5
    examples: [read the operations bulletin, what does the bulletin say]
"""


@pytest.fixture
async def with_bulletin(tmp_path: Path, settings: Settings) -> AsyncIterator[OpsConductor]:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "notices.yaml").write_text(TOOLSET, encoding="utf-8")
    extended = settings.model_copy(update={"catalog_dirs": [folder]})
    conductor = await OpsConductor.open(extended)
    try:
        yield conductor
    finally:
        await conductor.close()


def test_the_builtin_kinds_are_registered() -> None:
    assert {"inventory", "shell", "powershell", "workflow"} <= set(kinds.names())
    catalog = load_catalog()
    assert kinds.kind_of(catalog.get("linux.disk_usage")).name == "shell"
    assert not catalog.get("inventory.count_assets").runs_on_hosts


async def test_a_new_kind_is_loaded_planned_previewed_and_run(with_bulletin: OpsConductor) -> None:
    tool = with_bulletin.catalog.get("notices.read_bulletin")
    assert isinstance(tool, BulletinTool)
    before = BulletinKind.runs
    answer = await with_bulletin.pipeline.ask("what does the ops bulletin say?", requester="alice")
    assert answer.plan is not None and [s.tool for s in answer.plan.steps] == [tool.name]
    assert answer.execution_state == "succeeded"
    assert answer.response.message == "Change freeze until Friday."
    assert BulletinKind.runs == before + 1
    preview = await with_bulletin.pipeline.plan("read the operations bulletin")
    assert preview.response.preview is not None
    assert preview.response.preview.steps[0].commands == ["read out the bulletin"]


def test_an_unknown_kind_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").write_text(TOOLSET.replace("connector: bulletin", "connector: fax"))
    with pytest.raises(CatalogError) as caught:
        load_catalog([tmp_path])
    message = str(caught.value)
    assert "tool 'notices.read_bulletin'" in message and "'fax'" in message
    assert "'shell'" in message and "'bulletin'" in message


def test_a_kind_keeps_its_own_fields(tmp_path: Path) -> None:
    broken = TOOLSET.replace("    bulletin: Change freeze until Friday.\n", "")
    (tmp_path / "odd.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(CatalogError, match="bulletin: Field required"):
        load_catalog([tmp_path])
    shell_with_query = TOOLSET.replace("connector: bulletin", "connector: shell")
    (tmp_path / "odd.yaml").write_text(shell_with_query, encoding="utf-8")
    with pytest.raises(CatalogError, match="command: Field required"):
        load_catalog([tmp_path])


def test_a_kind_name_is_registered_once() -> None:
    class Impostor(BulletinKind):
        pass

    with pytest.raises(ValueError, match="registered already"):
        kinds.register(Impostor())
