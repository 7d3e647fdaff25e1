"""Stage C: ground the selection into a plan of concrete steps over concrete assets."""

from __future__ import annotations

import math
import uuid

from opsconductor import kinds
from opsconductor.brain.index import InventoryIndex
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec, substitute
from opsconductor.errors import ValidationFailed
from opsconductor.schemas.common import Mode
from opsconductor.schemas.decision import Clarification, DecisionV1
from opsconductor.schemas.plan import PlanStep, PlanV1, RollbackAction
from opsconductor.schemas.selection import SelectedTool, SelectionV1

_QUESTIONS = {
    "service": "Which service?",
    "app": "Which application?",
    "version": "Which version?",
    "path": "Which log file (a path under /var/log)?",
    "process_id": "Which process ID?",
    "process_name": "Which process name?",
    "destination": "Which destination?",
    "url": "Which URL?",
    "database": "Which database?",
    "port": "Which port?",
}


class _Steps:
    """Accumulates grounded steps and their rollbacks."""

    def __init__(self) -> None:
        self.steps: list[PlanStep] = []
        self.rollback: list[RollbackAction] = []


def build_plan(
    decision: DecisionV1,
    selection: SelectionV1,
    catalog: Catalog,
    index: InventoryIndex,
    *,
    concurrency: int,
    immediate_threshold_s: float,
) -> PlanV1 | Clarification:
    """A grounded plan, or the question to ask when an input is missing.

    Raises ValidationFailed when a value the request gave fails its parameter's check."""
    missing = _missing_inputs(decision, selection, catalog)
    if missing:
        return Clarification(
            reason="missing_input",
            question=" ".join(_question(name, selection, catalog) for name in missing),
            options=[],
        )
    clauses = decision.all_clauses()
    built = _Steps()
    before: list[str] = []  # the step ids of the clause before: the next clause waits for them
    for number, clause in enumerate(clauses):
        ids: list[str] = []
        for selected in (s for s in selection.tools if s.clause == number):
            tool = catalog.get(selected.tool)
            _ground_targets(tool, selected, index)
            kind = kinds.kind_of(tool)
            inputs = tool.validate_inputs(kind.raw_inputs(tool, clause))
            for part in kind.parts(tool, inputs, catalog.tools):
                if len(clauses) > 1:
                    part = _in_clause(part, number, before)
                _add_step(built, part, selected.targets, concurrency)
                ids.append(part.id)
        before = ids
    return _assemble(decision, selection, catalog, built, immediate_threshold_s)


def _in_clause(part: kinds.StepPart, number: int, before: list[str]) -> kinds.StepPart:
    """A step of the `number`-th clause: its id says so, and a step that waits for nothing in
    its own clause waits for the clause before."""
    prefix = f"{number + 1}."
    depends = [prefix + d for d in part.depends_on] or list(before)
    return kinds.StepPart(prefix + part.id, part.tool, part.inputs, depends)


def _question(name: str, selection: SelectionV1, catalog: Catalog) -> str:
    """The question a tool declares for the parameter (`slot.question`), or the general one."""
    for selected in selection.tools:
        spec = catalog.get(selected.tool).parameters.get(name)
        if spec is not None and spec.slot is not None and spec.slot.question:
            return spec.slot.question
    return _QUESTIONS.get(name, f"Which {name.replace('_', ' ')}?")


def _missing_inputs(decision: DecisionV1, selection: SelectionV1, catalog: Catalog) -> list[str]:
    missing: list[str] = []
    clauses = decision.all_clauses()
    for selected in selection.tools:
        tool = catalog.get(selected.tool)
        given = clauses[selected.clause].inputs
        for name, spec in tool.parameters.items():
            if spec.required and name not in given and name not in missing:
                missing.append(name)
    return missing


def _ground_targets(tool: ToolSpec, selected: SelectedTool, index: InventoryIndex) -> None:
    for name in selected.targets:
        asset = index.assets.get(name)
        if asset is None:
            raise ValidationFailed(f"target {name!r} is not an asset in the inventory")
        if tool.runs_on_hosts and not tool.runs_on(asset.os_type):
            raise ValidationFailed(f"{tool.name} does not run on {asset.os_type} asset {name!r}")


def _add_step(built: _Steps, part: kinds.StepPart, targets: list[str], concurrency: int) -> None:
    tool = part.tool
    waves = max(1, math.ceil(len(targets) / concurrency))
    built.steps.append(
        PlanStep(
            id=part.id,
            tool=tool.name,
            description=tool.summary,
            targets=targets,
            inputs=part.inputs,
            depends_on=part.depends_on,
            estimate_s=tool.estimate_s * waves,
            timeout_s=tool.timeout_s,
            read_only=tool.read_only,
            risk_level=tool.risk,
        )
    )
    if tool.rollback is not None:
        rollback_inputs = substitute(tool.rollback.inputs, part.inputs)
        built.rollback.append(
            RollbackAction(step_id=part.id, tool=tool.rollback.tool, inputs=rollback_inputs)
        )


def _critical_path(steps: list[PlanStep]) -> float:
    finish: dict[str, float] = {}
    for step in steps:  # steps are in dependency order: a step's dependencies come first
        start = max((finish[d] for d in step.depends_on), default=0.0)
        finish[step.id] = start + step.estimate_s
    return max(finish.values(), default=0.0)


def _assemble(
    decision: DecisionV1,
    selection: SelectionV1,
    catalog: Catalog,
    built: _Steps,
    immediate_threshold_s: float,
) -> PlanV1:
    policy = selection.policy
    tools = [catalog.get(s.tool) for s in selection.tools]
    estimate = max([_critical_path(built.steps), *(t.estimate_s for t in tools)])
    targets = sorted({t for s in built.steps for t in s.targets})
    checks = ["every tool exists in the catalog", "every input passed its parameter's check"]
    if targets:
        checks.append(f"{len(targets)} target(s) exist in the inventory on a supported platform")
    if policy.production:
        checks.append("production assets are involved")
    return PlanV1(
        id=str(uuid.uuid4()),
        request_id=decision.request_id,
        summary="; ".join(t.summary for t in tools),
        steps=built.steps,
        safety_checks=checks,
        rollback=built.rollback,
        approval_level=policy.approval_level,
        approval_points=[s.id for s in built.steps] if policy.approval_level >= 3 else [],
        risk_level=policy.risk_level,
        risk_reasons=policy.risk_reasons,
        reversible=all(t.reversible for t in tools),
        estimate_s=estimate,
        mode=Mode.IMMEDIATE if estimate < immediate_threshold_s else Mode.BACKGROUND,
        on_failure="continue" if all(t.failure_policy == "continue" for t in tools) else "abort",
    )
