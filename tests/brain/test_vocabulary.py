"""Vocabulary as data: shorthand, typos of known words (rapidfuzz), phrases, number words —
and names, which are never corrected."""

from __future__ import annotations

import pytest

from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.rules import RulesBrain
from opsconductor.brain.tokens import TokenKind, tokenize
from opsconductor.brain.vocabulary import Vocabulary, normalise


def norms(text: str, vocabulary: Vocabulary) -> list[str]:
    tokens = tokenize(text)
    normalise(tokens, vocabulary)
    return [t.norm for t in tokens if t.kind is not TokenKind.CONSUMED]


@pytest.mark.parametrize(
    ("word", "meant"),
    [
        ("windws", "windows"),
        ("prodution", "production"),
        ("developement", "development"),
        ("restrat", "restart"),
        ("severs", "servers"),
        ("stagin", "staging"),
    ],
)
def test_a_typo_of_a_known_word_is_read_as_it(brain: RulesBrain, word: str, meant: str) -> None:
    assert brain.vocabulary.correct(word) == meant


@pytest.mark.parametrize(
    "word",
    [
        "inactive",  # not "active": dropping a prefix makes another word
        "including",  # not "excluding": two edits on a common word
        "slow",  # not "show": short words are words of their own
        "half",  # not "halt": never a change verb from a short word
        "pizza",
        "server",  # known already
    ],
)
def test_what_is_not_corrected(brain: RulesBrain, word: str) -> None:
    assert brain.vocabulary.correct(word) is None


def test_shorthand_phrases_and_number_words(brain: RulesBrain) -> None:
    assert norms("hw many srvs", brain.vocabulary) == ["count", "servers"]
    assert norms("roll out the app", brain.vocabulary) == ["deploy", "the", "app"]
    assert norms("show the last fifty lines", brain.vocabulary)[-2:] == ["50", "lines"]
    assert norms("which operating system", brain.vocabulary) == ["which", "os"]


def test_names_after_a_slot_word_are_never_corrected(brain: RulesBrain) -> None:
    # 'statuz' would be 'status' anywhere else; after "service" it is a unit's name.
    assert norms("restart service statuz", brain.vocabulary)[-1] == "statuz"
    assert norms("deploy stagin 1.0", brain.vocabulary)[1] == "stagin"


def test_an_asset_name_with_a_typo_is_asked_about_never_acted_on(
    brain: RulesBrain, index: InventoryIndex
) -> None:
    decision = brain.read("t", "reboot web-O1", index)
    assert decision.clarification is not None
    assert decision.clarification.reason == "unknown_host"
    assert "web-01" in decision.clarification.options
    assert decision.targets == []


def test_a_typo_is_explained_in_the_reasons(brain: RulesBrain, index: InventoryIndex) -> None:
    decision = brain.read("t", "hw many windws boxes in dev", index)
    assert "'windws' read as 'windows'" in decision.reasons


def test_token_kinds_are_an_enum() -> None:
    token = tokenize("web-01")[0]
    assert token.kind is TokenKind.WORD and token.kind == "word"
