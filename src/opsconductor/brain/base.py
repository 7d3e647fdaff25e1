"""The understanding interface that Stage A asks; the embedded rules and an LLM sit behind it."""

from __future__ import annotations

from typing import Protocol

from opsconductor.brain.index import InventoryIndex
from opsconductor.schemas.decision import DecisionV1


class Brain(Protocol):
    """Reads a request against the live inventory. Its output is grounded by the stages after
    it like any other: a brain may raise a risk level, never lower one."""

    def understand(self, request_id: str, text: str, index: InventoryIndex) -> DecisionV1: ...
