"""Qualifiers answered from collected facts: a distribution and its version ('ubuntu 22.04
boxes', 'debian servers') and a size compared with a number ('more than 16 GB RAM', 'at least
8 cpus', 'RAM over 32GB'). Read before the rest of the group grammar, so the words they use
are not taken for anything else."""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsconductor.brain import lexicon
from opsconductor.brain.qualifiers import GroupReading, Qualifier, QualifierKind, span_text, take
from opsconductor.brain.tokens import Token, TokenKind, mark

_GLUED = re.compile(r"^(\d{1,7})([a-z]+)$")  # "16gb", "2tb"
# Words just before a fact phrase that only introduce it: "with", "having", "running ubuntu".
_INTRODUCERS = frozenset({"with", "having", "has", "have", "running", "on", "of"})


@dataclass(frozen=True)
class _Size:
    """A number and its unit as a request wrote them, and where they end."""

    amount: int  # in GB for memory, as written for CPUs
    unit: bool  # a memory unit was written
    end: int  # the position after the last word used


def read_fact_phrases(tokens: list[Token], reading: GroupReading) -> frozenset[int]:
    """Distributions with their version, then sizes; each read marks its words. Returns the
    positions of the words read."""
    before = [token.kind for token in tokens]
    for position, token in enumerate(tokens):
        if token.free and token.norm in lexicon.DISTRIBUTIONS:
            _release(tokens, position, reading)
    position = 0
    while position < len(tokens):
        position = _measure(tokens, position, reading)
    return frozenset(p for p, token in enumerate(tokens) if token.kind is not before[p])


def _release(tokens: list[Token], position: int, reading: GroupReading) -> None:
    token = tokens[position]
    take(
        token,
        Qualifier(QualifierKind.OS_NAME, lexicon.DISTRIBUTIONS[token.norm], token.text),
        reading,
    )
    follower = tokens[position + 1] if position + 1 < len(tokens) else None
    if follower is not None and follower.kind in {TokenKind.VERSION, TokenKind.NUMBER}:
        version = follower.value or follower.norm
        take(follower, Qualifier(QualifierKind.OS_VERSION, version, follower.text), reading)
    _introduced(tokens, position)


def _measure(tokens: list[Token], start: int, reading: GroupReading) -> int:
    """A size phrase at `start`, either 'more than 16 GB (of) RAM' or 'RAM (of) over 16GB';
    the position to look at next."""
    found = _number_first(tokens, start) or _noun_first(tokens, start)
    if found is None:
        return start + 1
    kind, bound, size, end = found
    _bounded(kind, bound, size, span_text(tokens, start, end), reading)
    for token in tokens[start:end]:
        mark(token, TokenKind.QUALIFIER)
    _introduced(tokens, start)
    return end


def _number_first(tokens: list[Token], start: int) -> tuple[str, str, _Size, int] | None:
    bound, after = _comparison(tokens, start)
    size = _size(tokens, after)
    if size is None:
        return None
    position = size.end
    if _norm(tokens, position) == "of":
        position += 1
    kind = _noun(tokens, position, size)
    return (kind, bound, size, position + 1) if kind else None


def _noun_first(tokens: list[Token], start: int) -> tuple[str, str, _Size, int] | None:
    """'RAM over 16GB', 'memory of at least 32 GB', 'cpus above 8'."""
    if (
        not tokens[start].free
        or _norm(tokens, start) not in lexicon.MEMORY_NOUNS | lexicon.CPU_NOUNS
    ):
        return None
    position = start + 1 + (_norm(tokens, start + 1) == "of")
    bound, after = _comparison(tokens, position)
    if bound == "exactly":
        return None  # 'memory 16' is not a comparison anyone writes
    size = _size(tokens, after)
    if size is None:
        return None
    memory = _norm(tokens, start) in lexicon.MEMORY_NOUNS
    # 'cpu above 80' is a load; only a count of CPUs ('cpus over 8') is a fact compared.
    if memory != size.unit or not (memory or _norm(tokens, start).endswith("s")):
        return None
    return ("memory" if memory else "cpus", bound, size, size.end)


def _comparison(tokens: list[Token], position: int) -> tuple[str, int]:
    """The bound a comparison at `position` sets and where its number starts; 'exactly' when
    there is none."""
    for size in (2, 1):
        words = " ".join(_lower(tokens, p) for p in range(position, position + size))
        if words in lexicon.COMPARISONS and all(
            tokens[p].free for p in range(position, position + size) if p < len(tokens)
        ):
            return lexicon.COMPARISONS[words], position + size
    return "exactly", position


def _size(tokens: list[Token], position: int) -> _Size | None:
    if position >= len(tokens):
        return None
    token = tokens[position]
    if token.kind is TokenKind.NUMBER:
        unit = lexicon.MEMORY_UNITS.get(_lower(tokens, position + 1))
        if unit is not None and tokens[position + 1].free:
            return _Size(int(token.value) * unit, True, position + 2)
        return _Size(int(token.value), False, position + 1)
    glued = _GLUED.match(token.lower) if token.free else None
    if glued and glued.group(2) in lexicon.MEMORY_UNITS:
        return _Size(int(glued.group(1)) * lexicon.MEMORY_UNITS[glued.group(2)], True, position + 1)
    return None


def _noun(tokens: list[Token], position: int, size: _Size) -> str | None:
    if position >= len(tokens) or not tokens[position].free:
        return None
    word = _norm(tokens, position)
    if word in lexicon.MEMORY_NOUNS:
        return "memory"
    if word in lexicon.CPU_NOUNS and not size.unit:
        return "cpus"
    return None


_KINDS = {
    "memory": (QualifierKind.MIN_MEMORY, QualifierKind.MAX_MEMORY),
    "cpus": (QualifierKind.MIN_CPUS, QualifierKind.MAX_CPUS),
}


def _bounded(kind: str, bound: str, size: _Size, words: str, reading: GroupReading) -> None:
    """Whole numbers: 'more than 16' is at least 17, 'less than 4' at most 3."""
    low, high = _KINDS[kind]
    amount = size.amount
    bounds = {
        "above": [(low, amount + 1)],
        "min": [(low, amount)],
        "below": [(high, max(0, amount - 1))],
        "max": [(high, amount)],
        "exactly": [(low, amount), (high, amount)],
    }[bound]
    for qualifier_kind, value in bounds:
        reading.qualifiers.append(Qualifier(qualifier_kind, str(value), words))


def _introduced(tokens: list[Token], position: int) -> None:
    """The cue right before a fact phrase is part of it ('with', 'running ubuntu')."""
    if position and tokens[position - 1].free and tokens[position - 1].norm in _INTRODUCERS:
        mark(tokens[position - 1], TokenKind.CONSUMED)


def _lower(tokens: list[Token], position: int) -> str:
    return tokens[position].lower if position < len(tokens) else ""


def _norm(tokens: list[Token], position: int) -> str:
    if position >= len(tokens):
        return ""
    token = tokens[position]
    return token.lower if token.lower in lexicon.MEMORY_NOUNS | lexicon.CPU_NOUNS else token.norm
