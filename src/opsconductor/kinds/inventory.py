"""`connector: inventory`: a read-only question answered from the asset table, on no host. Its
`query` names what the inventory connector answers; its inputs are the request's group filter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from opsconductor.catalog.models import ToolSpec
from opsconductor.connectors.base import CommandResult
from opsconductor.connectors.inventory import BREAKDOWN, InventoryQuery
from opsconductor.errors import ValidationFailed
from opsconductor.kinds.base import StepCall, StepRun, ToolKind
from opsconductor.kinds.registry import register
from opsconductor.schemas.decision import EntityType

if TYPE_CHECKING:
    from opsconductor.schemas.decision import Clause


class InventoryTool(ToolSpec):
    runs_on_hosts: ClassVar[bool] = False

    connector: Literal["inventory"]
    query: InventoryQuery

    @property
    def needs_targets(self) -> bool:
        return self.query is InventoryQuery.DETAILS  # the record of named assets


class InventoryKind(ToolKind):
    name = "inventory"
    spec = InventoryTool

    def raw_inputs(self, tool: ToolSpec, clause: Clause) -> dict[str, Any]:
        """The group's filter, and what the count is split by when the tool splits counts."""
        split = {BREAKDOWN: clause.inputs[BREAKDOWN]} if BREAKDOWN in clause.inputs else {}
        if split and BREAKDOWN not in tool.parameters:
            raise ValidationFailed(f"{tool.name} cannot split by {split[BREAKDOWN]}")
        for entity in clause.entities:
            if entity.type is EntityType.GROUP and entity.filter is not None:
                # A qualifier the tool cannot take would be dropped and the answer would
                # count a different group: refuse it instead.
                untaken = sorted(entity.filter.keys() - tool.parameters.keys())
                if untaken:
                    raise ValidationFailed(
                        f"{tool.name} cannot filter by {', '.join(untaken)}; ask without it"
                    )
                return {**entity.filter, **split}
        return split

    def preview(
        self, tool: ToolSpec, inputs: dict[str, str | int], targets: list[str]
    ) -> list[str]:
        assert isinstance(tool, InventoryTool)
        args = ", ".join(f"{k}={v}" for k, v in sorted(inputs.items()))
        return [f"inventory query {tool.query.value}({args})"]

    def display(self, tool: ToolSpec, inputs: dict[str, str | int]) -> str | None:
        return None

    async def run(self, call: StepCall) -> StepRun:
        assert isinstance(call.tool, InventoryTool)
        parsed = await call.connectors.inventory.query(call.tool.query, call.inputs, call.targets)
        return StepRun(CommandResult(exit_code=0), parsed)


register(InventoryKind())
