"""Every request of requests.yaml, read by the embedded brain against our own fleet: the
intent, targets and filter it must produce, or the clarification and the words it must name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.rules import RulesBrain
from opsconductor.schemas.decision import DecisionV1, EntityType

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "requests.yaml").read_text(encoding="utf-8")
)
_MISSING = object()


def group_filter(decision: DecisionV1) -> dict[str, str] | None:
    groups = [e for e in decision.entities if e.type is EntityType.GROUP]
    assert len(groups) <= 1, "one request, one group: its filter is what the tools get"
    return groups[0].filter if groups else None


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 150
    assert len({c["text"].lower() for c in CASES}) == len(CASES), "a request is there once"
    assert sum("clarify" in c for c in CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_request(case: dict[str, Any], brain: RulesBrain, index: InventoryIndex) -> None:
    decision = brain.understand("t", case["text"], index)
    why = f"{decision.clarification} {decision.reasons}"
    if "clarify" in case:
        assert decision.clarification is not None, f"answered {decision.intent} {why}"
        assert decision.clarification.reason == case["clarify"], why
        question = decision.clarification.question.lower()
        for word in case.get("names", []):
            assert word.lower() in question, f"{word!r} not named in: {question}"
        return
    assert decision.clarification is None, why
    assert decision.intent is not None
    assert f"{decision.intent.category}.{decision.intent.action}" == case["intent"], why
    if "targets" in case:
        assert sorted(decision.targets) == sorted(case["targets"]), why
    expected_filter = case.get("filter", _MISSING)
    if expected_filter is not _MISSING:
        wanted = (
            None if expected_filter is None else {k: str(v) for k, v in expected_filter.items()}
        )
        assert group_filter(decision) == wanted, why
    for name, value in case.get("inputs", {}).items():
        assert decision.inputs.get(name) == str(value), f"{name}: {decision.inputs} {why}"
