"""Tool kinds: each module here registers one `connector:` kind (its spec model and what plans,
previews and runs it). A new kind (an HTTP call, a playbook) is one more module imported here,
plus the YAML of its tools."""

from opsconductor.kinds import inventory, powershell, shell, workflow
from opsconductor.kinds.base import StepCall, StepPart, StepRun, ToolKind
from opsconductor.kinds.registry import command_for, kind_of, names, parse_tool, register

__all__ = [
    "StepCall",
    "StepPart",
    "StepRun",
    "ToolKind",
    "command_for",
    "inventory",
    "kind_of",
    "names",
    "parse_tool",
    "powershell",
    "register",
    "shell",
    "workflow",
]
