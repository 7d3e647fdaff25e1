"""'check network latency between the load balancer and the api servers': a path between two
groups is measured from one end — a ping run on the hosts of one side, to the other side's one
address. Which side runs it is decided by the sentence reader (which hosts can run a ping);
this module only rewrites the request into the two orders it can be asked in."""

from __future__ import annotations

import re
from collections.abc import Callable

from opsconductor.brain.index import InventoryIndex
from opsconductor.inventory.models import AssetFilter
from opsconductor.schemas.decision import DecisionV1, EntityType

Read = Callable[[str], DecisionV1]

_BETWEEN = re.compile(
    r"\b(?P<what>latency|connectivity|reachability|ping|packet\s+loss|network|connection)\b"
    r".*?\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s*[?.!]*$",
    re.IGNORECASE,
)


def between_sides(text: str) -> tuple[str, str] | None:
    """The two ends of 'latency between A and B', as written; None for anything else."""
    match = _BETWEEN.search(text)
    if match is None:
        return None
    return match.group("a").strip(" ,"), match.group("b").strip(" ,")


def ping_rewrites(sides: tuple[str, str], index: InventoryIndex, read: Read) -> list[str]:
    """'ping <the one asset of one side> from <the other side>', both ways round, for each
    side that stands for exactly one asset with an address."""
    rewrites = []
    for destination, source in (sides, sides[::-1]):
        address = _one_address(destination, index, read)
        if address is not None:
            rewrites.append(f"ping {address} from {source}")
    return rewrites


def _one_address(side: str, index: InventoryIndex, read: Read) -> str | None:
    names: list[str] = []
    for wording in (f"list {side}", f"list {side}s"):
        decision = read(wording)
        if decision.clarification is not None:
            continue
        for entity in decision.entities:
            if entity.type is EntityType.ASSET:
                names.append(entity.value)
            elif entity.type is EntityType.GROUP and entity.filter is not None:
                values: dict[str, object] = dict(entity.filter)
                if "tags" in values:
                    values["tags"] = str(values["tags"]).split(",")
                names += index.select(AssetFilter.model_validate(values))
        if names:
            break
    if len(set(names)) != 1:
        return None
    asset = index.assets[names[0]]
    return asset.hostname or asset.ip_address
