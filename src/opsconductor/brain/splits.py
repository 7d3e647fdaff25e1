"""'how many servers in each environment', 'count hosts per site', 'servers by owner': a
count split by one recorded field. The OS and device type every count is already split by
need nothing; other fields are the count tool's `by` input, or named back."""

from __future__ import annotations

import re

from opsconductor.brain.tokens import Token, TokenKind, mark

_SPLIT = re.compile(
    r"\b(?:in\s+each|for\s+each|each|per|by|broken\s+down\s+by|grouped\s+by|split\s+by)\s+"
    r"(?:the\s+)?(?P<field>environments?|envs?|sites?|locations?|data\s*cent(?:er|re)s?|dcs?"
    r"|regions?|owners?|teams?|tags?|criticality|criticalities|services?)\b",
    re.IGNORECASE,
)
_FIELDS = {
    "environment": "environment",
    "env": "environment",
    "site": "location",
    "location": "location",
    "datacenter": "location",
    "datacentre": "location",
    "dc": "location",
    "owner": "owner",
    "team": "owner",
    "criticality": "criticality",
    "criticalitie": "criticality",
}


def split_asked(text: str) -> tuple[str, str | None] | None:
    """(the words, the field they split by or None when no count can split so); None when
    the request asks for no split."""
    match = _SPLIT.search(text)
    if match is None:
        return None
    word = re.sub(r"\s+", "", match.group("field").lower()).removesuffix("s")
    return match.group(0), _FIELDS.get(word)


def take_split(tokens: list[Token], words: str) -> None:
    """Mark the split's words consumed: they say how to count, not what ('per' is no filter)."""
    wanted = [w.lower() for w in words.split()]
    for start in range(len(tokens) - len(wanted) + 1):
        window = tokens[start : start + len(wanted)]
        if [t.lower for t in window] == wanted and all(t.free for t in window):
            for token in window:
                mark(token, TokenKind.CONSUMED)
            return
