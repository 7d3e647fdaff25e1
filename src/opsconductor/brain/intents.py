"""Stage A's second half: what a request asks, scored against the catalog's example phrases."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from opsconductor.brain import lexicon
from opsconductor.brain.tokens import Token, TokenKind, tokenize
from opsconductor.brain.vocabulary import fold_phrases
from opsconductor.catalog.loader import Catalog

# What an understood entity reads as when a request is compared with the examples.
PLACEHOLDER_WORDS = {
    TokenKind.ASSET: "HOST",
    TokenKind.UNKNOWN_HOST: "HOST",
    TokenKind.ASSET_AMBIGUOUS: "HOST",
    TokenKind.GROUP: "GROUP",
    TokenKind.SERVICE: "SERVICE",
    TokenKind.PATH: "PATH",
    TokenKind.VERSION: "VERSION",
    TokenKind.APPLICATION: "APP",
    TokenKind.PROCESS: "PROCESS",
    TokenKind.DESTINATION: "DEST",
    TokenKind.NUMBER: "NUMBER",
    TokenKind.DATABASE: "DBNAME",
    TokenKind.VALUE: "VALUE",
}
PLACEHOLDERS = frozenset(PLACEHOLDER_WORDS.values())
_EXAMPLE_PLACEHOLDERS = {
    "host": "HOST",
    "group": "GROUP",
    "service": "SERVICE",
    "path": "PATH",
    "version": "VERSION",
    "app": "APP",
    "process": "PROCESS",
    "destination": "DEST",
    "url": "DEST",
    "number": "NUMBER",
    "pid": "NUMBER",
    "lines": "NUMBER",
    "database": "DBNAME",
}
_EXAMPLE_SLOT = re.compile(r"\{([a-z_]+)\}")
_SKIPPED = frozenset({TokenKind.CONSUMED, TokenKind.IP_PREFIX, TokenKind.QUALIFIER})


@dataclass(frozen=True)
class IntentScore:
    category: str
    action: str
    score: float
    example: str
    shared: tuple[str, ...]


def concept(word: str) -> str:
    return lexicon.SYNONYMS.get(word, word)


def canonical_pairs(tokens: Iterable[Token]) -> list[tuple[str, Token]]:
    """Each concept word of a request with the token it came from: placeholders for entities,
    synonyms folded, stop words gone. The tokens' `norm` is already filled
    (`vocabulary.normalise`)."""
    pairs: list[tuple[str, Token]] = []
    for token in tokens:
        if token.kind in _SKIPPED:
            continue
        if token.kind in PLACEHOLDER_WORDS:
            pairs.append((PLACEHOLDER_WORDS[token.kind], token))
        elif token.kind is TokenKind.PLACEHOLDER:
            pairs.append((token.value, token))
        elif token.norm not in lexicon.STOP_WORDS:
            pairs.append((concept(token.norm), token))
    return pairs


def canonical_words(tokens: Iterable[Token]) -> list[str]:
    return [word for word, _ in canonical_pairs(tokens)]


def example_words(example: str) -> list[str]:
    text = _EXAMPLE_SLOT.sub(lambda m: f" SLOT{m.group(1)} ", example)
    tokens = tokenize(text)
    for token in tokens:
        if token.text.startswith("SLOT"):
            token.kind = TokenKind.PLACEHOLDER
            # A parameter of a tool added in YAML ("{account}") stands for any value its slot
            # cues: its examples match a request that gives one.
            token.value = _EXAMPLE_PLACEHOLDERS.get(token.text[4:], "VALUE")
    fold_phrases(tokens)
    return canonical_words(tokens)


class IntentMatcher:
    """IDF-weighted cosine between a request's concept words and each example's."""

    def __init__(self, catalog: Catalog) -> None:
        self._examples: list[tuple[str, str, str, frozenset[str]]] = []
        self.words_by_intent: dict[tuple[str, str], set[str]] = {}
        for tool in catalog.tools.values():
            for example in tool.examples:
                words = frozenset(example_words(example))
                self._examples.append((tool.category, tool.action, example, words))
                self.words_by_intent.setdefault((tool.category, tool.action), set()).update(words)
        document_frequency: Counter[str] = Counter()
        for *_, words in self._examples:
            document_frequency.update(words)
        total = len(self._examples)
        self.idf = {w: math.log(1 + total / n) for w, n in document_frequency.items()}

    def known(self, word: str) -> bool:
        return word in self.idf

    def rank(self, words: list[str]) -> list[IntentScore]:
        """Best score per intent, best first. Words no example uses are left out of the score."""
        request = {w for w in words if w in self.idf}
        if not request:
            return []
        # fsum is exact whatever the order: a set's order changes between processes, and a
        # plain sum in another order can tip a tie the other way (same request, other answer).
        request_norm = math.sqrt(math.fsum(self.idf[w] ** 2 for w in request))
        best: dict[tuple[str, str], IntentScore] = {}
        for category, action, example, example_set in self._examples:
            shared = request & example_set
            if not shared:
                continue
            dot = math.fsum(self.idf[w] ** 2 for w in shared)
            norm = request_norm * math.sqrt(math.fsum(self.idf[w] ** 2 for w in example_set))
            score = dot / norm
            key = (category, action)
            if key not in best or score > best[key].score:
                best[key] = IntentScore(category, action, score, example, tuple(sorted(shared)))
        return sorted(best.values(), key=lambda s: (-s.score, s.category, s.action))
