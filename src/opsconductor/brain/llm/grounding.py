"""A validated proposal made into a decision that stages B and C then ground as they ground the
rules brain's: names are checked here (a tool the catalog lacks, a target the inventory does
not know, a parameter the tool does not take each end in a clarification that names it); the
inputs' types and patterns are checked by stage C; the risk is the highest of the model's, the
tools' and the approval rules' (a change across many hosts), so a model can raise the approval
level and never lower it."""

from __future__ import annotations

from opsconductor.brain.base import BrainRequest
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.llm.proposal import Proposal, ProposedStep
from opsconductor.brain.rules import FLEET_CHANGE_SIZE
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.decision import (
    Clarification,
    Clause,
    DecisionV1,
    Entity,
    EntityType,
    Intent,
    ModelProposal,
)

# A proposal is the model's reading, not a measured match of words: it is never more sure
# than the rules brain's good matches.
MODEL_CONFIDENCE = 0.5


class _Unfit(Exception):
    """A step that names something the catalog or inventory does not have."""

    def __init__(self, clarification: Clarification) -> None:
        self.clarification = clarification


def decide(
    request: BrainRequest, proposal: Proposal, catalog: Catalog, note: ModelProposal
) -> DecisionV1:
    """The decision a proposal stands for, or a clarification naming what does not fit."""
    reasons = [f"proposed by model {note.model} (prompt {note.prompt_version}): {proposal.reason}"]
    base = {"request_id": request.request_id, "text": request.text, "proposed_by": note}
    if not proposal.steps:
        question = proposal.question or "What should I do, and on which assets?"
        asked = Clarification(reason="ambiguous", question=question)
        return DecisionV1(
            **base, kind="clarification", intent=None, confidence=0.0, clarification=asked
        )
    try:
        clauses = [_clause(step, catalog, request.index) for step in proposal.steps]
    except _Unfit as unfit:
        return DecisionV1(
            **base,
            kind="clarification",
            intent=None,
            confidence=0.0,
            clarification=unfit.clarification,
            reasons=reasons,
        )
    tools = [catalog.tools[step.tool] for step in proposal.steps]
    first = clauses[0]
    return DecisionV1(
        **base,
        kind="information" if all(not t.runs_on_hosts for t in tools) else "action",
        intent=first.intent,
        entities=first.entities,
        targets=first.targets,
        inputs=first.inputs,
        risk_level=_risk(proposal.risk, tools, clauses),
        confidence=MODEL_CONFIDENCE,
        reasons=reasons,
        clauses=clauses if len(clauses) > 1 else [],
    )


def _clause(step: ProposedStep, catalog: Catalog, index: InventoryIndex) -> Clause:
    tool = catalog.tools.get(step.tool)
    if tool is None:
        raise _Unfit(
            Clarification(
                reason="out_of_scope",
                question=f"The catalog has no tool '{step.tool[:80]}', so I can't plan that. "
                "Ask for what you want done in other words.",
            )
        )
    targets = [_target(name, index) for name in step.targets]
    unknown = sorted(set(step.inputs) - set(tool.parameters))
    if unknown:
        raise _Unfit(
            Clarification(
                reason="not_understood",
                question=f"{tool.name} takes no {', '.join(repr(u[:40]) for u in unknown)}; "
                f"it takes {', '.join(tool.parameters) or 'no inputs'}.",
            )
        )
    if tool.needs_targets and not targets:
        raise _Unfit(
            Clarification(
                reason="no_target", question=f"On which assets should I {tool.summary.lower()}?"
            )
        )
    inputs = {name: str(value) for name, value in step.inputs.items()}
    entities = [Entity(type=EntityType.ASSET, value=t, assets=[t]) for t in targets]
    if not tool.runs_on_hosts and inputs:
        # Inventory questions take their filter from the group the request names.
        entities.append(Entity(type=EntityType.GROUP, value="assets", filter=inputs))
    return Clause(
        intent=Intent(category=tool.category, action=tool.action),
        entities=entities,
        targets=targets if tool.needs_targets else [],
        inputs=inputs,
        text=tool.summary,
    )


def _target(name: str, index: InventoryIndex) -> str:
    """The asset a proposed target names (its name, hostname or IP), or a clarification."""
    if name in index.assets:
        return name
    found = index.lookup(name)
    if len(found) == 1:
        return found[0]
    shown = name[:80]
    if found:
        raise _Unfit(
            Clarification(
                reason="ambiguous", question=f"'{shown}' names several assets.", options=found
            )
        )
    suggestions = index.suggestions(name)
    question = f"I don't know a host called '{shown}' in the inventory."
    if suggestions:
        question += f" Did you mean {' or '.join(suggestions)}?"
    raise _Unfit(
        Clarification(reason="unknown_host", question=question, options=suggestions, about=shown)
    )


def _risk(proposed: RiskLevel, tools: list[ToolSpec], clauses: list[Clause]) -> RiskLevel:
    risk = RiskLevel.highest(proposed, *(t.risk for t in tools))
    changed = {
        t for tool, c in zip(tools, clauses, strict=True) if not tool.read_only for t in c.targets
    }
    if len(changed) >= FLEET_CHANGE_SIZE:
        risk = RiskLevel.highest(risk, RiskLevel.HIGH)
    return risk
