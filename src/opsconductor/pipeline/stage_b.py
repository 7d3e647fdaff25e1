"""Stage B: the catalog tools that serve a decision, per clause and platform, and the
execution policy."""

from __future__ import annotations

from opsconductor.brain.index import InventoryIndex
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.decision import Clause, DecisionV1
from opsconductor.schemas.selection import ExecutionPolicy, SelectedTool, SelectionV1


def select_tools(decision: DecisionV1, catalog: Catalog, index: InventoryIndex) -> SelectionV1:
    """Pick one tool per platform among each clause's targets; targets no tool supports are
    set aside. A request of several clauses gets all of them, in order, or nothing to run."""
    clauses = decision.all_clauses()
    assert clauses, "Stage B needs an understood intent"
    selected: list[SelectedTool] = []
    skipped: dict[str, str] = {}
    for number, clause in enumerate(clauses):
        chosen = _select_clause(clause, number, catalog, index, skipped)
        if not chosen and len(clauses) > 1:
            # Dropping one action of several would run a different request than was asked.
            return _selection(decision, [], skipped, catalog, index)
        selected += chosen
    return _selection(decision, selected, skipped, catalog, index)


def _select_clause(
    clause: Clause,
    number: int,
    catalog: Catalog,
    index: InventoryIndex,
    skipped: dict[str, str],
) -> list[SelectedTool]:
    candidates = catalog.for_intent(clause.intent.category, clause.intent.action)
    inventory_tools = [t for t in candidates if not t.runs_on_hosts]
    if inventory_tools:
        why = "answered from the inventory"
        return [_selected(inventory_tools[0], clause.targets, why, number)]
    by_tool: dict[str, list[str]] = {}
    for name in clause.targets:
        os_type = index.assets[name].os_type
        tool_for = _tool_for_platform(candidates, os_type)
        if tool_for is None:
            skipped[name] = f"no {clause.intent.action.replace('_', ' ')} tool for {os_type} assets"
        else:
            by_tool.setdefault(tool_for.name, []).append(name)
    chosen = []
    for tool_name, targets in by_tool.items():
        tool = catalog.get(tool_name)
        why = f"{tool.summary.lower()} on {len(targets)} {tool.platforms[0].value} host(s)"
        chosen.append(_selected(tool, targets, why, number))
    return chosen


def _selection(
    decision: DecisionV1,
    selected: list[SelectedTool],
    skipped: dict[str, str],
    catalog: Catalog,
    index: InventoryIndex,
) -> SelectionV1:
    tools = [catalog.get(s.tool) for s in selected]
    return SelectionV1(
        request_id=decision.request_id,
        tools=selected,
        policy=_policy(decision, tools, index),
        skipped_targets=skipped,
    )


def _selected(tool: ToolSpec, targets: list[str], why: str, clause: int) -> SelectedTool:
    return SelectedTool(tool=tool.name, targets=targets, why=why, score=1.0, clause=clause)


def _tool_for_platform(tools: list[ToolSpec], os_type: str) -> ToolSpec | None:
    return next((t for t in tools if t.runs_on_hosts and t.runs_on(os_type)), None)


def _policy(decision: DecisionV1, tools: list[ToolSpec], index: InventoryIndex) -> ExecutionPolicy:
    risk = RiskLevel.highest(decision.risk_level, *(t.risk for t in tools))
    reasons = [f"{t.name} is {t.risk.value} risk" for t in tools if t.risk is not RiskLevel.LOW]
    targets = sorted({t for c in decision.all_clauses() for t in c.targets})
    if risk.approval_level > max((t.risk.approval_level for t in tools), default=0):
        reasons.append(f"a change across {len(targets)} hosts at once")
    production = any(index.assets[n].environment == "production" for n in targets)
    return ExecutionPolicy(
        approval_level=risk.approval_level,
        requires_approval=risk.approval_level > 0,
        risk_level=risk,
        risk_reasons=list(dict.fromkeys(reasons)),
        production=production,
    )
