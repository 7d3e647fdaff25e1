"""`connector: workflow`: a graph of other catalog tools, expanded into the plan's steps; the
workflow itself never runs, its steps do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from opsconductor.catalog.models import PLACEHOLDER, TOOL_NAME, Strict, ToolSpec, substitute
from opsconductor.kinds.base import StepPart, ToolKind
from opsconductor.kinds.registry import register


class WorkflowStep(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    tool: str = Field(pattern=TOOL_NAME)
    depends_on: list[str] = Field(default_factory=list)
    inputs: dict[str, str | int] = Field(
        default_factory=dict, description="Literal values, or '{name}' of a workflow parameter."
    )


class WorkflowTool(ToolSpec):
    connector: Literal["workflow"]
    steps: list[WorkflowStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_steps(self) -> WorkflowTool:
        seen: set[str] = set()
        for step in self.steps:
            unknown = [dep for dep in step.depends_on if dep not in seen]
            if unknown:
                # Requiring dependencies to be declared first also rules out cycles.
                raise ValueError(f"step {step.id!r} depends on {unknown}, not declared before it")
            if step.id in seen:
                raise ValueError(f"duplicate step id {step.id!r}")
            seen.add(step.id)
        return self


class WorkflowKind(ToolKind):
    name = "workflow"
    spec = WorkflowTool

    def check_references(self, tool: ToolSpec, tools: Mapping[str, ToolSpec]) -> str | None:
        assert isinstance(tool, WorkflowTool)
        for step in tool.steps:
            inner = tools.get(step.tool)
            if inner is None:
                return f"step {step.id!r} names unknown tool {step.tool!r}"
            if isinstance(inner, WorkflowTool):
                return f"step {step.id!r}: workflows do not nest"
            unknown = step.inputs.keys() - inner.parameters.keys()
            if unknown:
                return f"step {step.id!r} passes unknown inputs {sorted(unknown)}"
            for value in step.inputs.values():
                match = PLACEHOLDER.match(str(value))
                if match and match.group(1) not in tool.parameters:
                    return f"step {step.id!r} uses undeclared parameter {match.group(1)!r}"
        return None

    def parts(
        self, tool: ToolSpec, inputs: dict[str, str | int], lookup: Mapping[str, ToolSpec]
    ) -> list[StepPart]:
        assert isinstance(tool, WorkflowTool)
        prefix = tool.name.split(".")[-1]
        parts = []
        for step in tool.steps:
            inner = lookup[step.tool]
            values = inner.validate_inputs(substitute(step.inputs, inputs))
            depends = [f"{prefix}.{d}" for d in step.depends_on]
            parts.append(StepPart(f"{prefix}.{step.id}", inner, values, depends))
        return parts


register(WorkflowKind())
