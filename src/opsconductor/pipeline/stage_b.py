"""Stage B: the catalog tools that serve a decision, per platform, and the execution policy."""

from __future__ import annotations

from opsconductor.brain.index import InventoryIndex
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.decision import DecisionV1
from opsconductor.schemas.selection import ExecutionPolicy, SelectedTool, SelectionV1


def select_tools(decision: DecisionV1, catalog: Catalog, index: InventoryIndex) -> SelectionV1:
    """Pick one tool per platform among the targets; targets no tool supports are set aside."""
    assert decision.intent is not None, "Stage B needs an understood intent"
    candidates = catalog.for_intent(decision.intent.category, decision.intent.action)
    selected: list[SelectedTool] = []
    skipped: dict[str, str] = {}
    inventory_tools = [t for t in candidates if not t.runs_on_hosts]
    if inventory_tools:
        tool = inventory_tools[0]
        selected.append(_selected(tool, decision.targets, "answered from the inventory"))
    else:
        by_tool: dict[str, list[str]] = {}
        for name in decision.targets:
            os_type = index.assets[name].os_type
            tool_for = _tool_for_platform(candidates, os_type)
            if tool_for is None:
                skipped[name] = f"no {decision.intent.action} tool for {os_type} assets"
            else:
                by_tool.setdefault(tool_for.name, []).append(name)
        for tool_name, targets in by_tool.items():
            tool = catalog.get(tool_name)
            why = f"{tool.summary.lower()} on {len(targets)} {tool.platforms[0].value} host(s)"
            selected.append(_selected(tool, targets, why))
    tools = [catalog.get(s.tool) for s in selected]
    return SelectionV1(
        request_id=decision.request_id,
        tools=selected,
        policy=_policy(decision, tools, index),
        skipped_targets=skipped,
    )


def _selected(tool: ToolSpec, targets: list[str], why: str) -> SelectedTool:
    return SelectedTool(tool=tool.name, targets=targets, why=why, score=1.0)


def _tool_for_platform(tools: list[ToolSpec], os_type: str) -> ToolSpec | None:
    return next((t for t in tools if t.runs_on_hosts and t.runs_on(os_type)), None)


def _policy(decision: DecisionV1, tools: list[ToolSpec], index: InventoryIndex) -> ExecutionPolicy:
    risk = RiskLevel.highest(decision.risk_level, *(t.risk for t in tools))
    reasons = [f"{t.name} is {t.risk.value} risk" for t in tools if t.risk is not RiskLevel.LOW]
    if risk.approval_level > max((t.risk.approval_level for t in tools), default=0):
        reasons.append(f"a change across {len(decision.targets)} hosts at once")
    production = any(index.assets[n].environment == "production" for n in decision.targets)
    return ExecutionPolicy(
        approval_level=risk.approval_level,
        requires_approval=risk.approval_level > 0,
        risk_level=risk,
        risk_reasons=reasons,
        production=production,
    )
