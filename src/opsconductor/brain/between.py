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


# "ping db-01 from web-01", "latency from web-01 to db-01", "can web-01 reach db-01": one
# end runs the ping, the other is where it goes.
_DIRECTED = (
    re.compile(r"^(?:please\s+)?ping\s+(?P<to>.+?)\s+from\s+(?P<at>.+?)\s*[?.!]*$", re.I),
    re.compile(
        r"\b(?:latency|connectivity|reachability|ping|packet\s+loss|network|connection|route)\b"
        r".*?\bfrom\s+(?P<at>.+?)\s+to\s+(?P<to>.+?)\s*[?.!]*$",
        re.IGNORECASE,
    ),
    re.compile(r"^can\s+(?P<at>\S+)\s+(?:reach|ping|see|talk\s+to)\s+(?P<to>.+?)\s*[?.!]*$", re.I),
)


def directed_ping(text: str, index: InventoryIndex, read: Read) -> str | None:
    """'ping db-01 from web-01' as 'ping <db-01's address> from web-01': the asset pinged is a
    destination, never a second host to run on. None when the destination is not one asset
    (an address or a domain is read as it is)."""
    for pattern in _DIRECTED:
        match = pattern.search(text)
        if match is not None:
            address = _one_address(match.group("to").strip(" ,"), index, read)
            return None if address is None else f"ping {address} from {match.group('at')}"
    return None


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
