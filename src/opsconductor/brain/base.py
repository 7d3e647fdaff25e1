"""The understanding interface Stage A asks; the embedded rules and an LLM sit behind it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from opsconductor.brain.index import InventoryIndex
from opsconductor.schemas.decision import DecisionV1, Intent


@dataclass(frozen=True)
class Context:
    """What the conversation so far was about, for a request that leaves it out ("restart
    it", "and on web-02?"). Empty for a request on its own."""

    intent: Intent | None = None
    targets: tuple[str, ...] = ()
    inputs: Mapping[str, str] = field(default_factory=dict)
    # The clarification the last turn asked, with its options ("web-prod-01", "the first one").
    options: tuple[str, ...] = ()
    about: str | None = None  # the word of the last request the options would replace
    turns: tuple[str, ...] = ()  # the earlier requests' text, oldest first
    said: str | None = None  # the last understood turn, as it was read

    def is_empty(self) -> bool:
        return self.intent is None and not self.targets and not self.options


@dataclass(frozen=True)
class BrainRequest:
    request_id: str
    text: str  # has passed stage A's checks, whitespace folded
    index: InventoryIndex
    context: Context = field(default_factory=Context)


class Brain(Protocol):
    """Reads a request against the live inventory and the conversation so far. A request that
    asks for several actions comes back with its clauses in order (`DecisionV1.clauses`);
    one that used the context says how it was read (`DecisionV1.read_as`). Its output is
    grounded by the stages after it like any other: a brain may raise a risk level, never
    lower one, and may only propose steps the catalog and inventory then check."""

    async def understand(self, request: BrainRequest) -> DecisionV1: ...
