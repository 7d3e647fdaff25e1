"""Discovery: ask the assets a filter selects for their facts (`*.collect_facts`), as a normal
execution: planned, previewed, approved (level 1 by default), run and audited like any request.
The facts are stored as each unit finishes (see `execution.recorder`)."""

from __future__ import annotations

import uuid

from opsconductor.identity.models import Role
from opsconductor.inventory import repository
from opsconductor.inventory.models import Asset, AssetFilter, Protocol
from opsconductor.pipeline import stage_d
from opsconductor.pipeline.answer import Answer
from opsconductor.pipeline.pipeline import Pipeline
from opsconductor.schemas.decision import DecisionV1, Intent

FACTS_INTENT = Intent(category="inventory_facts", action="collect_facts")
# More than this many assets is a filter too broad to ask one execution for.
MAX_DISCOVERY_ASSETS = 5000


async def discover(
    pipeline: Pipeline,
    flt: AssetFilter,
    *,
    requester: str,
    confirm: bool = False,
    wait: bool = True,
    role: Role | None = None,
) -> Answer:
    """Collect the facts of the assets `flt` selects that a facts tool can reach; the answer
    names the assets left out and why (no connection, or no facts tool for their OS)."""
    async with pipeline.db.reader() as session:
        assets = await repository.list_assets(session, flt, limit=MAX_DISCOVERY_ASSETS + 1)
    text = f"discover facts of {flt.describe()}"
    if len(assets) > MAX_DISCOVERY_ASSETS:
        message = f"More than {MAX_DISCOVERY_ASSETS} assets match; narrow the filter."
        return Answer(text, stage_d.error(message))
    targets, skipped = _reachable(pipeline, assets)
    if not targets:
        found = "No assets match" if not assets else "None of the matching assets can be asked"
        return _said(Answer(text, stage_d.error(f"{found}: nothing to discover.")), skipped)
    decision = DecisionV1(
        request_id=str(uuid.uuid4()),
        text=text,
        kind="action",
        intent=FACTS_INTENT,
        targets=targets,
        confidence=1.0,
        reasons=[f"discovery over {len(targets)} of the {flt.describe()}"],
    )
    answer = await pipeline.ask_decided(
        text,
        decision,
        requester=requester,
        confirm=confirm,
        wait=wait,
        role=role,
    )
    return _said(answer, skipped)


def approval_level(pipeline: Pipeline) -> int:
    """The approval level a discovery needs: its facts tools' (level 1 for remote reads)."""
    tools = pipeline.catalog.for_intent(FACTS_INTENT.category, FACTS_INTENT.action)
    return max((tool.risk.approval_level for tool in tools), default=0)


def _reachable(pipeline: Pipeline, assets: list[Asset]) -> tuple[list[str], dict[str, str]]:
    tools = pipeline.catalog.for_intent(FACTS_INTENT.category, FACTS_INTENT.action)
    targets: list[str] = []
    skipped: dict[str, str] = {}
    for asset in assets:
        if asset.connection.protocol is Protocol.NONE:
            skipped[asset.name] = "no connection (protocol none)"
        elif not any(tool.runs_on(asset.os_type) for tool in tools):
            skipped[asset.name] = f"no facts tool for {asset.os_type} assets"
        else:
            targets.append(asset.name)
    return targets, skipped


def _said(answer: Answer, skipped: dict[str, str]) -> Answer:
    """The answer, its message ending with the assets left out."""
    if skipped:
        shown = "; ".join(f"{name}: {why}" for name, why in list(skipped.items())[:20])
        more = f" and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        message = f"{answer.response.message} Not asked: {shown}{more}."
        answer.response = answer.response.model_copy(update={"message": message})
    return answer
