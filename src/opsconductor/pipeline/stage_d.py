"""Stage D: tell the person what will happen, or what is needed from them, in plain words."""

from __future__ import annotations

from opsconductor import kinds
from opsconductor.brain.index import InventoryIndex
from opsconductor.catalog.loader import Catalog
from opsconductor.schemas.common import Mode
from opsconductor.schemas.decision import Clarification
from opsconductor.schemas.plan import PlanStep, PlanV1
from opsconductor.schemas.response import Preview, ResponseV1, StepPreview

APPROVAL_WORDS = {
    0: "no approval needed",
    1: "needs your confirmation (level 1)",
    2: "needs review by an approver other than you (level 2, four-eyes)",
    3: "needs an approver other than you to approve each step (level 3)",
}


def clarify(clarification: Clarification) -> ResponseV1:
    message = clarification.question
    if clarification.options:
        message += " Options: " + ", ".join(clarification.options) + "."
    return ResponseV1(type="clarification", message=message, clarification=clarification)


def error(message: str) -> ResponseV1:
    return ResponseV1(type="error", message=message)


def preview(plan: PlanV1, catalog: Catalog, index: InventoryIndex) -> Preview:
    """What runs where, at what risk, with the exact command for every target."""
    targets = sorted({t for s in plan.steps for t in s.targets})
    environments = sorted({index.assets[t].environment or "unknown" for t in targets})
    return Preview(
        summary=describe_plan(plan, targets, environments),
        host_count=len(targets),
        environments=environments,
        risk_level=plan.risk_level,
        risk_reasons=plan.risk_reasons,
        reversible=plan.reversible,
        approval_level=plan.approval_level,
        steps=[_step_preview(step, catalog) for step in plan.steps],
    )


def describe_plan(plan: PlanV1, targets: list[str], environments: list[str]) -> str:
    where = "the inventory"
    if targets:
        shown = ", ".join(targets[:5]) + (
            f" and {len(targets) - 5} more" if len(targets) > 5 else ""
        )
        hosts = f"{len(targets)} host" + ("s" if len(targets) != 1 else "")
        where = f"{hosts} ({shown}; {', '.join(environments)})"
    reversible = "reversible" if plan.reversible else "NOT reversible"
    parts = [
        f"{plan.summary} on {where}.",
        f"{len(plan.steps)} step{'s' if len(plan.steps) != 1 else ''}, risk {plan.risk_level.value}"
        + (f" ({'; '.join(plan.risk_reasons)})" if plan.risk_reasons else "")
        + f", {reversible}, {APPROVAL_WORDS[plan.approval_level]}.",
    ]
    if plan.mode is Mode.BACKGROUND:
        parts.append(f"Runs in the background (about {plan.estimate_s:.0f} s).")
    return " ".join(parts)


def _step_preview(step: PlanStep, catalog: Catalog) -> StepPreview:
    tool = catalog.get(step.tool)
    commands = kinds.kind_of(tool).preview(tool, step.inputs, step.targets)
    return StepPreview(
        step_id=step.id,
        tool=step.tool,
        summary=step.description,
        targets=step.targets,
        read_only=step.read_only,
        commands=commands,
    )


def approval_request(plan: PlanV1, catalog: Catalog, index: InventoryIndex) -> ResponseV1:
    shown = preview(plan, catalog, index)
    return ResponseV1(type="approval_request", message=shown.summary, preview=shown)
