"""The exact command a connector runs, as a host tool's kind renders it from validated inputs."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field


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


def _ps_quote(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"
