"""Values a request gives for tool parameters, read from the words around them: the service
after "restart", the application after "deploy", the name in "the inventory database".

Which words cue which slot is data (`lexicon.SLOT_VERBS`, `SLOT_BEFORE`, `SLOT_AFTER`); this
module only applies it. A name is never a word the vocabulary knows as something else unless
a noun says what it is ("the inventory database", "the web service").
"""

from __future__ import annotations

import itertools
from enum import StrEnum

from opsconductor.brain import lexicon
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.tokens import HOST_SHAPED, NAME_SHAPED, Token, TokenKind, mark
from opsconductor.brain.vocabulary import Vocabulary
from opsconductor.schemas.decision import EntityType

_ARTICLES = frozenset({"the", "a", "an", "my", "our", "this", "that"})


class Slot(StrEnum):
    """A value a request can give; the member's value is the tool parameter it fills."""

    APP = "app"
    PROCESS = "process_name"
    DATABASE = "database"
    SERVICE = "service"

    @property
    def input(self) -> str:
        return self.value

    @property
    def entity(self) -> EntityType | None:
        return _ENTITIES.get(self)

    @property
    def token_kind(self) -> TokenKind:
        return _TOKEN_KINDS[self]


_ENTITIES = {
    Slot.APP: EntityType.APPLICATION,
    Slot.PROCESS: EntityType.PROCESS,
    Slot.SERVICE: EntityType.SERVICE,
}
_TOKEN_KINDS = {
    Slot.APP: TokenKind.APPLICATION,
    Slot.PROCESS: TokenKind.PROCESS,
    Slot.DATABASE: TokenKind.DATABASE,
    Slot.SERVICE: TokenKind.SERVICE,
}
# A word naming what a slot holds is never the value itself ("restart the service").
_SLOT_NOUNS = frozenset({"service", "database", "process", "app"})
# "deploy version 2.3.1 of billing-api": words that say a release follows, never a name.
_RELEASE_WORDS = frozenset({"version", "release", "build", "of"})
_CALLED = frozenset({"named", "called"})
_NOUN_SLOTS = {
    "database": Slot.DATABASE,
    "db": Slot.DATABASE,
    "service": Slot.SERVICE,
    "unit": Slot.SERVICE,
    "process": Slot.PROCESS,
}
_SUPERLATIVES = frozenset({"top", "worst", "most", "least", "best", "hungriest"})


def fill_slots(
    tokens: list[Token], index: InventoryIndex, vocabulary: Vocabulary
) -> list[tuple[Slot, str, str]]:
    """(slot, value, words) for each value found, marking its token."""
    found: list[tuple[Slot, str, str]] = []
    for position, token in enumerate(tokens):
        if not token.free:
            continue
        slot = _slot_of(tokens, position, index, vocabulary)
        if slot is not None:
            mark(token, slot.token_kind)
            # As written: Windows service names keep their case ("Spooler"); a known unit
            # typed in capitals ("SSH") is the unit, and systemd's names are lower case.
            known = token.norm in lexicon.KNOWN_SERVICES and token.text.isupper()
            found.append((slot, token.norm if known else token.text, token.text))
    return found


def _slot_of(
    tokens: list[Token], position: int, index: InventoryIndex, vocabulary: Vocabulary
) -> Slot | None:
    token = tokens[position]
    verb = _verb_before(tokens, position)
    before = tokens[position - 1].norm if position else ""
    after = tokens[position + 1].norm if position + 1 < len(tokens) else ""
    name = _is_name(token.norm) and (
        token.norm in lexicon.KNOWN_SERVICES or token.norm not in vocabulary
    )
    if verb in lexicon.SLOT_VERBS["app"] and _is_name(token.norm):
        return Slot.APP
    named = _named_after_verb(tokens, position, before, verb)
    if named is not None:
        return named
    for slot in (Slot.PROCESS, Slot.DATABASE, Slot.SERVICE):
        if before in lexicon.SLOT_BEFORE.get(slot.input, ()) and name:
            return slot
        if after in lexicon.SLOT_AFTER.get(slot.input, ()) and (
            name or _named_by_noun(tokens, position)
        ):
            return slot
    tagged = before in lexicon.TAG_CUES or after in lexicon.TAG_CUES  # 'the iis tag'
    if tagged or (token.norm in index.tags and after in lexicon.DEVICE_WORDS):
        return None  # "tagged postgres", "all postgres servers": a tag, for the group grammar
    if _service_shaped(token.norm) and token.norm not in lexicon.QUALIFIER_CUES:
        return Slot.SERVICE
    for slot in (Slot.PROCESS, Slot.SERVICE):
        if verb in lexicon.SLOT_VERBS[slot.input] and _bare_name(
            tokens, position, index, vocabulary
        ):
            return slot
    return None


def _named_after_verb(tokens: list[Token], position: int, before: str, verb: str) -> Slot | None:
    """'kill nginx on web-01': what is killed is a process, by name; 'drop database staging':
    right after the verb's noun, the name, whatever else the word could mean; 'the database
    named temp', 'a service called foo-bar': the name after the noun's 'named'."""
    word = tokens[position].norm
    if not _is_name(word) or word.isdigit():
        return None
    if before in _CALLED and position >= 2:
        noun = lexicon.SYNONYMS.get(tokens[position - 2].norm, tokens[position - 2].norm)
        slot = _NOUN_SLOTS.get(tokens[position - 2].norm) or _NOUN_SLOTS.get(noun)
        if slot is not None:
            return slot
    if verb in lexicon.SLOT_VERBS["process_name"]:
        return Slot.PROCESS
    ordered = _verb_before(tokens, position - 1) in lexicon.CHANGE_VERBS
    if before in lexicon.SLOT_BEFORE["database"] and ordered:
        return Slot.DATABASE
    return None


def _verb_before(tokens: list[Token], position: int) -> str:
    """The concept of the word before this one, articles, folded words and a release said
    first ('deploy version 2.3.1 of billing-api') skipped."""
    for earlier in range(position - 1, -1, -1):
        token = tokens[earlier]
        skipped = token.kind in {TokenKind.CONSUMED, TokenKind.VERSION}
        if skipped or token.norm in _ARTICLES or token.norm in _RELEASE_WORDS:
            continue
        return lexicon.SYNONYMS.get(token.norm, token.norm)
    return ""


def _is_name(word: str) -> bool:
    return (
        bool(NAME_SHAPED.match(word))
        and word not in _RELEASE_WORDS
        and word not in _CALLED
        and not _superlative(word)
        and word not in lexicon.STOP_WORDS
        and word not in lexicon.SYNONYMS
        and not word.isdigit()
    )


def chosen_by_rank(tokens: list[Token]) -> str | None:
    """'the biggest process', 'the busiest service': the words, when a request picks what to
    act on by a rank only a look at the host can tell; None otherwise."""
    for position, (first, second) in enumerate(itertools.pairwise(tokens)):
        noun = lexicon.SYNONYMS.get(second.norm, second.norm)
        acted_on = _verb_before(tokens, position) in lexicon.CHANGE_VERBS
        if acted_on and _superlative(first.norm) and noun in _SLOT_NOUNS:
            return f"{first.text} {second.text}"
    return None


def _superlative(word: str) -> bool:
    """'the biggest process', 'the busiest one': which one is a question, not its name."""
    return word in _SUPERLATIVES or (len(word) > 5 and word.endswith("est") and word[-4] != "t")


def _named_by_noun(tokens: list[Token], position: int) -> bool:
    """'nginx service', 'the inventory database': the noun after says what the word is, so
    even a word the vocabulary knows is a name here (never the slot's own noun)."""
    word = tokens[position].norm
    before = tokens[position - 1].norm if position else ""
    concept = lexicon.SYNONYMS.get(word, word)
    return (
        before in _ARTICLES
        and bool(NAME_SHAPED.match(word))
        and not _superlative(word)
        and concept not in _SLOT_NOUNS
        and word not in lexicon.STOP_WORDS
    )


def _bare_name(
    tokens: list[Token], position: int, index: InventoryIndex, vocabulary: Vocabulary
) -> bool:
    """'stop svc1 on web-01': right after the verb, a word that is nothing else we know."""
    word = tokens[position].norm
    after = tokens[position + 1].norm if position + 1 < len(tokens) else ""
    return (
        _is_name(word)
        and word not in vocabulary
        and word not in index.tags
        and word not in index.environments
        and after not in lexicon.DEVICE_WORDS
    )


def _service_shaped(word: str) -> bool:
    known = word in lexicon.KNOWN_SERVICES or word.endswith(lexicon.SERVICE_SUFFIXES)
    return known and not HOST_SHAPED.match(word)
