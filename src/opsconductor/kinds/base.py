"""What a kind of tool is: the one object that plans, previews and runs the tools of one
`connector:` kind. Planning (stage C), the preview (stage D) and the engine (stage E) ask a
tool's kind instead of branching on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from opsconductor.catalog.models import ToolSpec
from opsconductor.catalog.parsers import Parsed
from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, OutputCallback

if TYPE_CHECKING:
    from opsconductor.connectors.registry import Connectors
    from opsconductor.inventory.models import Asset
    from opsconductor.schemas.decision import Clause


@dataclass(frozen=True)
class StepPart:
    """One step a tool contributes to a plan; a workflow contributes several."""

    id: str
    tool: ToolSpec
    inputs: dict[str, str | int]
    depends_on: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepCall:
    """One unit of a plan step, as its kind runs it: on one host, or on none."""

    tool: ToolSpec
    inputs: dict[str, str | int]
    targets: list[str]  # all of the step's targets
    host: Asset | None  # this unit's host; None for a kind that runs on no host
    timeout_s: float
    connectors: Connectors
    on_output: OutputCallback


@dataclass(frozen=True)
class StepRun:
    result: CommandResult
    parsed: Parsed | None = None


class ToolKind:
    """The behaviour of one kind. Subclasses set `name` (the `connector:` value) and `spec`
    (its model, whose `connector` is `Literal[name]`) and override what differs."""

    name: ClassVar[str]
    spec: ClassVar[type[ToolSpec]]

    def check_references(self, tool: ToolSpec, tools: Mapping[str, ToolSpec]) -> str | None:
        """What is wrong with the tool's references to other tools, once all are loaded."""
        return None

    def raw_inputs(self, tool: ToolSpec, clause: Clause) -> dict[str, Any]:
        """The values the request's clause gave for this tool's parameters, not yet validated."""
        return {k: v for k, v in clause.inputs.items() if k in tool.parameters}

    def parts(
        self, tool: ToolSpec, inputs: dict[str, str | int], lookup: Mapping[str, ToolSpec]
    ) -> list[StepPart]:
        """The plan steps this tool becomes, given its validated inputs."""
        return [StepPart(tool.name.replace(".", "_"), tool, inputs)]

    def command(self, tool: ToolSpec, inputs: dict[str, str | int]) -> Command:
        raise ValueError(f"{tool.name} is a {self.name} tool and has no command")

    def preview(
        self, tool: ToolSpec, inputs: dict[str, str | int], targets: list[str]
    ) -> list[str]:
        """The exact work a step does, in words a reviewer checks before approving it."""
        shown = self.command(tool, inputs).display()
        return [f"{target}: {shown}" for target in targets]

    def display(self, tool: ToolSpec, inputs: dict[str, str | int]) -> str | None:
        """The command recorded for one unit as it starts; None for a kind with no command."""
        return self.command(tool, inputs).display()

    async def run(self, call: StepCall) -> StepRun:
        raise NotImplementedError(f"{call.tool.name}: a {self.name} tool is not run as a step")
