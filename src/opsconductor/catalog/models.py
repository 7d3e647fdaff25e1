"""Tool specs as they are declared in the catalog's YAML, validated on load."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsconductor.errors import ValidationFailed
from opsconductor.schemas.common import RiskLevel

TOOL_NAME = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
PLACEHOLDER = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")
# Characters no parameter value may carry, whatever its pattern says: they end a line, end a
# string in C, or steer a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Platform(StrEnum):
    INVENTORY = "inventory"  # runs against the inventory database, on no host
    LINUX = "linux"
    UNIX = "unix"
    MACOS = "macos"
    WINDOWS = "windows"
    NETWORK = "network"


class ConnectorKind(StrEnum):
    INVENTORY = "inventory"  # a read-only query of the asset table
    SHELL = "shell"  # a POSIX argv, run locally or over SSH
    POWERSHELL = "powershell"  # a fixed script with named parameters, over WinRM
    WORKFLOW = "workflow"  # a graph of other tools


class InventoryQuery(StrEnum):
    COUNT = "count_assets"
    LIST = "list_assets"
    DETAILS = "asset_details"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ParameterSpec(Strict):
    type: Literal["string", "integer"] = "string"
    description: str = ""
    pattern: str | None = None
    enum: list[str] | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = Field(default=256, ge=1, le=4096)
    default: str | int | None = None
    optional: bool = Field(default=False, description="May be left out; only inventory tools.")

    @model_validator(mode="after")
    def _check(self) -> ParameterSpec:
        if self.pattern is not None:
            re.compile(self.pattern)
        if self.type == "string" and self.pattern is None and self.enum is None:
            raise ValueError("a string parameter needs a pattern or an enum")
        if self.type == "integer" and (self.minimum is None or self.maximum is None):
            raise ValueError("an integer parameter needs minimum and maximum")
        return self

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional

    def validate_value(self, name: str, raw: object) -> str | int:
        """Return the typed value, or raise ValidationFailed saying what is wrong with it."""
        if self.type == "integer":
            return self._validate_integer(name, raw)
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            raise ValidationFailed(f"{name}: expected text, got {type(raw).__name__}")
        text = str(raw)
        if not text:
            raise ValidationFailed(f"{name}: must not be empty")
        if len(text) > self.max_length:
            raise ValidationFailed(f"{name}: longer than {self.max_length} characters")
        if _CONTROL.search(text):
            raise ValidationFailed(f"{name}: contains control characters")
        if text.startswith("-"):
            raise ValidationFailed(f"{name}: must not start with '-' (it would read as an option)")
        if self.enum is not None and text not in self.enum:
            raise ValidationFailed(f"{name}: {text!r} is not one of {', '.join(self.enum)}")
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise ValidationFailed(f"{name}: {text!r} is not an accepted value")
        return text

    def _validate_integer(self, name: str, raw: object) -> int:
        if isinstance(raw, bool):
            raise ValidationFailed(f"{name}: expected a whole number")
        try:
            value = int(str(raw), 10)
        except ValueError:
            raise ValidationFailed(f"{name}: {str(raw)[:40]!r} is not a whole number") from None
        assert self.minimum is not None and self.maximum is not None
        if not self.minimum <= value <= self.maximum:
            raise ValidationFailed(f"{name}: {value} is outside {self.minimum}..{self.maximum}")
        return value


class WorkflowStep(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    tool: str = Field(pattern=TOOL_NAME)
    depends_on: list[str] = Field(default_factory=list)
    inputs: dict[str, str | int] = Field(
        default_factory=dict, description="Literal values, or '{name}' of a workflow parameter."
    )


class RollbackSpec(Strict):
    tool: str = Field(pattern=TOOL_NAME)
    inputs: dict[str, str | int] = Field(default_factory=dict)


class ToolSpec(Strict):
    name: str = Field(pattern=TOOL_NAME)
    summary: str = Field(min_length=3)
    category: str = Field(pattern=r"^[a-z_]+$")
    action: str = Field(pattern=r"^[a-z_]+$")
    platforms: list[Platform] = Field(min_length=1)
    connector: ConnectorKind
    command: list[str] | None = None
    script: str | None = None
    query: InventoryQuery | None = None
    steps: list[WorkflowStep] | None = None
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    risk: RiskLevel
    read_only: bool
    reversible: bool
    estimate_s: float = Field(ge=0)
    timeout_s: float = Field(gt=0)
    ok_exit_codes: list[int] = Field(default_factory=lambda: [0])
    parser: str | None = Field(
        default=None,
        # ours ("df"), or "jc:" and one of jc's parsers ("jc:os-release"); checked on load
        pattern=r"^([a-z][a-z0-9_]*|jc:[a-z0-9][a-z0-9_-]*)$",
    )
    examples: list[str] = Field(min_length=1)
    rollback: RollbackSpec | None = None
    failure_policy: Literal["abort", "continue"] = "abort"

    @model_validator(mode="after")
    def _check_shape(self) -> ToolSpec:
        body = {
            ConnectorKind.INVENTORY: ("query", self.query),
            ConnectorKind.SHELL: ("command", self.command),
            ConnectorKind.POWERSHELL: ("script", self.script),
            ConnectorKind.WORKFLOW: ("steps", self.steps),
        }
        wanted, value = body[self.connector]
        if not value:
            raise ValueError(f"a {self.connector.value} tool needs '{wanted}'")
        extra = [name for name, val in body.values() if val and name != wanted]
        if extra:
            raise ValueError(f"a {self.connector.value} tool must not have {', '.join(extra)}")
        if self.command:
            self._check_command(self.command)
        if self.steps:
            self._check_steps(self.steps)
        if self.script:
            missing = [n for n in self.parameters if f"${n}" not in self.script]
            if missing:
                raise ValueError(f"script has no PowerShell parameter for {missing}")
        return self

    def _check_command(self, command: list[str]) -> None:
        used = set()
        for item in command:
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

    @staticmethod
    def _check_steps(steps: list[WorkflowStep]) -> None:
        seen: set[str] = set()
        for step in steps:
            unknown = [dep for dep in step.depends_on if dep not in seen]
            if unknown:
                # Requiring dependencies to be declared first also rules out cycles.
                raise ValueError(f"step {step.id!r} depends on {unknown}, not declared before it")
            if step.id in seen:
                raise ValueError(f"duplicate step id {step.id!r}")
            seen.add(step.id)

    @property
    def runs_on_hosts(self) -> bool:
        return self.connector is not ConnectorKind.INVENTORY

    def validate_inputs(self, raw: dict[str, Any]) -> dict[str, str | int]:
        """Typed values for every parameter, defaults filled in; raises on a bad or unknown one."""
        unknown = raw.keys() - self.parameters.keys()
        if unknown:
            raise ValidationFailed(f"{self.name}: unknown inputs {sorted(unknown)}")
        values: dict[str, str | int] = {}
        for name, spec in self.parameters.items():
            if name in raw and raw[name] is not None:
                values[name] = spec.validate_value(name, raw[name])
            elif spec.default is not None:
                values[name] = spec.validate_value(name, spec.default)
            elif spec.required:
                raise ValidationFailed(f"{self.name}: missing required input {name!r}")
        return values


class Toolset(Strict):
    toolset: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    description: str = ""
    definitions: dict[str, Any] = Field(
        default_factory=dict, description="Free space for YAML anchors shared by the tools."
    )
    tools: list[ToolSpec] = Field(min_length=1)
