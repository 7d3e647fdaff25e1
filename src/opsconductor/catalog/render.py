"""Turn a tool and its validated inputs into the exact command a connector runs."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from opsconductor.catalog.models import PLACEHOLDER, ConnectorKind, ToolSpec


@dataclass(frozen=True)
class Command:
    """Either a POSIX argv or a PowerShell script with its parameters; never a shell string."""

    argv: tuple[str, ...] = ()
    script: str | None = None
    parameters: dict[str, str | int] = field(default_factory=dict)

    def display(self) -> str:
        """The command as a person reads it (and as a POSIX shell would parse it)."""
        if self.script is None:
            return shlex.join(self.argv)
        args = " ".join(f"-{k} {_ps_quote(v)}" for k, v in sorted(self.parameters.items()))
        return f"powershell: {self.script.strip().splitlines()[0]} … {args}".rstrip()


def render_command(tool: ToolSpec, inputs: dict[str, str | int]) -> Command:
    """Substitute validated inputs; each placeholder becomes exactly one argument."""
    if tool.connector is ConnectorKind.SHELL:
        assert tool.command is not None
        argv = []
        for item in tool.command:
            match = PLACEHOLDER.match(item)
            argv.append(str(inputs[match.group(1)]) if match else item)
        return Command(argv=tuple(argv))
    if tool.connector is ConnectorKind.POWERSHELL:
        assert tool.script is not None
        return Command(script=tool.script, parameters=dict(inputs))
    raise ValueError(f"{tool.name} is a {tool.connector.value} tool and has no command")


def _ps_quote(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"
