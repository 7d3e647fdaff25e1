"""`connector: shell`: a POSIX argv from the catalog, each placeholder one whole argument, run
locally or over SSH."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from opsconductor.catalog.models import PLACEHOLDER, ToolSpec
from opsconductor.catalog.render import Command
from opsconductor.kinds.host import HostCommandKind
from opsconductor.kinds.registry import register


class ShellTool(ToolSpec):
    connector: Literal["shell"]
    command: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_command(self) -> ShellTool:
        used = set()
        for item in self.command:
            match = PLACEHOLDER.match(item)
            if match:
                used.add(match.group(1))
            elif re.search(r"(?<!%)\{[a-z_][a-z0-9_]*\}", item):
                # A placeholder inside a longer word would splice user text into an argument.
                raise ValueError(f"placeholder inside {item!r}: a placeholder must be a whole item")
        undeclared = used - self.parameters.keys()
        if undeclared:
            raise ValueError(f"command uses undeclared parameters: {sorted(undeclared)}")
        unused = self.parameters.keys() - used
        if unused:
            raise ValueError(f"parameters not used by the command: {sorted(unused)}")
        optional = [name for name, spec in self.parameters.items() if spec.optional]
        if optional:
            raise ValueError(f"a command's parameters cannot be optional: {optional}")
        return self


class ShellKind(HostCommandKind):
    name = "shell"
    spec = ShellTool

    def command(self, tool: ToolSpec, inputs: dict[str, str | int]) -> Command:
        assert isinstance(tool, ShellTool)
        argv = []
        for item in tool.command:
            match = PLACEHOLDER.match(item)
            argv.append(str(inputs[match.group(1)]) if match else item)
        return Command(argv=tuple(argv))


register(ShellKind())
