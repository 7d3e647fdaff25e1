"""The prompt a model is given: versioned, bounded, and free of secrets.

It holds the catalog (tool names, summaries, platforms, risk, typed parameters), a bounded view
of the inventory (how many assets per environment, OS, device type, tag and location, and only
the assets the request names or nearly names, with their OS and environment), and the
conversation so far. Never a hostname's credential, a connection user, or the whole fleet."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from opsconductor.brain.base import BrainRequest
from opsconductor.brain.index import WORD, InventoryIndex
from opsconductor.brain.llm.proposal import TOOL_NAME
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ParameterSpec, ToolSpec

PROMPT_VERSION = "llm-v1"  # changes whenever the wording or the shape of the prompt does
MAX_NAMED_ASSETS = 40
MAX_GROUP_VALUES = 30  # per kind of group (tags, locations…)
MAX_TURNS = 6

_SYSTEM = f"""You turn an operations request into a plan for OpsConductor.
Answer only by calling {TOOL_NAME} with:
- steps: each a catalog tool name, the asset names it acts on, and inputs for its parameters;
- risk: low, medium, high or critical;
- question: a short clarifying question when the request cannot be planned (steps empty), else null;
- reason: one sentence.
Use only tool names from the catalog and only asset names from the inventory below. If the
request names a host that is not listed, do not guess: ask. Inventory questions (count, list)
take no targets; their inputs are filters such as os_type or environment. You only propose:
approval rules, the catalog and the inventory decide what runs and who approves it."""


def system_prompt(catalog: Catalog) -> str:
    """The fixed part: instructions and the catalog."""
    tools = [_tool_line(tool) for tool in sorted(catalog.tools.values(), key=lambda t: t.name)]
    text = (
        _SYSTEM + "\n\nCatalog (name [platforms, risk]: summary; parameters):\n" + "\n".join(tools)
    )
    return text


def user_prompt(request: BrainRequest) -> str:
    """The part that changes per request: inventory view, conversation, request."""
    parts = ["Inventory:", json.dumps(inventory_view(request), separators=(",", ":"))]
    context = request.context
    if context.turns:
        parts += ["Earlier requests in this conversation (oldest first):"]
        parts += [f"- {turn}" for turn in context.turns[-MAX_TURNS:]]
    if context.said:
        parts.append(f"The last request was read as: {context.said}")
    parts += ["Request:", request.text]
    return "\n".join(parts)


def messages(request: BrainRequest, catalog: Catalog) -> list[dict[str, Any]]:
    """The chat messages of one request: the fixed system part, then this request's."""
    return [
        {"role": "system", "content": system_prompt(catalog)},
        {"role": "user", "content": user_prompt(request)},
    ]


def inventory_view(request: BrainRequest) -> dict[str, Any]:
    """What the model may know of the inventory for this request: group sizes, and the assets
    the request (or the conversation) names or nearly names."""
    index = request.index
    assets = index.assets.values()
    groups: dict[str, Any] = {"total": len(index)}
    for key, values in (
        ("environment", (a.environment for a in assets if a.environment)),
        ("os_type", (a.os_type for a in assets)),
        ("device_type", (a.device_type for a in assets)),
        ("tag", (t for a in assets for t in a.tags)),
        ("location", (a.location for a in assets if a.location)),
    ):
        groups[key] = dict(Counter(values).most_common(MAX_GROUP_VALUES))
    named = named_assets(request)
    groups["assets"] = [_asset_line(index, name) for name in named]
    return groups


def named_assets(request: BrainRequest) -> list[str]:
    """Asset names the request's words name or nearly name, and the conversation's targets;
    at most MAX_NAMED_ASSETS."""
    index = request.index
    names: list[str] = list(request.context.targets)
    words = WORD.findall(request.text.lower())
    for word in words:
        names += index.lookup(word)
    for word in words:
        if len(word) >= 4 and any(ch.isdigit() or ch in "-." for ch in word):
            names += index.suggestions(word)
    known = [n for n in dict.fromkeys(names) if n in index.assets]
    return known[:MAX_NAMED_ASSETS]


def _asset_line(index: InventoryIndex, name: str) -> dict[str, Any]:
    asset = index.assets[name]
    line: dict[str, Any] = {"name": name, "os_type": asset.os_type, "device": asset.device_type}
    if asset.environment:
        line["environment"] = asset.environment
    if asset.tags:
        line["tags"] = list(asset.tags)
    if asset.services:
        line["services"] = list(asset.services)
    return line


def _tool_line(tool: ToolSpec) -> str:
    platforms = ",".join(p.value for p in tool.platforms)
    params = "; ".join(_parameter(name, spec) for name, spec in tool.parameters.items())
    return f"- {tool.name} [{platforms}, {tool.risk.value}]: {tool.summary}" + (
        f"; {params}" if params else ""
    )


def _parameter(name: str, spec: ParameterSpec) -> str:
    if spec.enum:
        shape = "|".join(spec.enum[:12])
    elif spec.type == "integer":
        shape = f"integer {spec.minimum}..{spec.maximum}"
    else:
        shape = "string"
    optional = "" if spec.required else "?"
    return f"{name}{optional}: {shape}"
