"""Tool specs as they are declared in the catalog's YAML, validated on load."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, ClassVar, Literal

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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SlotSpec(Strict):
    """How a request fills a parameter, as data: the words that cue its value around it, and
    the question asked when the request gives none. Only what differs from the brain's general
    English (`brain/lexicon.py`) needs saying."""

    # A number with one of these words right before it ("pid 4242", "port 443").
    numbers_before: list[str] = Field(default_factory=list)
    # A number with one of these words within the two words after it ("the last 20 lines",
    # "the last 20 failed logins").
    numbers_after: list[str] = Field(default_factory=list)
    # A name right after ("user alice") or right before ("alice account") one of these words.
    words_before: list[str] = Field(default_factory=list)
    words_after: list[str] = Field(default_factory=list)
    question: str | None = Field(default=None, description="Asked when the value is missing.")

    @model_validator(mode="after")
    def _check(self) -> SlotSpec:
        cues = (*self.numbers_before, *self.numbers_after, *self.words_before, *self.words_after)
        for word in cues:
            if not re.fullmatch(r"[a-z][a-z-]{0,31}", word):
                raise ValueError(f"slot cue {word!r} must be one lower-case word")
        return self


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
    slot: SlotSpec | None = None

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


class RollbackSpec(Strict):
    tool: str = Field(pattern=TOOL_NAME)
    inputs: dict[str, str | int] = Field(default_factory=dict)


class ToolSpec(Strict):
    """What every tool declares, whatever runs it. Each kind of tool (the `connector:` key) is
    a subclass registered by its module under `opsconductor.kinds`, with the fields that kind
    needs (`command`, `script`, `query`, `steps`); the catalog loads a tool as the subclass its
    `connector` names."""

    # Whether the tool's steps run on the plan's target hosts (one unit per host), declared by
    # each kind; a kind that runs on no host (an inventory query) runs once per step.
    runs_on_hosts: ClassVar[bool] = True

    name: str = Field(pattern=TOOL_NAME)
    summary: str = Field(min_length=3)
    category: str = Field(pattern=r"^[a-z_]+$")
    action: str = Field(pattern=r"^[a-z_]+$")
    platforms: list[Platform] = Field(min_length=1)
    connector: str
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
    collects_facts: bool = Field(
        default=False,
        description="A unit that succeeds with output its parser understood stores the "
        "parsed data as the host's facts (read-only tools with a parser only).",
    )

    @model_validator(mode="after")
    def _check_facts(self) -> ToolSpec:
        if self.collects_facts and not (self.read_only and self.parser and self.runs_on_hosts):
            raise ValueError("collects_facts needs a read-only tool with a parser run on hosts")
        return self

    @property
    def needs_targets(self) -> bool:
        """Whether a request for this tool must name the assets it acts on (one by one)."""
        return self.runs_on_hosts

    def runs_on(self, os_type: str) -> bool:
        """Whether the tool supports an asset of this OS type."""
        return any(p.value == os_type for p in self.platforms)

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


def substitute(template: dict[str, str | int], values: dict[str, str | int]) -> dict[str, Any]:
    """A workflow step's or rollback's inputs, each '{name}' replaced by the caller's value."""
    result: dict[str, Any] = {}
    for key, value in template.items():
        match = PLACEHOLDER.match(str(value))
        result[key] = values[match.group(1)] if match else value
    return result


class Toolset(Strict):
    toolset: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    description: str = ""
    definitions: dict[str, Any] = Field(
        default_factory=dict, description="Free space for YAML anchors shared by the tools."
    )
    tools: list[ToolSpec] = Field(min_length=1)
