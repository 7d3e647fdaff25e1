"""`connector: powershell`: a fixed script from the catalog whose values arrive as named
parameters (never spliced into the script text), run over WinRM."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from opsconductor.catalog.models import ToolSpec
from opsconductor.catalog.render import Command
from opsconductor.kinds.host import HostCommandKind
from opsconductor.kinds.registry import register


class PowerShellTool(ToolSpec):
    connector: Literal["powershell"]
    script: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check_script(self) -> PowerShellTool:
        missing = [n for n in self.parameters if f"${n}" not in self.script]
        if missing:
            raise ValueError(f"script has no PowerShell parameter for {missing}")
        return self


class PowerShellKind(HostCommandKind):
    name = "powershell"
    spec = PowerShellTool

    def command(self, tool: ToolSpec, inputs: dict[str, str | int]) -> Command:
        assert isinstance(tool, PowerShellTool)
        return Command(script=tool.script, parameters=dict(inputs))


register(PowerShellKind())
